/* SPDX-License-Identifier: MIT */
/*
 * The CPUID bits KVM derives from vCPU state (__kvm_update_cpuid_runtime)
 * and KVM_SET_CPUID2's rule once the vCPU has run (kvm_cpuid_check_equal).
 */
#include <errno.h>
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"

static void change(uint32_t *reg, uint32_t bit, bool on)
{
	*reg = on ? (*reg | bit) : (*reg & ~bit);
}

void cpuid_runtime_state(struct kvm_cpuid2 *c, uint64_t cr4, uint64_t apic_base)
{
	struct kvm_cpuid_entry2 *e = (struct kvm_cpuid_entry2 *)cpuid_find(c, 1, 0);

	if (e) {
		change(&e->ecx, CPUID_1_ECX_OSXSAVE, cr4 & X86_CR4_OSXSAVE);
		change(&e->edx, CPUID_1_EDX_APIC, apic_base & APIC_BASE_ENABLE);
	}
	/* KVM looks leaf 7 up with index 0 significant or not, as here */
	e = (struct kvm_cpuid_entry2 *)cpuid_find(c, 7, 0);
	if (e)
		change(&e->ecx, CPUID_7_ECX_OSPKE, cr4 & X86_CR4_PKE);
}

int cpuid_check_equal(const struct kvm_cpuid2 *cur, const struct kvm_cpuid2 *c)
{
	if (!cur)
		return c->nent ? -EINVAL : 0;
	if (c->nent != cur->nent)
		return -EINVAL;
	for (uint32_t i = 0; i < c->nent; i++) {
		const struct kvm_cpuid_entry2 *a = &cur->entries[i], *b = &c->entries[i];

		/* entry by entry in order, padding ignored, as KVM compares them */
		if (a->function != b->function || a->index != b->index ||
		    a->flags != b->flags || a->eax != b->eax || a->ebx != b->ebx ||
		    a->ecx != b->ecx || a->edx != b->edx)
			return -EINVAL;
	}
	return 0;
}
