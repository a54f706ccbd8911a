/* SPDX-License-Identifier: MIT */
/* vCPU state ioctls without irqchip: rules as Linux 6.1 arch/x86/kvm/x86.c */
#include <errno.h>
#include <string.h>
#include "cused/kvm/vcpu_state.h"
#include "cused/kvm/vcpu.h"
#include "cused/x86/cpuid.h"
#include "cused/util/log.h"

#define EV_FLAGS_6_1 (KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR | \
		      KVM_VCPUEVENT_VALID_SHADOW | KVM_VCPUEVENT_VALID_SMM | \
		      KVM_VCPUEVENT_VALID_PAYLOAD | KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
#define NMI_VECTOR 2

/* XSAVE components with rules of their own in __kvm_set_xcr */
#define XF_FP      (1ULL << 0)
#define XF_SSE     (1ULL << 1)
#define XF_YMM     (1ULL << 2)
#define XF_BNDREGS (1ULL << 3)
#define XF_BNDCSR  (1ULL << 4)
#define XF_AVX512  (7ULL << 5)
#define XF_XTILE   (3ULL << 17)

int vcpu_events_check(struct kvm_vcpu_events *e, bool payload_enabled)
{
	if (e->flags & ~EV_FLAGS_6_1)
		return refuse(-EINVAL, "KVM_SET_VCPU_EVENTS: unknown flags %#x", e->flags);
	if (e->flags & KVM_VCPUEVENT_VALID_PAYLOAD) {
		if (!payload_enabled)
			return refuse(-EINVAL, "KVM_SET_VCPU_EVENTS: payload without "
				      "KVM_CAP_EXCEPTION_PAYLOAD");
		if (e->exception.pending)
			e->exception.injected = 0;
		else
			e->exception_has_payload = 0;
	} else {
		e->exception.pending = 0;
		e->exception_has_payload = 0;
	}
	if ((e->exception.injected || e->exception.pending) &&
	    (e->exception.nr > 31 || e->exception.nr == NMI_VECTOR))
		return refuse(-EINVAL, "KVM_SET_VCPU_EVENTS: exception vector %u",
			      e->exception.nr);
	/* as a KVM built without SMM support (6.2+ CONFIG_KVM_SMM=n) */
	if ((e->flags & KVM_VCPUEVENT_VALID_SMM) &&
	    (e->smi.smm || e->smi.pending || e->smi.smm_inside_nmi))
		return refuse(-EINVAL, "KVM_SET_VCPU_EVENTS: cused has no SMM");
	/* KVM_CAP_X86_TRIPLE_FAULT_EVENT is not offered, so never enabled */
	if (e->flags & KVM_VCPUEVENT_VALID_TRIPLE_FAULT)
		return refuse(-EINVAL, "KVM_SET_VCPU_EVENTS: triple-fault event not enabled");
	return 0;
}

int vcpu_debugregs_check(const struct kvm_debugregs *d)
{
	if (d->flags)
		return refuse(-EINVAL, "KVM_SET_DEBUGREGS: flags %#llx",
			      (unsigned long long)d->flags);
	if (d->dr6 >> 32 || d->dr7 >> 32)
		return refuse(-EINVAL, "KVM_SET_DEBUGREGS: dr6 %#llx / dr7 %#llx above 32 bits",
			      (unsigned long long)d->dr6, (unsigned long long)d->dr7);
	return 0;
}

int vcpu_xcr0_check(uint64_t xcr0, uint64_t guest_xcr0)
{
	if (!(xcr0 & XF_FP))
		return -EINVAL;
	if ((xcr0 & XF_YMM) && !(xcr0 & XF_SSE))
		return -EINVAL;
	if (xcr0 & ~(guest_xcr0 | XF_FP))
		return -EINVAL;
	if (!(xcr0 & XF_BNDREGS) != !(xcr0 & XF_BNDCSR))
		return -EINVAL;
	if (xcr0 & XF_AVX512) {
		if (!(xcr0 & XF_YMM) || (xcr0 & XF_AVX512) != XF_AVX512)
			return -EINVAL;
	}
	if ((xcr0 & XF_XTILE) && (xcr0 & XF_XTILE) != XF_XTILE)
		return -EINVAL;
	return 0;
}

int vcpu_xcrs_check(const struct kvm_xcrs *x, uint64_t guest_xcr0, bool *set, uint64_t *xcr0)
{
	*set = false;
	if (x->nr_xcrs > KVM_MAX_XCRS || x->flags)
		return refuse(-EINVAL, "KVM_SET_XCRS: nr_xcrs %u flags %#x", x->nr_xcrs, x->flags);
	for (unsigned i = 0; i < x->nr_xcrs; i++) {
		if (x->xcrs[i].xcr != 0)
			continue;
		if (vcpu_xcr0_check(x->xcrs[i].value, guest_xcr0))
			return refuse(-EINVAL, "KVM_SET_XCRS: XCR0 %#llx not allowed (guest %#llx)",
				      (unsigned long long)x->xcrs[i].value,
				      (unsigned long long)guest_xcr0);
		*set = true;
		*xcr0 = x->xcrs[i].value;
		break;
	}
	return 0;
}

