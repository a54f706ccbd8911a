/* SPDX-License-Identifier: MIT */
/*
 * The kmod backend's "host supported CPUID": the CPUID instruction itself,
 * enumerated the way KVM_GET_SUPPORTED_CPUID lays its table out (every basic
 * and extended leaf up to the maximum, subleaves of the indexed leaves
 * marked KVM_CPUID_FLAG_SIGNIFCANT_INDEX).  The daemon's CPUID policy
 * (cused/x86/cpuid*.c) masks it into what a guest may see.
 */
#include <cpuid.h>
#include <errno.h>
#include "cused/tramp/kmod.h"

struct table {
	struct kvm_cpuid2 *c;
	uint32_t max;
};

static int add(struct table *t, uint32_t fn, uint32_t idx, bool indexed, uint32_t *out)
{
	struct kvm_cpuid_entry2 *e;
	unsigned a, b, c, d;

	if (t->c->nent >= t->max)
		return -E2BIG;
	__cpuid_count(fn, idx, a, b, c, d);
	e = &t->c->entries[t->c->nent++];
	*e = (struct kvm_cpuid_entry2){
		.function = fn, .index = indexed ? idx : 0,
		.flags = indexed ? KVM_CPUID_FLAG_SIGNIFCANT_INDEX : 0,
		.eax = a, .ebx = b, .ecx = c, .edx = d,
	};
	if (out) {
		out[0] = a; out[1] = b; out[2] = c; out[3] = d;
	}
	return 0;
}

/* one leaf with all its subleaves, by KVM's rules for that leaf */
static int add_leaf(struct table *t, uint32_t fn)
{
	uint32_t r[4];
	int err;

	switch (fn) {
	case 4:         /* cache parameters: until cache type 0 */
		for (uint32_t i = 0; i < 64; i++) {
			if ((err = add(t, fn, i, true, r)))
				return err;
			if (!(r[0] & 0x1f))
				break;
		}
		return 0;
	case 7:         /* structured features: subleaves 0..EAX(0) */
	case 0x14:      /* processor trace: same rule */
		if ((err = add(t, fn, 0, true, r)))
			return err;
		for (uint32_t i = 1, n = r[0]; i <= n && i < 64; i++)
			if ((err = add(t, fn, i, true, NULL)))
				return err;
		return 0;
	case 0xb:       /* topology: until level type 0, that one included */
		for (uint32_t i = 0; i < 64; i++) {
			if ((err = add(t, fn, i, true, r)))
				return err;
			if (!(r[2] & 0xff00))
				break;
		}
		return 0;
	case 0xd: {     /* XSAVE: 0, 1, then every component XCR0|XSS names */
		uint32_t sub0[4], sub1[4];
		uint64_t mask;

		if ((err = add(t, fn, 0, true, sub0)) || (err = add(t, fn, 1, true, sub1)))
			return err;
		mask = ((uint64_t)sub0[3] << 32 | sub0[0]) | ((uint64_t)sub1[3] << 32 | sub1[2]);
		for (uint32_t i = 2; i < 64; i++) {
			unsigned a, b, c, d;

			if (!(mask & (1ull << i)))
				continue;
			__cpuid_count(fn, i, a, b, c, d);
			if (!a)
				continue;
			if ((err = add(t, fn, i, true, NULL)))
				return err;
		}
		return 0;
	}
	case 0xf:       /* RDT monitoring: 0 and 1 */
		if ((err = add(t, fn, 0, true, NULL)))
			return err;
		return add(t, fn, 1, true, NULL);
	case 0x10:      /* RDT allocation: 0..3 */
		for (uint32_t i = 0; i < 4; i++)
			if ((err = add(t, fn, i, true, NULL)))
				return err;
		return 0;
	default:
		return add(t, fn, 0, false, NULL);
	}
}

int kmod_native_cpuid(struct kvm_cpuid2 *cpuid, uint32_t max)
{
	struct table t = { cpuid, max };
	unsigned a, b, c, d;
	uint32_t top;
	int err;

	cpuid->nent = 0;
	cpuid->padding = 0;
	__cpuid(0, a, b, c, d);
	top = a;
	for (uint32_t fn = 0; fn <= top; fn++)
		if ((err = add_leaf(&t, fn)))
			return err;
	__cpuid(0x80000000, a, b, c, d);
	top = a;
	if (top < 0x80000000 || top > 0x800000ff)
		return 0;
	for (uint32_t fn = 0x80000000; fn <= top; fn++)
		if ((err = add_leaf(&t, fn)))
			return err;
	return 0;
}
