/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip (vcpu_irq.h): the runner's entry,
 * sleep and injection, following Linux 6.1 arch/x86/kvm/x86.c
 * vcpu_enter_guest / vcpu_block / inject_pending_event.
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
#include <time.h>
#include "cused/kvm/vcpu_irq.h"
#include "cused/kvm/vcpu_irq_priv.h"
#include "cused/irq/lapic.h"
#include "cused/util/log.h"

/* a sleeping runner re-checks its flags this often even unwoken: a missed wake-up costs 50 ms, not a wedge */
#define SLEEP_POLL_NS 50000000ull

static void guest_kick(void *ctx)
{
	struct vcpu *v = ctx;

	if (atomic_load(&v->irq->in_guest))
		v->vm->ctx->ops->kick(v->tv);
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
	cused_spin_init(&vi->halt_spin);
	/* kvm_arch_vcpu_create: APs wait for INIT */
	vi->mp_state = v->id == c->bsp_id ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED;
	lapic_set_caps(vi->lapic, &(struct lapic_caps){ .maxphyaddr = 36 });
	vi_tsc_clock_refresh(v);
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

/*
 * The last exit's "ready" still holds at this entry unless the client
 * cleared RFLAGS.IF since (KVM_SET_REGS): KVM's inject_pending_event asks
 * kvm_x86_interrupt_allowed at the entry itself.  Forgetting it would delay
 * a split irqchip VMM's KVM_INTERRUPT, which QEMU sends only after an exit
 * said ready, to an interrupt window the guest may close first (a CLI
 * right after an OUT: the ExtINT then arrives later with a stale vector).
 */
void vcpu_irq_run_start(struct vcpu *v)
{
	uint64_t rflags;

	if (!v->irq || !v->irq->irq_ready)
		return;
	if (vcpu_read_field(v, CUSED_F_RFLAGS, &rflags) || !(rflags & (1u << 9)))   /* IF */
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

struct halt_look {
	struct vcpu *v;
	uint64_t seq;
};

/* the sleep below would end at once; no lock and no system call */
static bool halt_ends(void *arg)
{
	struct halt_look *h = arg;
	struct vcpu *v = h->v;

	/* wake_seq is bumped under wlock; an aligned 64-bit load sees it whole */
	return __atomic_load_n(&v->irq->iv->wake_seq, __ATOMIC_ACQUIRE) != h->seq ||
	       atomic_load(&v->kicked) || atomic_load(&v->dying) ||
	       __atomic_load_n(&v->run->immediate_exit, __ATOMIC_RELAXED);
}

/*
 * vcpu_block: until a kick after seq, the client's kick, or dying.  Polls
 * first, as KVM's halt polling does (halt_poll_ns): the kick that ends a
 * short halt (a timer, an IPI) then costs no wake-up of a sleeping thread,
 * which is tens of microseconds on an idle virtual machine.  The poll
 * adapts as the doorbell's spin does (cused/spin.h): halts that last longer
 * than the budget turn it off.
 */
static void sleep_since(struct vcpu *v, uint64_t seq)
{
	struct irqchip_vcpu *iv = v->irq->iv;
	struct halt_look h = { v, seq };

	atomic_store(&v->irq->in_guest, false);
	if (cused_spin_until(&v->irq->halt_spin, halt_ends, &h, NULL) == CUSED_SPIN_READY) {
		cused_spin_answered(&v->irq->halt_spin, cused_now_ns(), 0);
		return;
	}
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
	/* the kicker keeps no time: ours, late by the wake-up, errs toward sleeping */
	cused_spin_answered(&v->irq->halt_spin, cused_now_ns(), 0);
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
	r = vi_accept_events(v);
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
		vi_accept_events(v);
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
