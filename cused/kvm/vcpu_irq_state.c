/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip (vcpu_irq.h): INIT/SIPI
 * (kvm_apic_accept_events, kvm_vcpu_reset, kvm_vcpu_deliver_sipi_vector),
 * the LAPIC's clock and CPUID-dependent caps, and the vCPU ioctls that
 * change with an in-kernel LAPIC (x86.c kvm_arch_vcpu_ioctl).
 */
#include <errno.h>
#include <time.h>
#include <x86intrin.h>
#include "cused/kvm/vcpu_irq.h"
#include "cused/kvm/vcpu_irq_priv.h"
#include "cused/irq/lapic.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"
#include "cused/util/log.h"

/*
 * The host TSC rate, measured once per daemon against CLOCK_MONOTONIC (guest
 * TSCs run at it on both backends: hostkvm and kmod only offset them).
 */
static uint32_t tsc_khz(void)
{
	static uint32_t khz;   /* a constant of the machine, computed once */
	uint32_t k = __atomic_load_n(&khz, __ATOMIC_RELAXED);

	if (!k) {
		struct timespec d = { 0, 5000000 };
		uint64_t t0 = timerq_now_ns(), c0 = __rdtsc(), t1, c1;

		nanosleep(&d, NULL);
		t1 = timerq_now_ns();
		c1 = __rdtsc();
		k = (uint32_t)((c1 - c0) * 1000000ull / (t1 - t0));
		__atomic_store_n(&khz, k ? k : 1, __ATOMIC_RELAXED);
	}
	return k;
}

/* the guest TSC now, on the LAPIC's clock (TSC-deadline mode) */
void vi_tsc_clock_refresh(struct vcpu *v)
{
	uint64_t tsc;

	if (!vcpu_read_field(v, CUSED_F_TSC, &tsc))
		lapic_set_tsc_clock(v->irq->lapic, tsc_khz(), timerq_now_ns(), tsc);
}

static struct lapic_caps caps_from_cpuid(const struct kvm_cpuid2 *c)
{
	return (struct lapic_caps){
		.x2apic = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_X2APIC),
		.tsc_deadline = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_TSC_DEADLINE),
		.maxphyaddr = (uint8_t)cpuid_maxphyaddr(c),
	};
}

/* kvm_vcpu_reset(vcpu, init_event=true): the architectural INIT state */
static int init_reset(struct vcpu *v)
{
	struct cused_field_val f[64];
	unsigned n = 0;
	uint64_t cr0 = 0, edx = 0x600;
	const struct kvm_cpuid_entry2 *e = v->cpuid ? cpuid_find(v->cpuid, 1, 0) : NULL;

	vcpu_read_field(v, CUSED_F_CR0, &cr0);
	if (e)
		edx = e->eax;
#define F(i, x) f[n++] = (struct cused_field_val){ .id = (i), .val = (x) }
	for (unsigned r = CUSED_F_RAX; r < CUSED_F_RIP; r++)
		F(r, r == CUSED_F_RDX ? edx : 0);
	F(CUSED_F_RIP, 0xfff0);
	F(CUSED_F_RFLAGS, 2);
	for (unsigned s = 0; s < CUSED_SEG_NR; s++) {
		bool cs = s == CUSED_SEG_CS;

		F(CUSED_F_SEG(s, CUSED_SEGP_SEL), cs ? 0xf000 : 0);
		F(CUSED_F_SEG(s, CUSED_SEGP_BASE), cs ? 0xffff0000 : 0);
		F(CUSED_F_SEG(s, CUSED_SEGP_LIMIT), 0xffff);
		F(CUSED_F_SEG(s, CUSED_SEGP_ATTR), cs ? 0x9b : s == CUSED_SEG_LDTR ? 0x82 :
						   s == CUSED_SEG_TR ? 0x8b : 0x93);
	}
	F(CUSED_F_GDTR_BASE, 0);
	F(CUSED_F_GDTR_LIMIT, 0xffff);
	F(CUSED_F_IDTR_BASE, 0);
	F(CUSED_F_IDTR_LIMIT, 0xffff);
	F(CUSED_F_EFER, 0);
	F(CUSED_F_CR4, 0);
	/* INIT keeps CD and NW */
	F(CUSED_F_CR0, 0x10 | (cr0 & 0x60000000));
	F(CUSED_F_CR3, 0);
	F(CUSED_F_CR2, 0);
	F(CUSED_F_DR6, 0xffff0ff0);
	F(CUSED_F_DR7, 0x400);
	F(CUSED_F_PENDING_IRQ, 0);
	F(CUSED_F_INTERRUPTIBILITY, 0);
#undef F
	v->irq->nmis = 0;
	v->irq->cr8 = v->irq->cr8_seen = 0;
	return v->vm->ctx->ops->write_fields(v->tv, f, n);
}

/* kvm_vcpu_deliver_sipi_vector */
static int sipi_load(struct vcpu *v, int vector)
{
	struct cused_field_val f[] = {
		{ .id = CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_SEL), .val = (uint64_t)vector << 8 },
		{ .id = CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_BASE), .val = (uint64_t)vector << 12 },
		{ .id = CUSED_F_RIP, .val = 0 },
	};

	return v->vm->ctx->ops->write_fields(v->tv, f, 3);
}

