/* SPDX-License-Identifier: MIT */
/*
 * KVM_CAP_X86_USER_SPACE_MSR: a guest RDMSR/WRMSR the MSR table refuses
 * goes to the client as KVM_EXIT_X86_RDMSR/WRMSR when the VM asked for that
 * reason (Linux 6.1 kvm_msr_user_space): an MSR the table does not know is
 * KVM_MSR_EXIT_REASON_UNKNOWN, a value it rejects KVM_MSR_EXIT_REASON_INVAL,
 * an access the VM's MSR filter denies (msr_filter.c) KVM_MSR_EXIT_REASON_FILTER.  The
 * client's msr.error (and msr.data for RDMSR) retire the instruction on the
 * next KVM_RUN: error -> #GP.
 */
#include <errno.h>
#include <string.h>
#include "cused/kvm/msr_filter.h"
#include "cused/kvm/vcpu.h"
#include "cused/util/log.h"

static uint32_t reason_of(int r)
{
	if (r == MSR_FILTERED)
		return KVM_MSR_EXIT_REASON_FILTER;
	return r == -ENOENT ? KVM_MSR_EXIT_REASON_UNKNOWN : KVM_MSR_EXIT_REASON_INVAL;
}

bool vcpu_msr_to_user(struct vcpu *v, struct tramp_exit *ex, int r)
{
	struct kvm_run *run = v->run;
	uint32_t mask = __atomic_load_n(&v->vm->misc.user_space_msr, __ATOMIC_RELAXED);
	uint32_t reason = reason_of(r);

	if (!r || !(mask & reason))
		return false;
	run->exit_reason = ex->reason == TX_RDMSR ? KVM_EXIT_X86_RDMSR : KVM_EXIT_X86_WRMSR;
	run->msr.error = 0;
	memset(run->msr.pad, 0, sizeof(run->msr.pad));
	run->msr.reason = reason;
	run->msr.index = ex->msr.index;
	run->msr.data = ex->reason == TX_RDMSR ? 0 : ex->msr.data;
	v->complete_pending = true;
	return true;
}

void vcpu_msr_from_user(struct vcpu *v, struct tramp_exit *ex)
{
	const struct kvm_run *run = v->run;

	/* the run page is the client's: read each field once */
	ex->msr.error = __atomic_load_n(&run->msr.error, __ATOMIC_RELAXED) != 0;
	if (ex->reason == TX_RDMSR && !ex->msr.error)
		ex->msr.data = __atomic_load_n(&run->msr.data, __ATOMIC_RELAXED);
}
