/* SPDX-License-Identifier: MIT */
/* CPUID policy, KVM_SET_CPUID2 checks and lookups (cused/x86/cpuid) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"

#define SIG KVM_CPUID_FLAG_SIGNIFCANT_INDEX

static struct kvm_cpuid2 *alloc_cpuid(uint32_t n)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + n * sizeof(c->entries[0]));

	assert_non_null(c);
	c->nent = n;
	return c;
}

/* a host table as a backend might report it */
static struct kvm_cpuid2 *host_table(void)
{
	static const struct kvm_cpuid_entry2 e[] = {
		{ .function = 0, .eax = 0xd, .ebx = 0x756e6547, .edx = 0x49656e69, .ecx = 0x6c65746e },
		{ .function = 1, .ecx = 0x1 | CPUID_1_ECX_X2APIC | CPUID_1_ECX_TSC_DEADLINE |
				       CPUID_1_ECX_VMX | CPUID_1_ECX_XSAVE | CPUID_1_ECX_OSXSAVE,
		  .edx = 0x178bfbff },
		{ .function = 7, .index = 0, .flags = SIG, .ebx = CPUID_7_EBX_SMEP | CPUID_7_EBX_MPX,
		  .edx = CPUID_7_EDX_SPEC_CTRL | CPUID_7_EDX_ARCH_CAPS | (1u << 10) },
		{ .function = 0xa, .eax = 0x07300402, .edx = 0x603 },
		{ .function = 0xd, .index = 0, .flags = SIG, .eax = 0x60007, .ebx = 0x340, .ecx = 0x2b00 },
		{ .function = 0xd, .index = 1, .flags = SIG, .eax = 0xf, .ecx = 0x1800 },
		{ .function = 0xd, .index = 2, .flags = SIG, .eax = 0x100, .ebx = 0x240 },
		{ .function = 0xd, .index = 17, .flags = SIG, .eax = 0x40, .ebx = 0xac0 },
		{ .function = 0xd, .index = 18, .flags = SIG, .eax = 0x2000, .ebx = 0xb00 },
		{ .function = 0x40000000, .eax = 0x40000001, .ebx = 0x4b4d564b },
		{ .function = 0x40000001, .eax = 0x01007afb },
		{ .function = 0x80000000, .eax = 0x80000008 },
		{ .function = 0x80000001, .ecx = CPUID_81_ECX_SVM | 1, .edx = CPUID_81_EDX_LM },
		{ .function = 0x80000008, .eax = 0x3030, .ebx = CPUID_88_EBX_IBPB | (1u << 9) },
	};
	struct kvm_cpuid2 *c = alloc_cpuid(sizeof(e) / sizeof(e[0]));

	memcpy(c->entries, e, sizeof(e));
	return c;
}

#define KEPT 12   /* host_table() minus the AMX sub-leaves (its 0x4000000x leaves replaced) */

/* QEMU's TCG SVM (the kmod backend's test machine) has no x2APIC */
static void test_x2apic_without_silicon(void **state)
{
	struct kvm_cpuid2 *host = host_table(), *out = alloc_cpuid(CUSED_MAX_CPUID_ENTRIES);

	(void)state;
	for (uint32_t i = 0; i < host->nent; i++)
		if (host->entries[i].function == 1)
			host->entries[i].ecx &= ~CPUID_1_ECX_X2APIC;
	assert_int_equal(cpuid_supported(host, out, CUSED_MAX_CPUID_ENTRIES), 0);
	assert_int_not_equal(cpuid_find(out, 1, 0)->ecx & CPUID_1_ECX_X2APIC, 0);
	free(host);
	free(out);
}