int vi_accept_events(struct vcpu *v)
{
	struct vcpu_irq *vi = v->irq;
	int sipi = 0, r = 0;
	unsigned ev = lapic_accept_events(vi->lapic, &vi->mp_state, &sipi);

	if (ev & LAPIC_EV_INIT)
		r = init_reset(v);
	if (!r && (ev & LAPIC_EV_SIPI))
		r = sipi_load(v, sipi);
	if (r)
		log_warn("vcpu %u: INIT/SIPI state load failed: %d", v->id, r);
	return r;
}

void vcpu_irq_cpuid_changed(struct vcpu *v)
{
	if (v->irq) {
		struct lapic_caps c = caps_from_cpuid(v->cpuid);

		/* KVM offers directed EOI only to x2APIC guests of a split irqchip */
		c.directed_eoi = c.x2apic && irqchip_mode(chip_of(v)) == IRQCHIP_SPLIT;
		lapic_set_caps(v->irq->lapic, &c);
	}
}

void vcpu_irq_sregs_get(struct vcpu *v, struct kvm_sregs *s)
{
	if (!v->irq)
		return;
	s->apic_base = lapic_get_base(v->irq->lapic);
	s->cr8 = lapic_get_cr8(v->irq->lapic);
}

int vcpu_irq_sregs_set(struct vcpu *v, const struct kvm_sregs *s)
{
	if (!v->irq)
		return 0;
	/* __set_sregs: kvm_set_apic_base(host_initiated) fails the ioctl with EINVAL */
	if (lapic_set_base(v->irq->lapic, s->apic_base, true))
		return refuse(-EINVAL, "KVM_SET_SREGS: apic_base %#llx refused",
			      (unsigned long long)s->apic_base);
	lapic_set_cr8(v->irq->lapic, s->cr8);
	v->irq->cr8 = s->cr8;   /* the caller loads it into the backend */
	return 0;
}

static long mp_state_ioctl(struct vcpu *v, struct ioctl_req *rq)
{
	struct vcpu_irq *vi = v->irq;

	if (rq->cmd == KVM_GET_MP_STATE) {
		struct kvm_mp_state *mp = req_out(rq, sizeof(*mp));

		if (!mp)
			return -EFAULT;
		vi_accept_events(v);
		mp->mp_state = vi->mp_state;
		return 0;
	} else {
		const struct kvm_mp_state *mp = req_in(rq, sizeof(*mp));

		if (!mp)
			return -EFAULT;
		/* kvm_arch_vcpu_ioctl_set_mpstate: the states an x86 LAPIC knows */
		switch (mp->mp_state) {
		case KVM_MP_STATE_RUNNABLE:
		case KVM_MP_STATE_UNINITIALIZED:
		case KVM_MP_STATE_HALTED:
		case KVM_MP_STATE_AP_RESET_HOLD:
		case KVM_MP_STATE_INIT_RECEIVED:
		case KVM_MP_STATE_SIPI_RECEIVED:
			break;
		default:
			return refuse(-EINVAL, "KVM_SET_MP_STATE: state %u", mp->mp_state);
		}
		if (mp->mp_state == KVM_MP_STATE_SIPI_RECEIVED) {
			vi->mp_state = KVM_MP_STATE_INIT_RECEIVED;
			lapic_set_sipi_pending(vi->lapic);
		} else {
			vi->mp_state = mp->mp_state;
		}
		return 0;
	}
}

bool vcpu_irq_ioctl(struct vcpu *v, struct ioctl_req *rq, long *ret)
{
	struct vcpu_irq *vi = v->irq;

	switch (rq->cmd) {
	case KVM_GET_LAPIC: {
		struct kvm_lapic_state *s = req_out(rq, sizeof(*s));

		if (!vi)
			*ret = refuse(-EINVAL, "KVM_GET_LAPIC: no in-kernel LAPIC");
		else
			*ret = s ? lapic_get_state(vi->lapic, s) : -EFAULT;
		return true;
	}
	case KVM_SET_LAPIC: {
		const struct kvm_lapic_state *s = req_in(rq, sizeof(*s));

		if (!vi)
			*ret = refuse(-EINVAL, "KVM_SET_LAPIC: no in-kernel LAPIC");
		else
			*ret = s ? lapic_set_state(vi->lapic, s) : -EFAULT;
		return true;
	}
	case KVM_GET_MP_STATE:
	case KVM_SET_MP_STATE:
		if (!vi)
			return false;
		*ret = mp_state_ioctl(v, rq);
		return true;
	case KVM_INTERRUPT: {
		const struct kvm_interrupt *irq = req_in(rq, sizeof(*irq));

		if (!vi)
			return false;
		if (!irq)
			*ret = -EFAULT;
		else if (irq->irq >= KVM_NR_INTERRUPTS)
			*ret = refuse(-EINVAL, "KVM_INTERRUPT: vector %u out of range", irq->irq);
		else if (irqchip_mode(chip_of(v)) == IRQCHIP_KERNEL)
			*ret = refuse(-ENXIO, "KVM_INTERRUPT with an in-kernel PIC");
		else if (vi->ext_vector >= 0)
			*ret = refuse(-EEXIST, "KVM_INTERRUPT: an ExtINT is already pending");
		else {
			vi->ext_vector = (int)irq->irq;
			*ret = 0;
		}
		return true;
	}
	default:
		return false;
	}
}
