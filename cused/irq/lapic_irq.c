/* SPDX-License-Identifier: MIT */
/*
 * LAPIC interrupt flow: priorities (PPR), two-phase injection, EOI, IPIs,
 * and the cross-thread posting of interrupts and events.  Mirrors Linux
 * arch/x86/kvm/lapic.c __apic_update_ppr, kvm_apic_has_interrupt,
 * kvm_apic_ack_interrupt, apic_set_eoi, kvm_apic_send_ipi, __apic_accept_irq,
 * kvm_apic_accept_events; the posted IRR is KVM's PIR
 * (__kvm_apic_update_irr), the two-phase pair bhyve's vlapic_pending_intr /
 * vlapic_intr_accepted.
 *
 * Posting protocol.  A poster sets the TMR bit in posted_tmr, ORs the IRR
 * bit into posted[], then sets posted_any; all seq_cst.  The runner's
 * lapic_sync() clears posted_any first and only then exchanges posted[]
 * words, so a bit ORed after the exchange is followed by a posted_any store
 * the next sync sees: no interrupt is lost.  A poster that finds its bit
 * already posted need not kick: whoever set it kicked, and the runner folds
 * posted[] after every kick before entering the guest.
 */
#include "cused/irq/lapic_priv.h"

int lp_highest_vector(const struct lapic *l, unsigned base)
{
	for (int i = 7; i >= 0; i--) {
		uint32_t w = reg_get(l, base + i * 0x10);

		if (w)
			return i * 32 + 31 - __builtin_clz(w);
	}
	return -1;
}

/* __apic_update_ppr(): PPR = TPR, unless the highest in-service class is above it */
void lp_update_ppr(struct lapic *l)
{
	uint32_t tpr = reg_get(l, APIC_TASKPRI);
	int isr = lp_highest_vector(l, APIC_ISR);
	uint32_t isrv = isr < 0 ? 0 : (uint32_t)isr;

	reg_set(l, APIC_PROCPRI, (tpr & 0xf0) >= (isrv & 0xf0) ? tpr & 0xff : isrv & 0xf0);
}

int lapic_pending_intr(struct lapic *l)
{
	int irr;

	if (!lp_hw_enabled(l))
		return -1;
	lapic_sync(l);
	lp_update_ppr(l);
	irr = lp_highest_vector(l, APIC_IRR);
	if (irr < 0 || (uint32_t)(irr & 0xf0) <= reg_get(l, APIC_PROCPRI))
		return -1;
	return irr;
}

void lapic_intr_accepted(struct lapic *l, int vector)
{
	if (vector < 0 || vector > 255)
		return;
	vec_set(l, APIC_IRR, (unsigned)vector, false);
	vec_set(l, APIC_ISR, (unsigned)vector, true);
	lp_update_ppr(l);
}

/* apic_set_eoi(): retire the highest in-service vector; level ones go to the IOAPIC */
int lp_set_eoi(struct lapic *l)
{
	int v = lp_highest_vector(l, APIC_ISR);

	/* an EOI with nothing in service is legal (Linux's IO-APIC timer check does it) */
	if (v < 0)
		return -1;
	vec_set(l, APIC_ISR, (unsigned)v, false);
	lp_update_ppr(l);
	if (l->env.eoi_any) {
		l->env.eoi_any(l->env.ctx, (uint8_t)v, vec_test(l, APIC_TMR, (unsigned)v));
		return v;
	}
	/*
	 * Directed EOI (SPIV bit 12, only writable when LVR offers it)
	 * suppresses the broadcast: the guest EOIs the IOAPIC itself.
	 */
	if (vec_test(l, APIC_TMR, (unsigned)v) && l->env.eoi &&
	    !(reg_get(l, APIC_SPIV) & APIC_SPIV_DIRECTED_EOI))
		l->env.eoi(l->env.ctx, (uint8_t)v);
	return v;
}

int lapic_eoi(struct lapic *l)
{
	return lp_set_eoi(l);
}

bool lapic_accept_pic_intr(const struct lapic *l)
{
	uint32_t lvt0 = reg_get(l, APIC_LVT0);

	if (!lp_hw_enabled(l))
		return true;
	return !(lvt0 & APIC_LVT_MASKED) && (lvt0 & APIC_MODE_MASK) == APIC_MODE_EXTINT;
}

/* kvm_icr_to_lapic_irq() + kvm_apic_send_ipi(): the bus does the rest */
void lp_send_ipi(struct lapic *l, uint32_t lo, uint32_t hi)
{
	struct irq_msg m = {
		.vector = lo & APIC_VECTOR_MASK,
		.delivery = (lo & APIC_MODE_MASK) >> 8,
		.dest_logical = lo & APIC_DEST_LOGICAL,
		.level = lo & APIC_INT_ASSERT,
		.trig_level = lo & APIC_LVT_LEVEL_TRIGGER,
		.shorthand = (lo & APIC_SHORT_MASK) >> APIC_SHORT_SHIFT,
		.dest = lp_x2apic(l) ? hi : hi >> 24,
		.src = l->cfg.vcpu_index,
	};

	if (l->env.deliver)
		l->env.deliver(l->env.ctx, &m);
}

bool lapic_post(struct lapic *l, uint8_t vector, bool trig_level)
{
	unsigned i = vector >> 5;
	uint32_t bit = 1u << (vector & 31);
	uint32_t old;

	if (trig_level)
		atomic_fetch_or(&l->posted_tmr[i], bit);
	else
		atomic_fetch_and(&l->posted_tmr[i], ~bit);
	old = atomic_fetch_or(&l->posted[i], bit);
	atomic_store(&l->posted_any, true);
	return !(old & bit);
}