static void test_supported_policy(void **state)
{
	struct kvm_cpuid2 *host = host_table(), *out = alloc_cpuid(CUSED_MAX_CPUID_ENTRIES);
	const struct kvm_cpuid_entry2 *e;

	assert_int_equal(cpuid_supported(host, out, CUSED_MAX_CPUID_ENTRIES), 0);
	/* the AMX sub-leaves are gone, the host's PV leaves replaced by cused's */
	assert_int_equal(out->nent, KEPT);
	for (uint32_t i = 0; i < out->nent; i++)
		assert_false(out->entries[i].function > CPUID_KVM_FEATURES &&
			     out->entries[i].function < 0x50000000);
	e = cpuid_find(out, CPUID_KVM_SIGNATURE, 0);
	assert_non_null(e);
	assert_int_equal(e->eax, CPUID_KVM_FEATURES);
	assert_int_equal(e->ebx, 0x4b4d564b);
	assert_int_equal(e->ecx, 0x564b4d56);
	assert_int_equal(e->edx, 0x4d);
	/* kvmclock only: no steal time, async PF, PV EOI, unhalt, IPIs of the host's 0x01007afb */
	e = cpuid_find(out, CPUID_KVM_FEATURES, 0);
	assert_int_equal(e->eax, (1u << 0) | (1u << 1) | (1u << 3) | (1u << 24));
	assert_null(cpuid_find(out, 0xd, 17));
	assert_null(cpuid_find(out, 0xd, 18));
	assert_non_null(cpuid_find(out, 0xd, 2));

	e = cpuid_find(out, 1, 0);
	/* x2APIC is the daemon's LAPIC's: offered even where the silicon lacks it */
	assert_int_not_equal(e->ecx & CPUID_1_ECX_X2APIC, 0);
	assert_int_not_equal(e->ecx & CPUID_1_ECX_TSC_DEADLINE, 0);
	assert_int_equal(e->ecx & CPUID_1_ECX_VMX, 0);
	assert_int_equal(e->ecx & CPUID_1_ECX_OSXSAVE, 0);
	assert_int_not_equal(e->ecx & CPUID_1_ECX_HYPERVISOR, 0);
	assert_int_equal(e->ecx & (1 | CPUID_1_ECX_XSAVE), 1 | CPUID_1_ECX_XSAVE);   /* kept */
	assert_int_equal(e->edx, 0x178bfbff);

	e = cpuid_find(out, 7, 0);
	assert_int_equal(e->ebx, CPUID_7_EBX_SMEP | CPUID_7_EBX_TSC_ADJUST);   /* MPX gone, TSC_ADJUST emulated */
	assert_int_equal(e->edx, 1u << 10);                      /* MD_CLEAR kept */
	e = cpuid_find(out, 0xa, 0);
	assert_int_equal(e->eax | e->edx, 0);                    /* no PMU */
	e = cpuid_find(out, 0xd, 0);
	assert_int_equal(e->eax, 0x7);                           /* no AMX in XCR0 */
	assert_int_equal(e->edx, 0);
	assert_int_equal(e->ecx, 0x2b00);                        /* sub-leaf 1 masks stay there */
	e = cpuid_find(out, 0xd, 1);
	assert_int_equal(e->eax, 0xf & ~(CPUID_D1_EAX_XSAVES | CPUID_D1_EAX_XFD));
	assert_int_equal(e->ecx, 0);                             /* no XSS */
	e = cpuid_find(out, 0x80000001, 0);
	assert_int_equal(e->ecx, 1);                             /* SVM gone */
	assert_int_equal(e->edx, CPUID_81_EDX_LM);
	e = cpuid_find(out, 0x80000008, 0);
	assert_int_equal(e->ebx, 1u << 9);                       /* IBPB gone */
	assert_int_equal(e->eax, 0x3030);
	free(host);
	free(out);
}

static void test_supported_e2big(void **state)
{
	struct kvm_cpuid2 *host = host_table(), *out = alloc_cpuid(KEPT);

	assert_int_equal(cpuid_supported(host, out, KEPT - 1), -E2BIG);
	assert_int_equal(cpuid_supported(host, out, KEPT), 0);
	assert_int_equal(out->nent, KEPT);
	free(host);
	free(out);
}

