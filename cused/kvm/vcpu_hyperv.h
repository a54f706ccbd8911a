/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's Hyper-V enlightenments (cused/x86/hyperv_msr.h) wired to the
 * vCPU, its VM, guest memory and the in-daemon LAPIC.
 */
#ifndef CUSED_KVM_VCPU_HYPERV_H
#define CUSED_KVM_VCPU_HYPERV_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu;

/* at vCPU creation, once v->vm is set: VP index = creation order (KVM's vcpu_idx) */
void vcpu_hv_init(struct vcpu *v);
/* after KVM_SET_CPUID2: Hyper-V on or off, the feature bits enforcement checks */
void vcpu_hv_cpuid_changed(struct vcpu *v);
/*
 * A Hyper-V MSR access from the guest (host false) or KVM_GET/SET_MSRS:
 * false when index is not one (nothing done); else true with *r 0 or a
 * negative errno (-EPERM: #GP / KVM_GET/SET_MSRS stops).
 */
bool vcpu_hv_msr(struct vcpu *v, bool write, uint32_t index, uint64_t *data, bool host, int *r);
/*
 * after a guest MSR access the daemon handled and retired: true when it
 * must reach the VMM as KVM_EXIT_SYSTEM_EVENT (Hyper-V crash or reset) or
 * KVM_EXIT_HYPERV (SynIC set-up), with kvm_run filled
 */
bool vcpu_hv_exit(struct vcpu *v);
/* before entering the guest: write the reference TSC page if it changed */
void vcpu_hv_enter(struct vcpu *v);

#endif