static void kick(struct lapic *l)
{
	if (l->env.kick)
		l->env.kick(l->env.ctx, l);
}

int lapic_deliver(struct lapic *l, const struct irq_msg *m)
{
	switch (m->delivery) {
	case IRQ_DM_FIXED:
	case IRQ_DM_LOWEST:
		/* a level-triggered de-assert carries no interrupt */
		if (m->trig_level && !m->level)
			return 0;
		if (!atomic_load(&l->accepting))
			return 0;
		if (lapic_post(l, m->vector, m->trig_level))
			kick(l);
		return 1;
	case IRQ_DM_NMI:
		atomic_fetch_add(&l->nmi_pending, 1);
		kick(l);
		return 1;
	case IRQ_DM_SMI:
		atomic_fetch_or(&l->events, LAPIC_EV_SMI);
		kick(l);
		return 1;
	case IRQ_DM_INIT: {
		unsigned old = atomic_load(&l->events);

		if (m->trig_level && !m->level)
			return 0;
		/* INIT discards an earlier SIPI, as KVM's assignment of pending_events does */
		while (!atomic_compare_exchange_weak(&l->events, &old,
						     LAPIC_EV_INIT | (old & LAPIC_EV_SMI)))
			;
		kick(l);
		return 1;
	}
	case IRQ_DM_STARTUP:
		atomic_store(&l->sipi_vector, m->vector);
		atomic_fetch_or(&l->events, LAPIC_EV_SIPI);
		kick(l);
		return 1;
	default:
		/* ExtINT comes through lapic_accept_pic_intr(); mode 3 is reserved */
		return 0;
	}
}

/* __kvm_apic_update_irr(): fold the posted IRR/TMR into the register page */
void lp_fold_posted(struct lapic *l)
{
	if (atomic_exchange(&l->posted_any, false)) {
		for (unsigned i = 0; i < 8; i++) {
			uint32_t bits = atomic_exchange(&l->posted[i], 0);
			uint32_t tmr, irr;

			if (!bits)
				continue;
			tmr = atomic_load(&l->posted_tmr[i]);
			irr = reg_get(l, APIC_IRR + i * 0x10);
			reg_set(l, APIC_IRR + i * 0x10, irr | bits);
			reg_set(l, APIC_TMR + i * 0x10,
				(reg_get(l, APIC_TMR + i * 0x10) & ~bits) | (tmr & bits));
		}
	}
}

void lapic_sync(struct lapic *l)
{
	lp_fold_posted(l);
	if (atomic_load(&l->timer_pending))
		lp_timer_inject(l);
}

/*
 * kvm_apic_local_deliver(): an LVT entry fires on this LAPIC's own runner,
 * so fixed vectors go straight into IRR; returns 1 if accepted.
 */
int lp_local_deliver(struct lapic *l, unsigned lvt_off)
{
	uint32_t reg = reg_get(l, lvt_off);
	struct irq_msg m = {
		.vector = reg & APIC_VECTOR_MASK, .delivery = (reg & APIC_MODE_MASK) >> 8,
		.level = true, .trig_level = reg & APIC_LVT_LEVEL_TRIGGER, .src = -1,
	};

	if (!lp_hw_enabled(l) || (reg & APIC_LVT_MASKED))
		return 0;
	if (m.delivery == IRQ_DM_FIXED || m.delivery == IRQ_DM_LOWEST) {
		if (!l->sw_enabled)
			return 0;
		vec_set(l, APIC_IRR, m.vector, true);
		vec_set(l, APIC_TMR, m.vector, m.trig_level);
		return 1;
	}
	return lapic_deliver(l, &m);
}

int lapic_nmi_wd_deliver(struct lapic *l)
{
	struct irq_msg nmi = { .delivery = IRQ_DM_NMI, .level = true, .src = -1 };

	if (!atomic_load(&l->lvt0_nmi))
		return 0;
	return lapic_deliver(l, &nmi);
}

unsigned lapic_take_nmis(struct lapic *l)
{
	return atomic_exchange(&l->nmi_pending, 0);
}

bool lapic_has_pending_init_or_sipi(const struct lapic *l)
{
	return atomic_load(&((struct lapic *)l)->events) & (LAPIC_EV_INIT | LAPIC_EV_SIPI);
}

void lapic_set_sipi_pending(struct lapic *l)
{
	atomic_fetch_or(&l->events, LAPIC_EV_SIPI);
}

unsigned lapic_accept_events(struct lapic *l, uint32_t *mp_state, int *sipi_vector)
{
	unsigned done = 0, ev;

	*sipi_vector = -1;
	ev = atomic_fetch_and(&l->events, ~(unsigned)(LAPIC_EV_INIT | LAPIC_EV_SMI));
	if (ev & LAPIC_EV_SMI)
		done |= LAPIC_EV_SMI;
	if (ev & LAPIC_EV_INIT) {
		lapic_reset(l, true);
		*mp_state = (l->apic_base & MSR_APICBASE_BSP) ? KVM_MP_STATE_RUNNABLE
							      : KVM_MP_STATE_INIT_RECEIVED;
		done |= LAPIC_EV_INIT;
	}
	/* a SIPI outside wait-for-SIPI is dropped (SDM 10.4.7.3) */
	if (atomic_fetch_and(&l->events, ~(unsigned)LAPIC_EV_SIPI) & LAPIC_EV_SIPI &&
	    *mp_state == KVM_MP_STATE_INIT_RECEIVED) {
		*sipi_vector = (int)atomic_load(&l->sipi_vector);
		*mp_state = KVM_MP_STATE_RUNNABLE;
		done |= LAPIC_EV_SIPI;
	}
	return done;
}
