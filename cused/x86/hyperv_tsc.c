/* SPDX-License-Identifier: MIT */
/*
 * The Hyper-V reference TSC page and TIME_REF_COUNT (Linux 6.1 hyperv.c
 * kvm_hv_setup_tsc_page, get_time_ref_counter).  KVM derives the page from
 * its kvmclock's pvclock parameters; the daemon's kvmclock is the host's
 * boot-time clock plus the VM's offset (cused/kvm/clock.c), so the page is
 * derived from one (guest TSC, kvmclock) sample and the TSC frequency.
 */
#include <errno.h>
#include "cused/x86/hyperv_msr.h"

uint64_t hv_mul_u64_u64_shr64(uint64_t a, uint64_t b)
{
	return (uint64_t)(((unsigned __int128)a * b) >> 64);
}

bool hv_tsc_page_params(uint32_t tsc_khz, uint64_t tsc, uint64_t ref, struct hv_tsc_ref *out)
{
	/* 100 ns per reference tick: ref = tsc * 10^4 / tsc_khz */
	unsigned __int128 scale;

	if (tsc_khz <= 10000)
		return false;
	scale = ((unsigned __int128)10000 << 64) / tsc_khz;
	out->tsc_scale = (uint64_t)scale;
	out->tsc_offset = (int64_t)(ref - hv_mul_u64_u64_shr64(tsc, out->tsc_scale));
	return true;
}

/* a guest that asked for TSC emulation is migrating: KVM keeps its page as is */
static bool update_unsafe(const struct hv_vm *hv)
{
	return hv->tsc_status != HV_TSC_PAGE_GUEST_CHANGED && hv->tsc_emulation_control;
}

static void set_status(struct hv_vm *hv, enum hv_tsc_status s)
{
	__atomic_store_n(&hv->tsc_status, s, __ATOMIC_RELEASE);
}

/* the kvm_hv_setup_tsc_page sequence: sequence 0, the parameters, then the new sequence */
static int write_page(struct hv_vm *hv, const struct hv_env *env, uint64_t gpa)
{
	struct hv_tsc_ref *ref = &hv->tsc_ref;
	uint32_t seq;
	uint64_t tsc;

	if (env->read_gpa(env->ctx, gpa, &seq, sizeof(seq)))
		return -EFAULT;
	if (seq && update_unsafe(hv)) {
		/* keep what the page says (after migration the guest's copy rules) */
		return env->read_gpa(env->ctx, gpa, ref, sizeof(*ref)) ? -EFAULT : 0;
	}
	ref->tsc_sequence = 0;
	if (env->write_gpa(env->ctx, gpa, &ref->tsc_sequence, sizeof(ref->tsc_sequence)))
		return -EFAULT;
	if (env->guest_tsc(env->ctx, &tsc) ||
	    !hv_tsc_page_params(env->tsc_khz, tsc, env->kvmclock_ns(env->ctx) / 100, ref))
		return -EINVAL;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	if (env->write_gpa(env->ctx, gpa, ref, sizeof(*ref)))
		return -EFAULT;
	if (++seq == 0xFFFFFFFF || seq == 0)
		seq = 1;
	__atomic_thread_fence(__ATOMIC_RELEASE);
	ref->tsc_sequence = seq;
	if (env->write_gpa(env->ctx, gpa, &ref->tsc_sequence, sizeof(ref->tsc_sequence)))
		return -EFAULT;
	return 0;
}

void hv_tsc_page_update(struct hv_vm *hv, const struct hv_env *env)
{
	enum hv_tsc_status s = __atomic_load_n(&hv->tsc_status, __ATOMIC_ACQUIRE);

	if (s != HV_TSC_PAGE_GUEST_CHANGED && s != HV_TSC_PAGE_HOST_CHANGED)
		return;
	pthread_mutex_lock(&hv->lock);
	s = hv->tsc_status;
	if ((s == HV_TSC_PAGE_GUEST_CHANGED || s == HV_TSC_PAGE_HOST_CHANGED) &&
	    (hv->tsc_page_msr & HV_X64_MSR_TSC_REFERENCE_ENABLE))
		set_status(hv, write_page(hv, env, hv->tsc_page_msr & ~0xfffULL) ?
			   HV_TSC_PAGE_BROKEN : HV_TSC_PAGE_SET);
	pthread_mutex_unlock(&hv->lock);
}

void hv_tsc_page_clock_changed(struct hv_vm *hv)
{
	pthread_mutex_lock(&hv->lock);
	if (hv->tsc_status == HV_TSC_PAGE_SET && !update_unsafe(hv))
		set_status(hv, HV_TSC_PAGE_HOST_CHANGED);
	pthread_mutex_unlock(&hv->lock);
}

uint64_t hv_time_ref_count(struct hv_vm *hv, const struct hv_env *env)
{
	uint64_t tsc;

	/* no page, or one being rewritten or broken: the clock itself */
	if (hv->tsc_status != HV_TSC_PAGE_SET || env->guest_tsc(env->ctx, &tsc))
		return env->kvmclock_ns(env->ctx) / 100;
	return hv_mul_u64_u64_shr64(tsc, hv->tsc_ref.tsc_scale) + hv->tsc_ref.tsc_offset;
}
