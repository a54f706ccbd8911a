/* SPDX-License-Identifier: MIT */
/*
 * vCPU state ioctls that need no irqchip: KVM_GET/SET_VCPU_EVENTS, KVM_NMI,
 * KVM_GET/SET_XSAVE (+ KVM_GET_XSAVE2), KVM_GET/SET_XCRS,
 * KVM_GET/SET_DEBUGREGS, KVM_GET/SET_TSC_KHZ, KVM_KVMCLOCK_CTRL,
 * KVM_X86_SETUP_MCE and KVM_ENABLE_CAP on a vCPU.  The daemon validates
 * with Linux 6.1's rules (arch/x86/kvm/x86.c kvm_arch_vcpu_ioctl); the
 * backend only stores.  The check functions are pure.
 */
#ifndef CUSED_KVM_VCPU_STATE_H
#define CUSED_KVM_VCPU_STATE_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define VCPU_MAX_MCE_BANKS 32           /* KVM_MAX_MCE_BANKS */
#define VCPU_MCG_CTL_P (1ULL << 8)
#define VCPU_MCG_SER_P (1ULL << 24)
/* KVM_X86_GET_MCE_CAP_SUPPORTED: 6.1's common kvm_caps.supported_mce_cap */
#define VCPU_MCE_CAP_SUPPORTED (VCPU_MCG_CTL_P | VCPU_MCG_SER_P)
/* the X87 and SSE XSAVE components, always allowed in an XSAVE image */
#define VCPU_XFEATURE_FPSSE 3ULL

/* per-vCPU settings these ioctls keep in the daemon */
struct vcpu_misc {
	bool pv_cpuid_enforce;      /* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	bool hv_cpuid_enforce;      /* KVM_CAP_HYPERV_ENFORCE_CPUID */
	bool triple_fault;          /* KVM_REQ_TRIPLE_FAULT: next KVM_RUN exits SHUTDOWN */
	bool has_run;               /* entered the guest once (KVM's kvm_vcpu_has_run) */
};

/*
 * KVM_SET_VCPU_EVENTS: 0 or -EINVAL.  Normalizes *e as KVM does (drops
 * pending/payload that the flags do not cover).  cused has no SMM and no
 * triple-fault event, so asking for either is -EINVAL.
 */
int vcpu_events_check(struct kvm_vcpu_events *e, bool payload_enabled);
/* KVM_SET_DEBUGREGS: 0 or -EINVAL (flags, upper halves of DR6/DR7) */
int vcpu_debugregs_check(const struct kvm_debugregs *d);
/* __kvm_set_xcr(XCR0): 0 or -EINVAL; guest_xcr0 is what the guest's CPUID allows */
int vcpu_xcr0_check(uint64_t xcr0, uint64_t guest_xcr0);
/*
 * KVM_SET_XCRS: 0 or -EINVAL; *set says whether an XCR0 entry was given
 * (the first one counts, others are ignored) and *xcr0 its value.
 */
int vcpu_xcrs_check(const struct kvm_xcrs *x, uint64_t guest_xcr0, bool *set, uint64_t *xcr0);
/* KVM_SET_XSAVE: header and MXCSR rules; allowed = XSTATE_BV bits the guest may have */
int vcpu_xsave_check(const struct kvm_xsave *x, uint64_t allowed, uint32_t mxcsr_mask);
/* KVM_X86_SETUP_MCE: 0 or -EINVAL */
int vcpu_mce_check(uint64_t mcg_cap);
/* XCR0 bits a guest CPUID table allows (leaf 0xD.0 & what the daemon supports) | FP */
uint64_t vcpu_guest_xcr0(const struct kvm_cpuid2 *guest, const struct kvm_cpuid2 *supported);

/* vcpu_mce.c: what KVM_X86_SET_MCE asks of the vCPU after logging the error */
enum mce_action { MCE_NOTHING, MCE_RAISE_MC, MCE_SHUTDOWN };
struct msr_file;
/* the bank update of KVM_X86_SET_MCE on an MSR file (cr4: the guest's CR4); pure */
int vcpu_mce_apply(struct msr_file *mf, uint64_t cr4, const struct kvm_x86_mce *m,
		   enum mce_action *act);

struct vcpu;
struct ioctl_req;
/* KVM_X86_SET_MCE; caller holds v->lock */
long vcpu_set_mce(struct vcpu *v, const struct kvm_x86_mce *m);
/* the ioctls above; caller holds v->lock */
long vcpu_state_ioctl(struct vcpu *v, struct ioctl_req *rq);
/* KVM_X86_GET_MCE_CAP_SUPPORTED on /dev/kvm */
long vcpu_state_mce_cap_supported(struct ioctl_req *rq);

#endif
