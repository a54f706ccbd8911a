/* SPDX-License-Identifier: MIT */
/* Hyper-V synthetic MSRs (see hyperv_msr.h): Linux 6.1 hyperv.c, rule for rule */
#include <errno.h>
#include <string.h>
#include "cused/x86/hyperv.h"
#include "cused/x86/hyperv_msr.h"
#include "cused/x86/cpuid.h"

#define APIC_TASKPRI 0x80
#define APIC_EOI     0xb0
#define APIC_ICR     0x300

void hv_vm_init(struct hv_vm *hv)
{
	memset(hv, 0, sizeof(*hv));
	pthread_mutex_init(&hv->lock, NULL);
}

void hv_vm_fini(struct hv_vm *hv)
{
	pthread_mutex_destroy(&hv->lock);
}

/* kvm_hv_vcpu_init with synic_init and stimer_init */
void hv_vcpu_init(struct hv_vcpu *hvc, uint32_t vp_index)
{
	memset(hvc, 0, sizeof(*hvc));
	hvc->vp_index = vp_index;
	hvc->synic_version = HV_SYNIC_VERSION_1;
	for (unsigned i = 0; i < 16; i++)
		hvc->sint[i] = HV_SYNIC_SINT_MASKED;
}

void hv_vcpu_activate_synic(struct hv_vcpu *hvc, bool dont_zero)
{
	hvc->synic_active = true;
	hvc->synic_dont_zero = dont_zero;
	hvc->synic_control = HV_SYNIC_CONTROL_ENABLE;
}

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid2 *c, uint32_t fn)
{
	return cpuid_find(c, fn, 0);
}

void hv_vcpu_set_cpuid(struct hv_vcpu *hvc, const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = c ? leaf(c, HYPERV_CPUID_INTERFACE) : NULL;

	hvc->enabled = e && e->eax == HYPERV_CPUID_SIGNATURE_EAX;
	hvc->features_eax = hvc->features_ebx = hvc->features_edx = 0;
	hvc->enlight_eax = hvc->enlight_ebx = hvc->syndbg_cap_eax = 0;
	if (!hvc->enabled)
		return;
	if ((e = leaf(c, HYPERV_CPUID_FEATURES))) {
		hvc->features_eax = e->eax;
		hvc->features_ebx = e->ebx;
		hvc->features_edx = e->edx;
	}
	if ((e = leaf(c, HYPERV_CPUID_ENLIGHTMENT_INFO))) {
		hvc->enlight_eax = e->eax;
		hvc->enlight_ebx = e->ebx;
	}
	if ((e = leaf(c, HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES)))
		hvc->syndbg_cap_eax = e->eax;
}

unsigned hv_msr_index_list(uint32_t *out, unsigned max)
{
	static const uint32_t listed[] = {
		HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_HYPERCALL, HV_X64_MSR_TIME_REF_COUNT,
		HV_X64_MSR_REFERENCE_TSC, HV_X64_MSR_TSC_FREQUENCY, HV_X64_MSR_APIC_FREQUENCY,
		HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P0 + 1, HV_X64_MSR_CRASH_P0 + 2,
		HV_X64_MSR_CRASH_P0 + 3, HV_X64_MSR_CRASH_P4, HV_X64_MSR_CRASH_CTL,
		HV_X64_MSR_RESET, HV_X64_MSR_VP_INDEX, HV_X64_MSR_VP_RUNTIME, HV_X64_MSR_SCONTROL,
		HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_VP_ASSIST_PAGE,
		HV_X64_MSR_REENLIGHTENMENT_CONTROL, HV_X64_MSR_TSC_EMULATION_CONTROL,
		HV_X64_MSR_TSC_EMULATION_STATUS, HV_X64_MSR_SYNDBG_OPTIONS,
		HV_X64_MSR_SYNDBG_CONTROL, HV_X64_MSR_SYNDBG_STATUS, HV_X64_MSR_SYNDBG_SEND_BUFFER,
		HV_X64_MSR_SYNDBG_RECV_BUFFER, HV_X64_MSR_SYNDBG_PENDING_BUFFER,
	};
	unsigned n = sizeof(listed) / sizeof(listed[0]);

	for (unsigned i = 0; out && i < n && i < max; i++)
		out[i] = listed[i];
	return n;
}

static bool in(uint32_t i, uint32_t lo, uint32_t hi)
{
	return i >= lo && i <= hi;
}

