/* SPDX-License-Identifier: MIT */
/*
 * KVM_X86_SET_MSR_FILTER (KVM_CAP_X86_MSR_FILTER): the VM's userspace MSR
 * filter, as Linux 6.1 kvm_vm_ioctl_set_msr_filter / kvm_msr_allowed.  A
 * guest RDMSR/WRMSR the filter denies is not looked up in the MSR table: it
 * exits to the client with KVM_MSR_EXIT_REASON_FILTER if the VM enabled
 * that reason (KVM_CAP_X86_USER_SPACE_MSR), else takes #GP.  KVM_GET/SET_MSRS
 * are never filtered.  QEMU 7.2 installs one range (MSR_CORE_THREAD_COUNT)
 * whenever the capability is offered and exits if it cannot.
 */
#ifndef CUSED_KVM_MSR_FILTER_H
#define CUSED_KVM_MSR_FILTER_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct ioctl_req;
struct msr_filter;

/* the VM's current filter; NULL filter = allow everything (KVM's initial state) */
struct msr_filter_ref {
	pthread_mutex_t lock;   /* taken briefly by set and by every guest check */
	struct msr_filter *f;
};

/* the result code a denied access carries into vcpu_msr_to_user (KVM_MSR_RET_FILTERED) */
#define MSR_FILTERED (-EACCES)

void msr_filter_ref_init(struct msr_filter_ref *ref);
void msr_filter_ref_fini(struct msr_filter_ref *ref);

/*
 * KVM_X86_SET_MSR_FILTER: validate the struct kvm_msr_filter in rq (bitmaps
 * read from the client) and replace the filter atomically.  0, -EINVAL for
 * bad flags, an empty deny-all filter or a bad range, -EFAULT for an
 * unreadable bitmap, -ENOMEM; on error the old filter stays.
 */
long msr_filter_set(struct msr_filter_ref *ref, struct ioctl_req *rq);

/*
 * kvm_msr_allowed: may the guest make this access? write selects
 * KVM_MSR_FILTER_WRITE over _READ.  x2APIC MSRs (0x800-0x8ff) are never
 * filtered.
 */
bool msr_filter_allowed(struct msr_filter_ref *ref, uint32_t index, bool write);

#endif
