/* SPDX-License-Identifier: MIT */
/*
 * A vCPU's TSC and kvmclock (arch/x86/kvm/x86.c: l1_tsc_offset,
 * kvm_synchronize_tsc, KVM_VCPU_TSC_OFFSET, kvm_guest_time_update,
 * KVM_KVMCLOCK_CTRL).  The daemon owns the offset: the guest's IA32_TSC as
 * RDMSR and KVM_GET_MSRS see it is host TSC + l1_off.  The backend is asked
 * to give RDTSC the same offset; one that cannot (a PVM host keeps its
 * guests on the host TSC) leaves hw_off behind, and the pvclock pages
 * follow hw_off, what the guest's RDTSC really returns.
 */
#ifndef CUSED_KVM_VCPU_TSC_H
#define CUSED_KVM_VCPU_TSC_H

#include <stdbool.h>
#include <stdint.h>

struct vcpu_tsc {
	int64_t l1_off;        /* KVM's l1_tsc_offset */
	int64_t hw_off;        /* the guest's RDTSC = host TSC + hw_off */
	bool hw_follows;       /* the backend applies offsets (measured at creation) */
	uint32_t clock_gen;    /* the VM's kvmclock_gen the pvclock page was written for */
	bool clock_stale;      /* write the pvclock page before the next entry */
	bool stop_request;     /* KVMCLOCK_CTRL: PVCLOCK_GUEST_STOPPED in the next write */
};

struct vcpu;
struct ioctl_req;

/* at vCPU creation: KVM's kvm_synchronize_tsc(vcpu, 0) (0 or -errno from the backend) */
int vcpu_tsc_init(struct vcpu *v);
/* IA32_TSC as the guest and the host read it */
uint64_t vcpu_tsc_read(struct vcpu *v);
/* a guest WRMSR of IA32_TSC or TSC_ADJUST's move of it: the TSC is val from now */
int vcpu_tsc_write(struct vcpu *v, uint64_t val);
/* a host-initiated write of IA32_TSC (kvm_synchronize_tsc) */
int vcpu_tsc_host_write(struct vcpu *v, uint64_t val);
/* KVM_HAS/GET/SET_DEVICE_ATTR on the vCPU (group KVM_VCPU_TSC_CTRL); caller holds v->lock */
long vcpu_tsc_attr_ioctl(struct vcpu *v, struct ioctl_req *rq);

/* kvmclock.c: after a successful write of a kvmclock MSR (either side) */
void kvmclock_msr_written(struct vcpu *v, uint32_t index, uint64_t val);
/* before each entry: write the pvclock page if it is due */
void kvmclock_before_entry(struct vcpu *v);
/* KVM_KVMCLOCK_CTRL: 0, or -EINVAL when the guest has no active pvclock page */
int kvmclock_ctrl(struct vcpu *v);

#endif