/* x86-64-v2 bits the silicon has join leaf 1 ECX; nothing else does */
static void test_offer_native(void **state)
{
	struct kvm_cpuid2 *host = host_table(), *out = alloc_cpuid(CUSED_MAX_CPUID_ENTRIES);
	const uint32_t v2 = CPUID_1_ECX_SSE3 | CPUID_1_ECX_SSSE3 | CPUID_1_ECX_SSE4_1 |
			    CPUID_1_ECX_SSE4_2 | CPUID_1_ECX_POPCNT;
	uint32_t before;

	assert_int_equal(cpuid_supported(host, out, CUSED_MAX_CPUID_ENTRIES), 0);
	((struct kvm_cpuid_entry2 *)cpuid_find(out, 1, 0))->ecx &= ~v2;
	before = cpuid_find(out, 1, 0)->ecx;
	/* silicon with SSSE3 and POPCNT only, plus bits that are not ours to add */
	cpuid_offer_native(out, CPUID_1_ECX_SSSE3 | CPUID_1_ECX_POPCNT | CPUID_1_ECX_VMX |
			   CPUID_1_ECX_MONITOR | CPUID_1_ECX_PDCM);
	assert_int_equal(cpuid_find(out, 1, 0)->ecx, before | CPUID_1_ECX_SSSE3 | CPUID_1_ECX_POPCNT);
	cpuid_offer_native(out, ~0u);
	assert_int_equal(cpuid_find(out, 1, 0)->ecx, before | v2);
	/* other leaves untouched */
	assert_int_equal(cpuid_find(out, 7, 0)->ecx, cpuid_find(host, 7, 0)->ecx);
	free(host);
	free(out);
}

/* KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT off: CPUID.01H:ECX.MWAIT follows MISC_ENABLE */
static void test_runtime_mwait(void **state)
{
	struct kvm_cpuid2 *c = host_table();
	uint32_t ecx = cpuid_find(c, 1, 0)->ecx;

	cpuid_runtime_mwait(c, 0, MISC_ENABLE_MWAIT);                  /* quirk on: no effect */
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, ecx);
	cpuid_runtime_mwait(c, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, MISC_ENABLE_MWAIT);
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, ecx | CPUID_1_ECX_MONITOR);
	cpuid_runtime_mwait(c, KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, 0);
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, ecx & ~CPUID_1_ECX_MONITOR);
	cpuid_runtime_mwait(NULL, ~0ULL, MISC_ENABLE_MWAIT);           /* no CPUID: nothing */
	free(c);
}

/* __kvm_update_cpuid_runtime: OSXSAVE, APIC and OSPKE follow CR4 and the APIC base */
static void test_runtime_state(void **state)
{
	struct kvm_cpuid2 *c = host_table();
	uint32_t ecx1 = cpuid_find(c, 1, 0)->ecx, edx1 = cpuid_find(c, 1, 0)->edx;

	cpuid_runtime_state(c, 0, 0);
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, ecx1 & ~CPUID_1_ECX_OSXSAVE);
	assert_int_equal(cpuid_find(c, 1, 0)->edx, edx1 & ~CPUID_1_EDX_APIC);
	assert_false(cpuid_has(c, 7, 0, CPUID_ECX, CPUID_7_ECX_OSPKE));
	cpuid_runtime_state(c, X86_CR4_OSXSAVE | X86_CR4_PKE, 0xfee00000 | APIC_BASE_ENABLE);
	assert_true(cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_OSXSAVE));
	assert_true(cpuid_has(c, 1, 0, CPUID_EDX, CPUID_1_EDX_APIC));
	assert_true(cpuid_has(c, 7, 0, CPUID_ECX, CPUID_7_ECX_OSPKE));
	/* nothing else in the leaves moves */
	assert_int_equal(cpuid_find(c, 1, 0)->ecx, ecx1 | CPUID_1_ECX_OSXSAVE);
	assert_int_equal(cpuid_find(c, 1, 0)->edx, edx1 | CPUID_1_EDX_APIC);
	cpuid_runtime_state(NULL, ~0ULL, ~0ULL);                        /* no CPUID: nothing */
	free(c);
}

