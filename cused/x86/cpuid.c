/* SPDX-License-Identifier: MIT */
/* Lookups in a CPUID table and the KVM_SET_CPUID2 argument checks */
#include <errno.h>
#include <stddef.h>
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"
#include "cused/util/log.h"

const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t function,
					  uint32_t index)
{
	if (!c)
		return NULL;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *e = &c->entries[i];

		if (e->function != function)
			continue;
		if ((e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) && e->index != index)
			continue;
		return e;
	}
	return NULL;
}

static uint32_t entry_reg(const struct kvm_cpuid_entry2 *e, enum cpuid_reg reg)
{
	switch (reg) {
	case CPUID_EAX: return e->eax;
	case CPUID_EBX: return e->ebx;
	case CPUID_ECX: return e->ecx;
	default:        return e->edx;
	}
}

bool cpuid_has(const struct kvm_cpuid2 *c, uint32_t function, uint32_t index,
	       enum cpuid_reg reg, uint32_t mask)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, function, index);

	return e && (entry_reg(e, reg) & mask) == mask;
}

unsigned cpuid_maxphyaddr(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0x80000000, 0);

	/* the leaf only counts if the extended range says it exists */
	if (!e || e->eax < 0x80000008)
		return 36;
	e = cpuid_find(c, 0x80000008, 0);
	return e ? (e->eax & 0xff) : 36;
}

bool cpuid_is_intel(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(c, 0, 0);

	/* "GenuineIntel" in EBX, EDX, ECX */
	return e && e->ebx == 0x756e6547 && e->edx == 0x49656e69 && e->ecx == 0x6c65746e;
}

void cpuid_runtime_mwait(struct kvm_cpuid2 *c, uint64_t disabled_quirks, uint64_t misc_enable)
{
	struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)cpuid_find(c, 1, 0);

	if (!e || !(disabled_quirks & KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT))
		return;
	if (misc_enable & MISC_ENABLE_MWAIT)
		e->ecx |= CPUID_1_ECX_MONITOR;
	else
		e->ecx &= ~CPUID_1_ECX_MONITOR;
}

int cpuid_check_set(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e;

	if (c->nent > CUSED_MAX_CPUID_ENTRIES)
		return refuse(-E2BIG, "KVM_SET_CPUID2: %u entries > %u", c->nent,
			      CUSED_MAX_CPUID_ENTRIES);
	/* canonical-address checks assume 48 or 57 virtual address bits */
	e = cpuid_find(c, 0x80000008, 0);
	if (e) {
		unsigned vbits = (e->eax >> 8) & 0xff;

		if (vbits != 48 && vbits != 57 && vbits != 0)
			return refuse(-EINVAL, "KVM_SET_CPUID2: %u virtual address bits", vbits);
	}
	/*
	 * Dynamic XSAVE components (AMX tile data) need XFD and a larger guest
	 * FPU buffer; KVM refuses them without the process's permission, and
	 * cused never grants it.
	 */
	e = cpuid_find(c, 0xd, 0);
	if (e && ((e->eax | (uint64_t)e->edx << 32) & XFEATURE_XTILE_DATA))
		return refuse(-EPERM, "KVM_SET_CPUID2: dynamic XSAVE feature (AMX) not supported");
	return 0;
}