int vcpu_xsave_check(const struct kvm_xsave *x, uint64_t allowed, uint32_t mxcsr_mask)
{
	const uint8_t *p = (const uint8_t *)x->region;
	uint64_t bv, comp, rsvd[6];
	uint32_t mxcsr;

	memcpy(&bv, p + 512, 8);
	memcpy(&comp, p + 520, 8);
	memcpy(rsvd, p + 528, sizeof(rsvd));
	memcpy(&mxcsr, p + 24, 4);
	if (bv & ~(allowed | VCPU_XFEATURE_FPSSE))
		return refuse(-EINVAL, "KVM_SET_XSAVE: XSTATE_BV %#llx beyond %#llx",
			      (unsigned long long)bv, (unsigned long long)allowed);
	if (comp)
		return refuse(-EINVAL, "KVM_SET_XSAVE: XCOMP_BV %#llx (compacted format)",
			      (unsigned long long)comp);
	for (unsigned i = 0; i < 6; i++)
		if (rsvd[i])
			return refuse(-EINVAL, "KVM_SET_XSAVE: reserved header bytes set");
	if ((bv & (XF_FP | XF_SSE | XF_YMM)) && (mxcsr & ~mxcsr_mask))
		return refuse(-EINVAL, "KVM_SET_XSAVE: MXCSR %#x has reserved bits", mxcsr);
	return 0;
}

int vcpu_mce_check(uint64_t mcg_cap)
{
	unsigned banks = mcg_cap & 0xff;

	if (!banks || banks > VCPU_MAX_MCE_BANKS)
		return refuse(-EINVAL, "KVM_X86_SETUP_MCE: %u banks", banks);
	if (mcg_cap & ~(VCPU_MCE_CAP_SUPPORTED | 0xff | 0xff0000))
		return refuse(-EINVAL, "KVM_X86_SETUP_MCE: unsupported MCG_CAP bits %#llx",
			      (unsigned long long)mcg_cap);
	return 0;
}

static uint64_t xd0(const struct kvm_cpuid2 *c)
{
	const struct kvm_cpuid_entry2 *e = c ? cpuid_find(c, 0xd, 0) : NULL;

	return e ? (e->eax | (uint64_t)e->edx << 32) : 0;
}

uint64_t vcpu_guest_xcr0(const struct kvm_cpuid2 *guest, const struct kvm_cpuid2 *supported)
{
	return (xd0(guest) & xd0(supported)) | XF_FP;
}

/* the CPU's MXCSR_MASK as FXSAVE reports it (0 means the 0xffbf default) */
static uint32_t host_mxcsr_mask(void)
{
	uint8_t fx[512] __attribute__((aligned(16)));
	uint32_t m;

	memset(fx, 0, sizeof(fx));
	__asm__ volatile("fxsave %0" : "=m"(fx));
	memcpy(&m, fx + 28, 4);
	return m ? m : 0xffbf;
}

/* ------------------------------------------------------------------ ioctls */

static long no_op(const struct vcpu *v, const char *what)
{
	/* the capability says 0 for this backend: behave like a KVM without it */
	return refuse(-EINVAL, "%s: backend %s does not provide it", what, v->vm->ctx->ops->name);
}

static long get_events(struct vcpu *v, struct ioctl_req *rq)
{
	struct kvm_vcpu_events *e = req_out(rq, sizeof(*e));
	const struct tramp_ops *ops = v->vm->ctx->ops;
	int r;

	if (!e)
		return -EFAULT;
	if (!ops->get_events)
		return no_op(v, "KVM_GET_VCPU_EVENTS");
	memset(e, 0, sizeof(*e));
	r = ops->get_events(v->tv, e);
	if (r)
		return refuse(r, "KVM_GET_VCPU_EVENTS: backend: %d", r);
	/* 6.1 reports these three always (no SIPI vector: no in-kernel LAPIC) */
	e->flags &= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM | KVM_VCPUEVENT_VALID_PAYLOAD;
	e->flags |= KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		    KVM_VCPUEVENT_VALID_SMM;
	/* 6.1 reports whether NMIs are pending, not how many (later kernels count) */
	e->nmi.pending = !!e->nmi.pending;
	return 0;
}

