/* SPDX-License-Identifier: MIT */
/*
 * The in-daemon IOAPIC (82093AA, 24 pins), mirroring Linux
 * arch/x86/kvm/ioapic.c.  Its state is struct kvm_ioapic_state, so
 * KVM_GET/SET_IRQCHIP(KVM_IRQCHIP_IOAPIC) is a copy.  Interrupts leave as
 * struct irq_msg through irq_env.deliver, always after the IOAPIC's lock is
 * dropped; the LAPIC's EOI broadcast comes back through ioapic_update_eoi().
 *
 * Not modelled (yet): KVM's RTC (GSI 8) EOI tracking that makes
 * KVM_IRQ_LINE_STATUS report coalesced RTC ticks; it needs per-vCPU
 * pending-EOI state from the LAPIC.
 */
#ifndef CUSED_IRQ_IOAPIC_H
#define CUSED_IRQ_IOAPIC_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "cused/irq/irq.h"

#define IOAPIC_NUM_PINS       KVM_IOAPIC_NUM_PINS
#define IOAPIC_DEFAULT_BASE   0xfec00000ull
#define IOAPIC_MEM_LENGTH     0x100
#define IOAPIC_VERSION_ID     0x11

/* redirection entry bits (a uint64_t read through masks, never bitfields) */
#define IOAPIC_RTE_VECTOR          0xffull
#define IOAPIC_RTE_DELIVERY_SHIFT  8
#define IOAPIC_RTE_DELIVERY        (7ull << 8)
#define IOAPIC_RTE_DEST_LOGICAL    (1ull << 11)
#define IOAPIC_RTE_DELIVERY_STATUS (1ull << 12)   /* read-only */
#define IOAPIC_RTE_POLARITY        (1ull << 13)
#define IOAPIC_RTE_REMOTE_IRR      (1ull << 14)   /* read-only */
#define IOAPIC_RTE_LEVEL           (1ull << 15)
#define IOAPIC_RTE_MASKED          (1ull << 16)
#define IOAPIC_RTE_DEST_SHIFT      56

/*
 * Notifications the IOAPIC sends to the rest of the irqchip, called without
 * the IOAPIC lock held (they may call back into the IOAPIC).  Either may be
 * NULL.  The wiring maps (KVM_IRQCHIP_IOAPIC, pin) to a GSI with
 * routing_map_chip_pin() and runs its ack/mask notifiers (PIT reinject,
 * irqfd resample): KVM's kvm_notify_acked_irq() and kvm_fire_mask_notifiers().
 */
struct ioapic_env {
	void (*ack)(void *ctx, unsigned pin);              /* an EOI reached pin's vector */
	void (*mask)(void *ctx, unsigned pin, bool masked); /* the guest changed pin's mask bit */
	void *ctx;
};

struct ioapic;

/* allocate and reset (all pins masked, base 0xfec00000); 0 or -ENOMEM.
 * env is used for now_ns/arm/deliver; aenv may be NULL. Both must outlive it. */
int ioapic_create(const struct irq_env *env, const struct ioapic_env *aenv, struct ioapic **out);
/* cancel its deadline (env->arm(.., 0)) and free; the caller has stopped every
 * other entry point, an ioapic_tick() in progress included */
void ioapic_destroy(struct ioapic *io);
/* KVM's kvm_ioapic_reset(): mask every pin, clear irr, id, ioregsel, base to default */
void ioapic_reset(struct ioapic *io);

/*
 * Guest MMIO at guest-physical addr (IOREGSEL at +0x00, IOWIN at +0x10).
 * -ENOENT when addr is not in the IOAPIC window; otherwise 0.  len 1, 2, 4
 * or 8 as KVM accepts (8 reads zero-extend, writes use the low 32 bits);
 * any other len is ignored and logged at a rate limit.  A write may deliver
 * interrupts (unmasking an asserted level pin) after the lock is dropped.
 */
int ioapic_read(struct ioapic *io, uint64_t addr, void *data, unsigned len);
int ioapic_write(struct ioapic *io, uint64_t addr, const void *data, unsigned len);

/*
 * Drive pin from source (enum irq_source in irq_line.h) to level; the pin's
 * level is the OR over sources.  Returns as KVM_IRQ_LINE_STATUS does: -1
 * masked (or remote IRR pending, or out-of-range pin/source), 0 coalesced,
 * otherwise the number of LAPICs that accepted it (1 for a de-assert).
 * Delivery happens before it returns, with no IOAPIC lock held.
 */
int ioapic_set_irq(struct ioapic *io, unsigned pin, unsigned source, bool level);

/*
 * EOI broadcast from a LAPIC for vector (KVM kvm_ioapic_update_eoi()).
 * Every pin programmed with vector gets its ack notification; if level_eoi
 * (the vector's TMR bit was set and directed EOI is off) a level pin's
 * remote IRR is cleared and a still-asserted line is re-delivered.  The
 * LAPIC may call this for any EOI; edge EOIs only feed the ack notifiers
 * (needed by PIT reinject through pin 2).  Called without LAPIC locks that
 * delivery could need.
 */
void ioapic_update_eoi(struct ioapic *io, unsigned vector, bool level_eoi);
/* the level-triggered EOI broadcast: ioapic_update_eoi(io, vector, true) */
void ioapic_eoi(struct ioapic *io, unsigned vector);

/*
 * Timer callback: after 10000 successive EOI re-deliveries of a level pin
 * (a guest that never quiets its device) the IOAPIC holds the re-delivery
 * back 10 ms, as KVM's eoi_inject work does.  Returns the next deadline or 0.
 */
uint64_t ioapic_tick(struct ioapic *io, uint64_t now_ns);

/* KVM_GET_IRQCHIP: copy out; irr omits edge pins already delivered (kvm_get_ioapic) */
int ioapic_get_state(struct ioapic *io, struct kvm_ioapic_state *s);
/* KVM_SET_IRQCHIP: copy in as KVM does (no validation), then re-inject the
 * asserted lines of s->irr; may deliver before it returns. */
int ioapic_set_state(struct ioapic *io, const struct kvm_ioapic_state *s);

/* the level currently seen on pin (the OR over sources), for tests and debugging */
bool ioapic_line(struct ioapic *io, unsigned pin);

#endif