bool hv_msr_is(uint32_t i)
{
	/* kvm_{set,get}_msr_common's Hyper-V cases */
	return in(i, HV_X64_MSR_GUEST_OS_ID, HV_X64_MSR_SINT15) ||
	       in(i, HV_X64_MSR_SYNDBG_CONTROL, HV_X64_MSR_SYNDBG_PENDING_BUFFER) ||
	       i == HV_X64_MSR_SYNDBG_OPTIONS ||
	       in(i, HV_X64_MSR_CRASH_P0, HV_X64_MSR_TSC_EMULATION_STATUS) ||
	       in(i, HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT);
}

static bool partition_wide(uint32_t i)
{
	switch (i) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
	case HV_X64_MSR_REFERENCE_TSC:
	case HV_X64_MSR_TIME_REF_COUNT:
	case HV_X64_MSR_RESET:
	case HV_X64_MSR_SYNDBG_OPTIONS:
		return true;
	default:
		return in(i, HV_X64_MSR_CRASH_P0, HV_X64_MSR_TSC_EMULATION_STATUS) ||
		       in(i, HV_X64_MSR_SYNDBG_CONTROL, HV_X64_MSR_SYNDBG_PENDING_BUFFER);
	}
}

/* hv_check_msr_access: with KVM_CAP_HYPERV_ENFORCE_CPUID, each MSR needs its CPUID bit */
static bool access_ok(const struct hv_vcpu *hvc, uint32_t i)
{
	uint32_t eax = hvc->features_eax, edx = hvc->features_edx;

	if (!hvc->enforce)
		return true;
	switch (i) {
	case HV_X64_MSR_GUEST_OS_ID:
	case HV_X64_MSR_HYPERCALL:
		return eax & HV_MSR_HYPERCALL_AVAILABLE;
	case HV_X64_MSR_VP_RUNTIME:
		return eax & HV_MSR_VP_RUNTIME_AVAILABLE;
	case HV_X64_MSR_TIME_REF_COUNT:
		return eax & HV_MSR_TIME_REF_COUNT_AVAILABLE;
	case HV_X64_MSR_VP_INDEX:
		return eax & HV_MSR_VP_INDEX_AVAILABLE;
	case HV_X64_MSR_RESET:
		return eax & HV_MSR_RESET_AVAILABLE;
	case HV_X64_MSR_REFERENCE_TSC:
		return eax & HV_MSR_REFERENCE_TSC_AVAILABLE;
	case HV_X64_MSR_EOI:
	case HV_X64_MSR_ICR:
	case HV_X64_MSR_TPR:
	case HV_X64_MSR_VP_ASSIST_PAGE:
		return eax & HV_MSR_APIC_ACCESS_AVAILABLE;
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		return eax & HV_ACCESS_FREQUENCY_MSRS;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		return eax & HV_ACCESS_REENLIGHTENMENT;
	case HV_X64_MSR_CRASH_CTL:
		return edx & HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE;
	case HV_X64_MSR_SYNDBG_OPTIONS:
		return edx & HV_FEATURE_DEBUG_MSRS_AVAILABLE;
	default:
		break;
	}
	if (in(i, HV_X64_MSR_SCONTROL, HV_X64_MSR_EOM) || in(i, HV_X64_MSR_SINT0, HV_X64_MSR_SINT15))
		return eax & HV_MSR_SYNIC_AVAILABLE;
	if (in(i, HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT))
		return eax & HV_MSR_SYNTIMER_AVAILABLE;
	if (in(i, HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P4))
		return edx & HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE;
	if (in(i, HV_X64_MSR_SYNDBG_CONTROL, HV_X64_MSR_SYNDBG_PENDING_BUFFER))
		return edx & HV_FEATURE_DEBUG_MSRS_AVAILABLE;
	return false;
}

static uint64_t *syndbg_reg(struct hv_vm *hv, uint32_t i)
{
	switch (i) {
	case HV_X64_MSR_SYNDBG_CONTROL:        return &hv->syndbg_control;
	case HV_X64_MSR_SYNDBG_STATUS:         return &hv->syndbg_status;
	case HV_X64_MSR_SYNDBG_SEND_BUFFER:    return &hv->syndbg_send;
	case HV_X64_MSR_SYNDBG_RECV_BUFFER:    return &hv->syndbg_recv;
	case HV_X64_MSR_SYNDBG_PENDING_BUFFER: return &hv->syndbg_pending;
	default:                               return &hv->syndbg_options;
	}
}