static long set_events(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_vcpu_events *in = req_in(rq, sizeof(*in));
	const struct tramp_ops *ops = v->vm->ctx->ops;
	struct kvm_vcpu_events e;
	bool payload;
	int r;

	if (!in)
		return -EFAULT;
	if (!ops->set_events)
		return no_op(v, "KVM_SET_VCPU_EVENTS");
	e = *in;
	pthread_mutex_lock(&v->vm->lock);
	payload = v->vm->misc.exception_payload;
	pthread_mutex_unlock(&v->vm->lock);
	r = vcpu_events_check(&e, payload);
	if (r)
		return r;
	/* the SIPI vector belongs to an in-kernel LAPIC, which there is not */
	e.flags &= ~KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	return ops->set_events(v->tv, &e);
}

static long get_debugregs(struct vcpu *v, struct ioctl_req *rq)
{
	struct kvm_debugregs *d = req_out(rq, sizeof(*d));
	struct cused_field_val f[6] = {
		{ .id = CUSED_F_DR0 }, { .id = CUSED_F_DR1 }, { .id = CUSED_F_DR2 },
		{ .id = CUSED_F_DR3 }, { .id = CUSED_F_DR6 }, { .id = CUSED_F_DR7 },
	};
	int r;

	if (!d)
		return -EFAULT;
	r = v->vm->ctx->ops->read_fields(v->tv, f, 6);
	if (r)
		return refuse(r, "KVM_GET_DEBUGREGS: backend: %d", r);
	memset(d, 0, sizeof(*d));
	for (int i = 0; i < 4; i++)
		d->db[i] = f[i].val;
	d->dr6 = f[4].val;
	d->dr7 = f[5].val;
	return 0;
}

static long set_debugregs(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_debugregs *d = req_in(rq, sizeof(*d));
	struct cused_field_val f[6];
	int r;

	if (!d)
		return -EFAULT;
	r = vcpu_debugregs_check(d);
	if (r)
		return r;
	for (int i = 0; i < 4; i++)
		f[i] = (struct cused_field_val){ .id = CUSED_F_DR0 + i, .val = d->db[i] };
	f[4] = (struct cused_field_val){ .id = CUSED_F_DR6, .val = d->dr6 };
	f[5] = (struct cused_field_val){ .id = CUSED_F_DR7, .val = d->dr7 };
	return v->vm->ctx->ops->write_fields(v->tv, f, 6);
}

static long get_xcrs(struct vcpu *v, struct ioctl_req *rq)
{
	struct kvm_xcrs *x = req_out(rq, sizeof(*x));
	uint64_t xcr0;
	int r;

	if (!x)
		return -EFAULT;
	r = vcpu_read_field(v, CUSED_F_XCR0, &xcr0);
	if (r)
		return refuse(r, "KVM_GET_XCRS: backend: %d", r);
	memset(x, 0, sizeof(*x));
	x->nr_xcrs = 1;
	x->xcrs[0].xcr = 0;
	x->xcrs[0].value = xcr0;
	return 0;
}

static long set_xcrs(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_xcrs *x = req_in(rq, sizeof(*x));
	uint64_t xcr0 = 0;
	bool set;
	int r;

	if (!x)
		return -EFAULT;
	r = vcpu_xcrs_check(x, vcpu_guest_xcr0(v->cpuid, v->vm->ctx->supported_cpuid),
			    &set, &xcr0);
	if (r || !set)
		return r;
	return vcpu_write_field(v, CUSED_F_XCR0, xcr0);
}

static long get_xsave(struct vcpu *v, struct ioctl_req *rq)
{
	struct kvm_xsave *x = req_out(rq, sizeof(*x));
	const struct tramp_ops *ops = v->vm->ctx->ops;

	if (!x)
		return -EFAULT;
	if (!ops->get_xsave)
		return no_op(v, "KVM_GET_XSAVE");
	memset(x, 0, sizeof(*x));
	return ops->get_xsave(v->tv, x);
}

static long set_xsave(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_xsave *x = req_in(rq, sizeof(*x));
	const struct tramp_ops *ops = v->vm->ctx->ops;
	/* before KVM_SET_CPUID2 the guest may have every component offered */
	uint64_t allowed = v->cpuid ? vcpu_guest_xcr0(v->cpuid, v->vm->ctx->supported_cpuid) :
			   vcpu_guest_xcr0(v->vm->ctx->supported_cpuid,
					   v->vm->ctx->supported_cpuid);
	int r;

	if (!x)
		return -EFAULT;
	if (!ops->set_xsave)
		return no_op(v, "KVM_SET_XSAVE");
	r = vcpu_xsave_check(x, allowed, host_mxcsr_mask());
	if (r)
		return r;
	return ops->set_xsave(v->tv, x);
}

