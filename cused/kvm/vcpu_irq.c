/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip (vcpu_irq.h), following Linux 6.1
 * arch/x86/kvm/x86.c vcpu_enter_guest / vcpu_block / inject_pending_event
 * and lapic.c kvm_apic_accept_events.
 *
 * Waking the runner.  Posters (IPIs, IOAPIC, MSI, timer) OR into the
 * LAPIC's posted IRR and then kick (irqchip_vcpu_kick): wake_seq++ under
 * wlock and, if the runner said it is about to enter or is in the guest
 * (in_guest), the backend kick.  The runner stores in_guest before it
 * folds the posted IRR (lapic_sync), so either it sees the post or the
 * poster sees in_guest (KVM's vcpu->mode = IN_GUEST_MODE before the
 * request check).  Sleeps snapshot wake_seq before looking for events.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <x86intrin.h>
#include "cused/kvm/vcpu_irq.h"
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_mmio.h"
#include "cused/irq/irqchip.h"
#include "cused/irq/lapic.h"
#include "cused/irq/ioapic.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"
#include "cused/util/log.h"

/* a sleeping runner re-checks its flags this often even unwoken: a missed wake-up costs 50 ms, not a wedge */
#define SLEEP_POLL_NS 50000000ull

struct vcpu_irq {
	struct irqchip_vcpu *iv;
	struct lapic *lapic;
	/* runner only, under vcpu->lock */
	uint32_t mp_state;          /* KVM_MP_STATE_* */
	bool irq_ready;             /* last exit: an interrupt may be injected now */
	bool if_flag;               /* last exit: RFLAGS.IF */
	bool window;                /* we asked the backend for an interrupt window */
	unsigned nmis;              /* NMIs taken from the LAPIC, not yet injected */
	uint64_t cr8;               /* CR8 we last loaded into the backend */
	uint64_t cr8_seen;          /* CR8 the backend reported at the last exit */
	int ext_vector;             /* split irqchip: KVM_INTERRUPT's pending ExtINT, -1 none */
	/* any thread */
	atomic_bool in_guest;
};

static struct irqchip *chip_of(struct vcpu *v)
{
	return v->vm->irqchip;
}

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
static void tsc_clock_refresh(struct vcpu *v)
{
	uint64_t tsc;

	if (!vcpu_read_field(v, CUSED_F_TSC, &tsc))
		lapic_set_tsc_clock(v->irq->lapic, tsc_khz(), timerq_now_ns(), tsc);
}

static void guest_kick(void *ctx)
{
	struct vcpu *v = ctx;

	if (atomic_load(&v->irq->in_guest))
		v->vm->ctx->ops->kick(v->tv);
}

static struct lapic_caps caps_from_cpuid(const struct kvm_cpuid2 *c)
{
	return (struct lapic_caps){
		.x2apic = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_X2APIC),
		.tsc_deadline = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_TSC_DEADLINE),
		.maxphyaddr = (uint8_t)cpuid_maxphyaddr(c),
	};
}

int vcpu_irq_create(struct vcpu *v)
{
	struct irqchip *c = chip_of(v);
	struct vcpu_irq *vi;
	int r;

	if (!c || irqchip_mode(c) == IRQCHIP_NONE)
		return 0;
	vi = calloc(1, sizeof(*vi));
	if (!vi)
		return -ENOMEM;
	v->irq = vi;   /* guest_kick may run as soon as we attach */
	r = irqchip_attach_vcpu(c, v->id, guest_kick, v, &vi->iv);
	if (r) {
		v->irq = NULL;
		free(vi);
		return refuse(r, "KVM_CREATE_VCPU: no LAPIC for vCPU %u: %d", v->id, r);
	}
	vi->lapic = vi->iv->lapic;
	vi->ext_vector = -1;
	/* kvm_arch_vcpu_create: APs wait for INIT */
	vi->mp_state = v->id == c->bsp_id ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
	lapic_set_caps(vi->lapic, &(struct lapic_caps){ .maxphyaddr = 36 });
	tsc_clock_refresh(v);
	return 0;
}

void vcpu_irq_destroy(struct vcpu *v)
{
	if (!v->irq)
		return;
	irqchip_detach_vcpu(v->irq->iv);
	free(v->irq);
	v->irq = NULL;
}

void vcpu_irq_run_start(struct vcpu *v)
{
	if (v->irq)
		v->irq->irq_ready = false;
}

void vcpu_irq_wake(struct vcpu *v)
{
	if (v->irq)
		irqchip_vcpu_kick(v->irq->iv);
}