static int pw_read(struct hv_vm *hv, const struct hv_vcpu *hvc, const struct hv_env *env,
		   uint32_t i, uint64_t *v, bool host)
{
	switch (i) {
	case HV_X64_MSR_GUEST_OS_ID:
		*v = hv->guest_os_id;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		*v = hv->hypercall;
		return 0;
	case HV_X64_MSR_TIME_REF_COUNT:
		*v = hv_time_ref_count(hv, env);
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		*v = hv->tsc_page_msr;
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		*v = hv->crash_ctl;
		return 0;
	case HV_X64_MSR_RESET:
		*v = 0;
		return 0;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
		*v = hv->reenlightenment_control;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
		*v = hv->tsc_emulation_control;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		*v = hv->tsc_emulation_status;
		return 0;
	default:
		break;
	}
	if (in(i, HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P4)) {
		*v = hv->crash_param[i - HV_X64_MSR_CRASH_P0];
		return 0;
	}
	/* the synthetic debugger: only with ALLOW_KERNEL_DEBUGGING in its CPUID leaf */
	if (!host && !(hvc->syndbg_cap_eax & HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING))
		return -EPERM;
	*v = *syndbg_reg(hv, i);
	return 0;
}

/* the hypercall page: vmcall (Intel) or vmmcall, then ret */
static int write_hypercall_page(const struct hv_env *env, uint64_t msr)
{
	uint8_t insn[4] = { 0x0f, 0x01, env->intel ? 0xc1 : 0xd9, 0xc3 };

	return env->write_gpa(env->ctx, msr & ~0xfffULL, insn, sizeof(insn)) ? -EPERM : 0;
}

static int pw_write(struct hv_vm *hv, struct hv_vcpu *hvc, const struct hv_env *env,
		    uint32_t i, uint64_t v, bool host)
{
	switch (i) {
	case HV_X64_MSR_GUEST_OS_ID:
		hv->guest_os_id = v;
		/* an OS id of zero disables the hypercall page */
		if (!v)
			hv->hypercall &= ~HV_X64_MSR_HYPERCALL_ENABLE;
		return 0;
	case HV_X64_MSR_HYPERCALL:
		/* without a guest OS id the hypercall MSR ignores writes */
		if (!hv->guest_os_id)
			return 0;
		if ((v & HV_X64_MSR_HYPERCALL_ENABLE) && write_hypercall_page(env, v))
			return -EPERM;
		hv->hypercall = v;
		return 0;
	case HV_X64_MSR_REFERENCE_TSC:
		hv->tsc_page_msr = v;
		/* the page itself is written before the next guest entry (hv_tsc_page_update) */
		__atomic_store_n(&hv->tsc_status, !(v & HV_X64_MSR_TSC_REFERENCE_ENABLE) ?
				 HV_TSC_PAGE_UNSET : host ? HV_TSC_PAGE_HOST_CHANGED :
				 HV_TSC_PAGE_GUEST_CHANGED, __ATOMIC_RELEASE);
		return 0;
	case HV_X64_MSR_CRASH_CTL:
		/* the host sets what the guest reads; the guest's write reports a crash */
		if (host)
			hv->crash_ctl = v & HV_CRASH_CTL_CRASH_NOTIFY;
		else if (v & HV_CRASH_CTL_CRASH_NOTIFY)
			hvc->crash_pending = true;
		return 0;
	case HV_X64_MSR_RESET:
		if (v == 1)
			hvc->reset_pending = true;
		return 0;
	case HV_X64_MSR_REENLIGHTENMENT_CONTROL:
		hv->reenlightenment_control = v;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_CONTROL:
		hv->tsc_emulation_control = v;
		return 0;
	case HV_X64_MSR_TSC_EMULATION_STATUS:
		if (v && !host)
			return -EPERM;
		hv->tsc_emulation_status = v;
		return 0;
	case HV_X64_MSR_TIME_REF_COUNT:
		/* read-only, but KVM ignores the host's writes */
		return host ? 0 : -EPERM;
	default:
		break;
	}
	if (in(i, HV_X64_MSR_CRASH_P0, HV_X64_MSR_CRASH_P4)) {
		hv->crash_param[i - HV_X64_MSR_CRASH_P0] = v;
		return 0;
	}
	if (!host && !(hvc->syndbg_cap_eax & HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING))
		return -EPERM;
	/* the guest's CONTROL/PENDING_BUFFER writes would be KVM_EXIT_HYPERV_SYNDBG: not reported */
	*syndbg_reg(hv, i) = v;
	return 0;
}