static long enable_cap(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_enable_cap *c = req_in(rq, sizeof(*c));

	if (!c)
		return -EFAULT;
	if (c->flags)
		return refuse(-EINVAL, "vCPU KVM_ENABLE_CAP: flags %#x", c->flags);
	switch (c->cap) {
	case KVM_CAP_HYPERV_SYNIC2:
		if (c->args[0])
			return refuse(-EINVAL, "KVM_CAP_HYPERV_SYNIC2: args[0] %#llx",
				      (unsigned long long)c->args[0]);
		/* fall through */
	case KVM_CAP_HYPERV_SYNIC:
		/* SynIC MSRs as storage only (cused/x86/hyperv_msr.h): not in CHECK_EXTENSION */
		if (!v->irq)
			return refuse(-EINVAL, "KVM_CAP_HYPERV_SYNIC: needs an in-kernel irqchip");
		hv_vcpu_activate_synic(&v->hv, c->cap == KVM_CAP_HYPERV_SYNIC2);
		return 0;
	case KVM_CAP_HYPERV_ENLIGHTENED_VMCS:
	case KVM_CAP_HYPERV_DIRECT_TLBFLUSH:
		/* as KVM when the vendor module lacks the hook (SVM for eVMCS) */
		return refuse(-ENOTTY, "vCPU KVM_ENABLE_CAP %u: no nested Hyper-V support", c->cap);
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
		/* the Hyper-V MSRs check it on each access (cused/x86/hyperv_msr.c) */
		v->misc.hv_cpuid_enforce = !!c->args[0];
		return 0;
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID: {
		/* the PV MSRs are the daemon's (msr.c), the hypercalls the backend's */
		const struct tramp_ops *ops = v->vm->ctx->ops;
		int r = ops->vcpu_enable_cap ? ops->vcpu_enable_cap(v->tv, c) : 0;

		if (r)
			return r;
		v->misc.pv_cpuid_enforce = !!c->args[0];
		return 0;
	}
	default:
		return refuse(-EINVAL, "vCPU KVM_ENABLE_CAP: capability %u cannot be enabled",
			      c->cap);
	}
}

long vcpu_state_mce_cap_supported(struct ioctl_req *rq)
{
	uint64_t *out = req_out(rq, sizeof(*out));

	if (!out)
		return -EFAULT;
	*out = VCPU_MCE_CAP_SUPPORTED;
	return 0;
}

long vcpu_state_ioctl(struct vcpu *v, struct ioctl_req *rq)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;

	switch (rq->cmd) {
	case KVM_GET_VCPU_EVENTS:
		return get_events(v, rq);
	case KVM_SET_VCPU_EVENTS:
		return set_events(v, rq);
	case KVM_NMI:
		return ops->inject_nmi ? ops->inject_nmi(v->tv) : no_op(v, "KVM_NMI");
	case KVM_GET_DEBUGREGS:
		return get_debugregs(v, rq);
	case KVM_SET_DEBUGREGS:
		return set_debugregs(v, rq);
	case KVM_GET_XCRS:
		return get_xcrs(v, rq);
	case KVM_SET_XCRS:
		return set_xcrs(v, rq);
	case KVM_GET_XSAVE:
	case KVM_GET_XSAVE2:
		/* KVM_CAP_XSAVE2 is 4096: no dynamic (AMX) state is offered */
		return get_xsave(v, rq);
	case KVM_SET_XSAVE:
		return set_xsave(v, rq);
	case KVM_GET_TSC_KHZ:
		return ops->get_tsc_khz ? ops->get_tsc_khz(v->tv) : no_op(v, "KVM_GET_TSC_KHZ");
	case KVM_SET_TSC_KHZ:
		/* KVM takes the low 32 bits of the argument */
		return ops->set_tsc_khz ? ops->set_tsc_khz(v->tv, (uint32_t)rq->arg) :
					  no_op(v, "KVM_SET_TSC_KHZ");
	case KVM_KVMCLOCK_CTRL:
		return kvmclock_ctrl(v);
	case KVM_X86_SETUP_MCE: {
		const uint64_t *cap = req_in(rq, sizeof(*cap));
		int r;

		if (!cap)
			return -EFAULT;
		r = vcpu_mce_check(*cap);
		if (!r)
			msr_file_setup_mce(&v->msrs, *cap);
		return r;
	}
	case KVM_X86_SET_MCE: {
		const struct kvm_x86_mce *m = req_in(rq, sizeof(*m));

		return m ? vcpu_set_mce(v, m) : -EFAULT;
	}
	case KVM_ENABLE_CAP:
		return enable_cap(v, rq);
	default:
		return refuse(-EINVAL, "vCPU ioctl %#x not implemented", rq->cmd);
	}
}