static uint64_t wake_seq(struct irqchip_vcpu *iv)
{
	uint64_t s;

	pthread_mutex_lock(&iv->wlock);
	s = iv->wake_seq;
	pthread_mutex_unlock(&iv->wlock);
	return s;
}

/* vcpu_block: until a kick after seq, the client's kick, or dying */
static void sleep_since(struct vcpu *v, uint64_t seq)
{
	struct irqchip_vcpu *iv = v->irq->iv;

	atomic_store(&v->irq->in_guest, false);
	pthread_mutex_lock(&iv->wlock);
	while (iv->wake_seq == seq && !atomic_load(&v->kicked) && !atomic_load(&v->dying) &&
	       !v->run->immediate_exit) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += SLEEP_POLL_NS;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&iv->wcond, &iv->wlock, &ts);
	}
	pthread_mutex_unlock(&iv->wlock);
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

static int accept_events(struct vcpu *v)
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

static bool pic_for_me(struct vcpu *v)
{
	return irqchip_pic_has_intr(chip_of(v)) && lapic_accept_pic_intr(v->irq->lapic);
}

/* kvm_vcpu_has_events for a halted vCPU */
static bool has_wake_event(struct vcpu *v)
{
	struct vcpu_irq *vi = v->irq;

	if (vi->nmis || lapic_has_pending_init_or_sipi(vi->lapic))
		return true;
	if (!vi->if_flag)
		return false;
	return pic_for_me(v) || vi->ext_vector >= 0 || lapic_pending_intr(vi->lapic) >= 0;
}

/* inject_pending_event: NMI first, then ExtINT, then the LAPIC's vector */
static int inject(struct vcpu *v)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	struct vcpu_irq *vi = v->irq;
	bool want = false, ext = false;
	int vec = -1, r;

	if (vi->nmis && !ops->inject_nmi) {
		/* a backend without NMI injection (kmod): drop them, or HLT would never sleep */
		log_debug("vcpu %u: backend %s cannot inject NMIs; %u dropped", v->id, ops->name,
			  vi->nmis);
		vi->nmis = 0;
	}
	if (vi->nmis && !ops->inject_nmi(v->tv))
		vi->nmis--;
	if (vi->ext_vector >= 0 || pic_for_me(v))
		ext = true;
	else
		vec = lapic_pending_intr(vi->lapic);
	if (ext || vec >= 0) {
		if (vi->irq_ready) {
			if (ext && vi->ext_vector >= 0) {
				vec = vi->ext_vector;
				vi->ext_vector = -1;
			} else if (ext) {
				vec = irqchip_pic_intack(chip_of(v));
			}
			r = ops->inject_irq(v->tv, (uint32_t)vec);
			if (r)
				return refuse(r, "vcpu %u: backend could not inject vector %d: %d",
					      v->id, vec, r);
			if (!ext)
				lapic_intr_accepted(vi->lapic, vec);
			vi->irq_ready = false;
		} else {
			want = true;
		}
	}
	/* the split irqchip's VMM asks for its own window (ExtINT through KVM_INTERRUPT) */
	if (irqchip_mode(chip_of(v)) == IRQCHIP_SPLIT && v->run->request_interrupt_window)
		want = true;
	if (want != vi->window) {
		vi->window = want;
		ops->request_irq_window(v->tv, want);
	}
	return 0;
}

int vcpu_irq_enter(struct vcpu *v)
{
	struct vcpu_irq *vi = v->irq;
	uint64_t seq, cr8;
	int r;

	if (!vi)
		return 0;
	seq = wake_seq(vi->iv);
	atomic_store(&vi->in_guest, true);
	r = accept_events(v);
	if (r) {
		atomic_store(&vi->in_guest, false);
		return r;
	}
	if (vi->mp_state == KVM_MP_STATE_UNINITIALIZED) {
		/* kvm_arch_vcpu_ioctl_run: block once, accept events, -EAGAIN */
		if (!lapic_has_pending_init_or_sipi(vi->lapic)) {
			sleep_since(v, seq);
			if (atomic_load(&v->kicked) || atomic_load(&v->dying) || v->run->immediate_exit)
				return 1;
		}
		accept_events(v);
		atomic_store(&vi->in_guest, false);
		return -EAGAIN;
	}
	if (vi->mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		/* an AP waits for its SIPI inside KVM_RUN */
		if (!lapic_has_pending_init_or_sipi(vi->lapic))
			sleep_since(v, seq);
		return 1;
	}
	lapic_sync(vi->lapic);
	vi->nmis += lapic_take_nmis(vi->lapic);
	/* vcpu_block: AP_RESET_HOLD (SEV-ES) waits as HLT does */
	if (vi->mp_state == KVM_MP_STATE_HALTED || vi->mp_state == KVM_MP_STATE_AP_RESET_HOLD) {
		if (!has_wake_event(v)) {
			sleep_since(v, seq);
			return 1;
		}
		vi->mp_state = KVM_MP_STATE_RUNNABLE;
	}
	r = inject(v);
	if (r) {
		atomic_store(&vi->in_guest, false);
		return r;
	}
	cr8 = lapic_get_cr8(vi->lapic);
	/* a TPR written through the APIC shows in CR8 (hostkvm on PVM ignores the load) */
	if (cr8 != vi->cr8 && !vcpu_write_field(v, CUSED_F_CR8, cr8))
		vi->cr8 = cr8;
	return 0;
}

