/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's CPUID table as KVM keeps it: the bits that follow vCPU state
 * (CR4, APIC base, MISC_ENABLE) brought up to date whenever the table is
 * looked at (the guest's CPUID, KVM_GET/SET_CPUID2), since the daemon does
 * not see every CR4 write a backend lets through.  Only for a backend whose
 * guest CPUID the daemon answers (tramp_caps.cpuid_exits).
 */
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_irq.h"
#include "cused/x86/cpuid.h"

void vcpu_cpuid_state(struct vcpu *v, struct kvm_cpuid2 *c)
{
	struct cused_field_val f[2] = { { .id = CUSED_F_CR4 }, { .id = CUSED_F_APIC_BASE } };
	struct kvm_sregs s = { 0 };
	struct msr_io io = vcpu_msr_io(v);
	uint64_t misc = 0;

	/* a host that answers the guest's CPUID keeps these bits itself */
	if (!c || !v->vm->ctx->caps.cpuid_exits || v->vm->ctx->ops->read_fields(v->tv, f, 2))
		return;
	/* with an irqchip the daemon's LAPIC owns the base */
	s.apic_base = f[1].val;
	vcpu_irq_sregs_get(v, &s);
	cpuid_runtime_state(c, f[0].val, s.apic_base);
	if (!msr_read(&v->msrs, &io, 0x1a0, &misc, true))   /* IA32_MISC_ENABLE */
		cpuid_runtime_mwait(c, __atomic_load_n(&v->vm->misc.disabled_quirks,
						       __ATOMIC_RELAXED), misc);
}