/* synic_get_msr */
static int synic_read(const struct hv_vcpu *hvc, uint32_t i, uint64_t *v, bool host)
{
	if (!hvc->synic_active && !host)
		return -EPERM;
	switch (i) {
	case HV_X64_MSR_SCONTROL: *v = hvc->synic_control; return 0;
	case HV_X64_MSR_SVERSION: *v = hvc->synic_version; return 0;
	case HV_X64_MSR_SIEFP:    *v = hvc->synic_evt_page; return 0;
	case HV_X64_MSR_SIMP:     *v = hvc->synic_msg_page; return 0;
	case HV_X64_MSR_EOM:      *v = 0; return 0;
	default:
		if (in(i, HV_X64_MSR_SINT0, HV_X64_MSR_SINT15)) {
			*v = hvc->sint[i - HV_X64_MSR_SINT0];
			return 0;
		}
		return -EPERM;
	}
}

/* SIEFP/SIMP: a guest enabling the page gets it zeroed (not with SYNIC2) */
static int synic_page(struct hv_vcpu *hvc, const struct hv_env *env, uint64_t v, bool host)
{
	static const uint8_t zero[4096];

	if (!(v & HV_SYNIC_SIMP_ENABLE) || host || hvc->synic_dont_zero)
		return 0;
	return env->write_gpa(env->ctx, v & ~0xfffULL, zero, sizeof(zero)) ? -EPERM : 0;
}

/* synic_set_msr; an inactive SynIC takes only the host's 0 */
/* synic_set_sint */
static int synic_sint(struct hv_vcpu *hvc, uint32_t i, uint64_t v, bool host)
{
	unsigned vector = v & 0xff;

	/* vectors 0-15 are invalid unless masked; the host may write anything */
	if (vector < HV_SYNIC_FIRST_VALID_VECTOR && !host && !(v & HV_SYNIC_SINT_MASKED))
		return -EPERM;
	hvc->sint[i - HV_X64_MSR_SINT0] = v;
	return 0;
}

static int synic_write(struct hv_vcpu *hvc, const struct hv_env *env, uint32_t i, uint64_t v,
		       bool host)
{
	if (!hvc->synic_active && (!host || v))
		return -EPERM;
	switch (i) {
	case HV_X64_MSR_SCONTROL:
		hvc->synic_control = v;
		break;
	case HV_X64_MSR_SVERSION:
		if (!host)
			return -EPERM;
		hvc->synic_version = v;
		return 0;
	case HV_X64_MSR_SIEFP:
		if (synic_page(hvc, env, v, host))
			return -EPERM;
		hvc->synic_evt_page = v;
		break;
	case HV_X64_MSR_SIMP:
		if (synic_page(hvc, env, v, host))
			return -EPERM;
		hvc->synic_msg_page = v;
		break;
	case HV_X64_MSR_EOM:
		/* no message is ever pending, so nothing to acknowledge */
		return 0;
	default:
		if (!in(i, HV_X64_MSR_SINT0, HV_X64_MSR_SINT15))
			return -EPERM;
		return synic_sint(hvc, i, v, host);
	}
	/* synic_exit: the VMM learns of the guest's SynIC set-up */
	if (!host)
		hvc->synic_exit_msr = i;
	return 0;
}

/* stimer_set_config / stimer_set_count, without the timer itself */
static int stimer_write(struct hv_vcpu *hvc, uint32_t i, uint64_t v, bool host)
{
	unsigned t = (i - HV_X64_MSR_STIMER0_CONFIG) / 2;
	uint64_t *config = &hvc->stimer_config[t];

	if (!hvc->synic_active && (!host || v))
		return -EPERM;
	if (i & 1) {
		hvc->stimer_count[t] = v;
		if (!host && !v)
			*config &= ~HV_STIMER_ENABLE;
		else if (!host && (*config & HV_STIMER_AUTO_ENABLE))
			*config |= HV_STIMER_ENABLE;
		return 0;
	}
	if (!host && hvc->enforce && (v & HV_STIMER_DIRECT_MODE) &&
	    !(hvc->features_edx & HV_STIMER_DIRECT_MODE_AVAILABLE))
		return -EPERM;
	/* an enabled timer re-armed for message mode without a SINT is disabled */
	if ((*config & HV_STIMER_ENABLE) && !(v & HV_STIMER_DIRECT_MODE) && !HV_STIMER_SINTX(v))
		v &= ~HV_STIMER_ENABLE;
	*config = v;
	return 0;
}