void vcpu_irq_exited(struct vcpu *v, struct tramp_exit *ex)
{
	struct vcpu_irq *vi = v->irq;

	if (!vi)
		return;
	atomic_store(&vi->in_guest, false);
	vi->irq_ready = ex->irq_ready;
	vi->if_flag = ex->if_flag;
	/*
	 * The guest moved CR8 when the backend reports a value it did not
	 * report last time.  Comparing with what we loaded instead would undo
	 * every APIC-side TPR write on a backend that ignores CR8 loads (PVM);
	 * the price is a guest MOV to CR8 of exactly the previously reported
	 * value, between our load and the next exit, going unseen.
	 */
	if (ex->cr8 != vi->cr8_seen) {
		vi->cr8_seen = vi->cr8 = ex->cr8;
		lapic_set_cr8(vi->lapic, ex->cr8);
	}
	/* post_kvm_run_save: kvm_get_cr8 and the APIC base are the LAPIC's */
	ex->cr8 = lapic_get_cr8(vi->lapic);
	ex->apic_base = lapic_get_base(vi->lapic);
	/*
	 * post_kvm_run_save: always ready with an in-kernel PIC; with a split
	 * irqchip, ready for the VMM's ExtINT (kvm_vcpu_ready_for_interrupt_injection).
	 */
	if (irqchip_mode(chip_of(v)) == IRQCHIP_KERNEL)
		ex->irq_ready = true;
	else
		ex->irq_ready = ex->irq_ready && vi->ext_vector < 0 &&
				lapic_accept_pic_intr(vi->lapic);
}

bool vcpu_irq_kick_only(struct vcpu *v)
{
	return v->irq && !atomic_load(&v->kicked) && !atomic_load(&v->dying);
}

/* one PIO exit through the PIC/PIT, count times for string I/O */
static int pio(struct vcpu *v, struct tramp_exit *ex)
{
	struct irqchip *c = chip_of(v);
	uint8_t *d = ex->io.data;
	int r = 0;

	for (uint32_t i = 0; i < ex->io.count && !r; i++, d += ex->io.size)
		r = irqchip_pio(c, ex->io.port, ex->io.in, d, ex->io.size);
	if (r == -ENOENT)
		return 0;
	r = v->vm->ctx->ops->complete(v->tv, ex);
	return r ? r : 1;
}

static int lapic_or_ioapic(struct vcpu *v, uint64_t gpa, bool write, uint8_t *data, unsigned len)
{
	int r = write ? lapic_mmio_write(v->irq->lapic, gpa, data, len)
		      : lapic_mmio_read(v->irq->lapic, gpa, data, len);

	if (r == -ENOENT)
		r = irqchip_ioapic_mmio(chip_of(v), gpa, write, data, len);
	return r;
}

/* is gpa one the LAPIC or IOAPIC answers?  (decided before decoding a TX_NPF) */
static bool claims(struct vcpu *v, uint64_t gpa)
{
	uint64_t base = lapic_get_base(v->irq->lapic) & ~0xfffull;

	if (lapic_hw_enabled(v->irq->lapic) && !lapic_x2apic_mode(v->irq->lapic) &&
	    (gpa & ~0xfffull) == base)
		return true;
	return irqchip_mode(chip_of(v)) == IRQCHIP_KERNEL &&
	       gpa - IOAPIC_DEFAULT_BASE < IOAPIC_MEM_LENGTH;
}