/* kvm_cpuid_check_equal: after KVM_RUN only the table in force, in the same order */
static void test_check_equal(void **state)
{
	struct kvm_cpuid2 *a = host_table(), *b = host_table(), *none = alloc_cpuid(0);
	struct kvm_cpuid_entry2 tmp;

	assert_int_equal(cpuid_check_equal(a, b), 0);
	b->entries[2].ebx--;                                             /* a feature changed */
	assert_int_equal(cpuid_check_equal(a, b), -EINVAL);
	b->entries[2].ebx++;
	b->entries[2].padding[0] = 7;                                    /* padding is not compared */
	assert_int_equal(cpuid_check_equal(a, b), 0);
	b->entries[2].flags ^= SIG;
	assert_int_equal(cpuid_check_equal(a, b), -EINVAL);
	b->entries[2].flags ^= SIG;
	tmp = b->entries[0];                                             /* same set, other order */
	b->entries[0] = b->entries[1];
	b->entries[1] = tmp;
	assert_int_equal(cpuid_check_equal(a, b), -EINVAL);
	b->entries[1] = b->entries[0];
	b->entries[0] = tmp;
	b->nent--;                                                       /* one entry fewer */
	assert_int_equal(cpuid_check_equal(a, b), -EINVAL);
	/* never set: only an empty table is "the same" */
	assert_int_equal(cpuid_check_equal(NULL, none), 0);
	assert_int_equal(cpuid_check_equal(NULL, a), -EINVAL);
	free(a);
	free(b);
	free(none);
}

static void test_check_set(void **state)
{
	struct kvm_cpuid2 *big = alloc_cpuid(CUSED_MAX_CPUID_ENTRIES + 1);
	struct kvm_cpuid2 *c = host_table(), *out = alloc_cpuid(CUSED_MAX_CPUID_ENTRIES);
	struct kvm_cpuid_entry2 *e88;

	assert_int_equal(cpuid_check_set(big), -E2BIG);
	big->nent = CUSED_MAX_CPUID_ENTRIES;
	assert_int_equal(cpuid_check_set(big), 0);
	/* the host table asks for AMX tile data: needs permission KVM's client lacks */
	assert_int_equal(cpuid_check_set(c), -EPERM);
	/* what cused offers is always acceptable back */
	assert_int_equal(cpuid_supported(c, out, CUSED_MAX_CPUID_ENTRIES), 0);
	assert_int_equal(cpuid_check_set(out), 0);
	/* virtual address width must be 48, 57 or unreported */
	e88 = (struct kvm_cpuid_entry2 *)cpuid_find(out, 0x80000008, 0);
	e88->eax = 0x2830;
	assert_int_equal(cpuid_check_set(out), -EINVAL);
	e88->eax = 0x3930;
	assert_int_equal(cpuid_check_set(out), 0);
	e88->eax = 0x0030;
	assert_int_equal(cpuid_check_set(out), 0);
	free(big);
	free(c);
	free(out);
}

static void test_find_and_maxphyaddr(void **state)
{
	struct kvm_cpuid2 *c = host_table();

	/* leaf 1 has no significant index: any index finds it */
	assert_ptr_equal(cpuid_find(c, 1, 5), &c->entries[1]);
	/* 0xd does: each sub-leaf by its own index */
	assert_ptr_equal(cpuid_find(c, 0xd, 2), &c->entries[6]);
	assert_null(cpuid_find(c, 0xd, 3));
	assert_null(cpuid_find(c, 0x12345678, 0));
	assert_null(cpuid_find(NULL, 1, 0));
	assert_int_equal(cpuid_maxphyaddr(c), 0x30);
	assert_true(cpuid_has(c, 7, 0, CPUID_EBX, CPUID_7_EBX_SMEP));
	assert_false(cpuid_has(c, 7, 0, CPUID_EBX, CPUID_7_EBX_SMAP));
	assert_false(cpuid_has(NULL, 7, 0, CPUID_EBX, CPUID_7_EBX_SMEP));
	assert_true(cpuid_is_intel(c));
	/* 0x80000008 only counts if 0x80000000 says it exists */
	c->entries[11].eax = 0x80000007;
	assert_int_equal(cpuid_maxphyaddr(c), 36);
	c->entries[11].function = 0x123;
	assert_int_equal(cpuid_maxphyaddr(c), 36);
	assert_int_equal(cpuid_maxphyaddr(NULL), 36);
	c->entries[0].ebx = 0x68747541;      /* AuthenticAMD */
	assert_false(cpuid_is_intel(c));
	free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_supported_policy),
		cmocka_unit_test(test_x2apic_without_silicon),
		cmocka_unit_test(test_supported_e2big),
		cmocka_unit_test(test_offer_native),
		cmocka_unit_test(test_runtime_mwait),
		cmocka_unit_test(test_runtime_state),
		cmocka_unit_test(test_check_equal),
		cmocka_unit_test(test_check_set),
		cmocka_unit_test(test_find_and_maxphyaddr),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