static int vcpu_read(struct hv_vcpu *hvc, const struct hv_env *env, uint32_t i, uint64_t *v,
		     bool host)
{
	switch (i) {
	case HV_X64_MSR_VP_INDEX:
		*v = hvc->vp_index;
		return 0;
	case HV_X64_MSR_EOI:
		return env->apic_read ? env->apic_read(env->ctx, APIC_EOI, v) : -EPERM;
	case HV_X64_MSR_ICR:
		return env->apic_read ? env->apic_read(env->ctx, APIC_ICR, v) : -EPERM;
	case HV_X64_MSR_TPR:
		return env->apic_read ? env->apic_read(env->ctx, APIC_TASKPRI, v) : -EPERM;
	case HV_X64_MSR_VP_ASSIST_PAGE:
		*v = hvc->vp_assist;
		return 0;
	case HV_X64_MSR_VP_RUNTIME:
		*v = env->runtime_100ns(env->ctx) + hvc->runtime_offset;
		return 0;
	case HV_X64_MSR_TSC_FREQUENCY:
		*v = (uint64_t)env->tsc_khz * 1000;
		return 0;
	case HV_X64_MSR_APIC_FREQUENCY:
		*v = HV_APIC_BUS_FREQUENCY;
		return 0;
	default:
		break;
	}
	if (in(i, HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT)) {
		unsigned t = (i - HV_X64_MSR_STIMER0_CONFIG) / 2;

		*v = (i & 1) ? hvc->stimer_count[t] : hvc->stimer_config[t];
		return 0;
	}
	return synic_read(hvc, i, v, host);
}

static int vcpu_write(struct hv_vcpu *hvc, const struct hv_env *env, uint32_t i, uint64_t v,
		      bool host)
{
	uint32_t clear = 0;

	switch (i) {
	case HV_X64_MSR_VP_INDEX:
		if (!host || (uint32_t)v >= HV_KVM_MAX_VCPUS)
			return -EPERM;
		hvc->vp_index = (uint32_t)v;
		return 0;
	case HV_X64_MSR_VP_ASSIST_PAGE:
		/*
		 * Enabling clears the page's apic_assist word; the PV EOI it
		 * would also enable is not offered (the page only stores).
		 */
		if ((v & HV_X64_MSR_VP_ASSIST_PAGE_ENABLE) &&
		    env->write_gpa(env->ctx, v & ~0xfffULL, &clear, sizeof(clear)))
			return -EPERM;
		hvc->vp_assist = v;
		return 0;
	case HV_X64_MSR_EOI:
		return env->apic_write ? env->apic_write(env->ctx, APIC_EOI, v) : -EPERM;
	case HV_X64_MSR_ICR:
		return env->apic_write ? env->apic_write(env->ctx, APIC_ICR, v) : -EPERM;
	case HV_X64_MSR_TPR:
		return env->apic_write ? env->apic_write(env->ctx, APIC_TASKPRI, v) : -EPERM;
	case HV_X64_MSR_VP_RUNTIME:
		if (!host)
			return -EPERM;
		hvc->runtime_offset = (int64_t)(v - env->runtime_100ns(env->ctx));
		return 0;
	case HV_X64_MSR_TSC_FREQUENCY:
	case HV_X64_MSR_APIC_FREQUENCY:
		/* read-only, but KVM ignores the host's writes */
		return host ? 0 : -EPERM;
	default:
		break;
	}
	if (in(i, HV_X64_MSR_STIMER0_CONFIG, HV_X64_MSR_STIMER3_COUNT))
		return stimer_write(hvc, i, v, host);
	return synic_write(hvc, env, i, v, host);
}

int hv_msr_read(struct hv_vm *hv, struct hv_vcpu *hvc, const struct hv_env *env,
		uint32_t index, uint64_t *val, bool host)
{
	int r;

	if (!hv_msr_is(index))
		return -ENOENT;
	if (!host && (!hvc->enabled || !access_ok(hvc, index)))
		return -EPERM;
	if (!partition_wide(index))
		return vcpu_read(hvc, env, index, val, host);
	pthread_mutex_lock(&hv->lock);
	r = pw_read(hv, hvc, env, index, val, host);
	pthread_mutex_unlock(&hv->lock);
	return r;
}

int hv_msr_write(struct hv_vm *hv, struct hv_vcpu *hvc, const struct hv_env *env,
		 uint32_t index, uint64_t val, bool host)
{
	int r;

	if (!hv_msr_is(index))
		return -ENOENT;
	if (!host && (!hvc->enabled || !access_ok(hvc, index)))
		return -EPERM;
	if (!partition_wide(index))
		return vcpu_write(hvc, env, index, val, host);
	pthread_mutex_lock(&hv->lock);
	r = pw_write(hv, hvc, env, index, val, host);
	pthread_mutex_unlock(&hv->lock);
	return r;
}
