/* SPDX-License-Identifier: MIT */
/*
 * What the three parts of the vCPU side of the irqchip share: the runner
 * state (vcpu_irq.c: entry, sleep, injection; vcpu_irq_exit.c: the exits
 * and MSRs the daemon retires; vcpu_irq_state.c: INIT/SIPI and the state
 * ioctls).  Everything here is runner-only (vcpu->lock) unless marked.
 */
#ifndef CUSED_KVM_VCPU_IRQ_PRIV_H
#define CUSED_KVM_VCPU_IRQ_PRIV_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "cused/kvm/vcpu.h"
#include "cused/irq/irqchip.h"

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
	struct cused_spin halt_spin; /* halt polling before a sleep (sleep_since) */
	/* any thread */
	atomic_bool in_guest;
};

static inline struct irqchip *chip_of(struct vcpu *v)
{
	return v->vm->irqchip;
}

/* the guest TSC now, on the LAPIC's clock (TSC-deadline mode) */
void vi_tsc_clock_refresh(struct vcpu *v);
/* kvm_apic_accept_events: INIT resets the vCPU, SIPI loads CS:IP; 0 or -errno */
int vi_accept_events(struct vcpu *v);
/* a split irqchip's level EOI waits: fill kvm_run with KVM_EXIT_IOAPIC_EOI and return 2; else 0 */
int vi_eoi_exit(struct vcpu *v);

#endif