static int mmio(struct vcpu *v, struct tramp_exit *ex)
{
	int r;

	if (ex->reason == TX_NPF) {
		if (!claims(v, ex->npf.gpa))
			return 0;
		r = mmio_begin(v, ex);    /* a write is retired already; a read waits for data */
		if (r || ex->reason != TX_MMIO)
			return r;         /* TX_INTERNAL goes to the client */
		r = lapic_or_ioapic(v, ex->mmio.gpa, ex->mmio.is_write, ex->mmio.data, ex->mmio.len);
		if (r == -ENOENT)
			r = 0;
		if (!r && !ex->mmio.is_write)
			r = mmio_finish(v, ex->mmio.data);
		return r ? r : 1;
	}
	r = lapic_or_ioapic(v, ex->mmio.gpa, ex->mmio.is_write, ex->mmio.data, ex->mmio.len);
	if (r == -ENOENT)
		return 0;
	r = v->vm->ctx->ops->complete(v->tv, ex);
	return r ? r : 1;
}

/* split irqchip: a level EOI goes to the VMM's IOAPIC (KVM_REQ_IOAPIC_EOI_EXIT) */
static int eoi_exit(struct vcpu *v)
{
	struct irqchip_vcpu *iv = v->irq->iv;

	if (iv->pending_eoi < 0)
		return 0;
	v->run->exit_reason = KVM_EXIT_IOAPIC_EOI;
	v->run->eoi.vector = (uint8_t)iv->pending_eoi;
	iv->pending_eoi = -1;
	return 2;
}

/*
 * vcpu_run's check after every exit KVM handles itself: a split irqchip's
 * VMM that asked for the window gets KVM_EXIT_IRQ_WINDOW_OPEN as soon as
 * an ExtINT could go in (a HLT included: the vCPU stays HALTED).
 */
static int window_exit(struct vcpu *v, const struct tramp_exit *ex, int r)
{
	if (r != 1 || irqchip_mode(chip_of(v)) != IRQCHIP_SPLIT ||
	    !v->run->request_interrupt_window || !ex->irq_ready)
		return r;
	v->run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
	return 2;
}

static int handle_exit(struct vcpu *v, struct tramp_exit *ex);

int vcpu_irq_exit(struct vcpu *v, struct tramp_exit *ex)
{
	if (!v->irq)
		return 0;
	return window_exit(v, ex, handle_exit(v, ex));
}

static int handle_exit(struct vcpu *v, struct tramp_exit *ex)
{
	struct vcpu_irq *vi = v->irq;
	int r;

	switch (ex->reason) {
	case TX_HLT:
		/* kvm_emulate_halt with an in-kernel LAPIC: block, do not exit */
		vi->mp_state = KVM_MP_STATE_HALTED;
		return 1;
	case TX_IRQ_WINDOW:
		if (irqchip_mode(chip_of(v)) == IRQCHIP_SPLIT && v->run->request_interrupt_window &&
		    vi->ext_vector < 0)
			return 0;
		return 1;
	case TX_IO:
		return pio(v, ex);
	case TX_MMIO:
	case TX_NPF:
		r = mmio(v, ex);
		return r == 1 && eoi_exit(v) ? 2 : r;
	case TX_RDMSR:
	case TX_WRMSR:
		/* handled by the MSR table hook; an EOI through x2APIC may need an exit */
		return 0;
	default:
		return 0;
	}
}

bool vcpu_irq_msr(struct vcpu *v, bool write, uint32_t index, uint64_t *data, bool host, int *r)
{
	struct vcpu_irq *vi = v->irq;
	struct lapic *l;

	if (!vi)
		return false;
	l = vi->lapic;
	*r = 0;
	if (index == 0x1b) {
		if (!write) {
			*data = lapic_get_base(l);
			return true;
		}
		*r = lapic_set_base(l, *data, host) ? 1 : 0;
		/* the backend's copy is what run->apic_base would say without us */
		if (!*r)
			vcpu_write_field(v, CUSED_F_APIC_BASE, lapic_get_base(l));
		return true;
	}
	if (index == 0x6e0) {
		*r = 0;
		if (write) {
			tsc_clock_refresh(v);
			lapic_set_tscdeadline(l, *data);
		} else {
			*data = lapic_get_tscdeadline(l);
		}
		return true;
	}
	if (lapic_is_x2apic_msr(index)) {
		*r = (write ? lapic_msr_write(l, index, *data) : lapic_msr_read(l, index, data)) ? 1 : 0;
		return true;
	}
	return false;
}

/* the exit the guest's x2APIC EOI caused, for the split irqchip (called after the MSR exit) */
int vcpu_irq_msr_done(struct vcpu *v)
{
	return v->irq ? eoi_exit(v) : 0;
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
		accept_events(v);
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
