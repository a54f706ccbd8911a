/* SPDX-License-Identifier: MIT */
/*
 * The two cascaded 8259A PICs (slave on master IRQ2) and the PIIX ELCR,
 * mirroring Linux arch/x86/kvm/i8259.c.  Each chip's state is struct
 * kvm_pic_state, so KVM_GET/SET_IRQCHIP(KVM_IRQCHIP_PIC_MASTER/SLAVE) is a
 * copy.  The master's output is the INTR line into the BSP's LINT0 (ExtINT);
 * the LAPIC side reads it with pic_has_intr() and acknowledges with
 * pic_intack(), KVM's kvm_cpu_has_extint()/kvm_pic_read_irq().
 */
#ifndef CUSED_IRQ_PIC_H
#define CUSED_IRQ_PIC_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define PIC_NUM_PINS 16

/*
 * Notifications the PIC sends out, all called without the PIC lock held
 * (they may call back into the PIC).  Any may be NULL.
 *  intr: the INTR output changed to level; treat it as a kick (KVM's
 *        pic_unlock() wakeup) and re-read pic_has_intr(), since concurrent
 *        changes may be reported out of order.
 *  ack:  the guest acknowledged irq 0-15 (EOI, auto-EOI, poll) — KVM's
 *        kvm_notify_acked_irq(SELECT_PIC(irq), irq).
 *  mask: the guest changed irq's IMR bit — kvm_fire_mask_notifiers().
 */
struct pic_env {
	void (*intr)(void *ctx, bool level);
	void (*ack)(void *ctx, unsigned irq);
	void (*mask)(void *ctx, unsigned irq, bool masked);
	void *ctx;
};

struct pic;

/* allocate both chips zeroed with KVM's ELCR masks (0xf8 / 0xde); 0 or -ENOMEM.
 * env may be NULL and must outlive the PIC. */
int pic_create(const struct pic_env *env, struct pic **out);
/* free; the caller has stopped every other entry point */
void pic_destroy(struct pic *pic);
/* both chips back to their create-time state (the INTR line drops) */
void pic_reset(struct pic *pic);

/*
 * Guest port I/O: 0x20/0x21 (master), 0xa0/0xa1 (slave), 0x4d0/0x4d1 (ELCR).
 * -ENOENT for any other port; otherwise 0.  Accesses that are not one byte
 * are ignored and logged at a rate limit (KVM picdev_read/write); such a
 * read leaves *data untouched.
 */
int pic_read(struct pic *pic, uint64_t port, void *data, unsigned len);
int pic_write(struct pic *pic, uint64_t port, const void *data, unsigned len);

/*
 * Drive irq (0-15; 8-15 on the slave) from source (irq_line.h) to level,
 * ORed over sources; ELCR selects edge or level per irq.  Returns as
 * KVM_IRQ_LINE_STATUS: -1 masked (or irq/source out of range), 0 coalesced
 * (already pending), 1 delivered to the IRR.
 */
int pic_set_irq(struct pic *pic, unsigned irq, unsigned source, bool level);

/* the INTR output level (KVM vpic->output) */
bool pic_has_intr(struct pic *pic);
/*
 * INTA cycle for the vCPU that accepts ExtINT: move the winning IRQ from IRR
 * to ISR (honouring auto-EOI and the cascade) and return its vector; a
 * spurious IRQ 7 (or 15 through the slave) when nothing is pending.
 */
int pic_intack(struct pic *pic);

/* KVM_GET_IRQCHIP: chip 0 master, 1 slave; -EINVAL otherwise */
int pic_get_state(struct pic *pic, unsigned chip, struct kvm_pic_state *s);
/* KVM_SET_IRQCHIP: copy as KVM does (no validation) and recompute INTR */
int pic_set_state(struct pic *pic, unsigned chip, const struct kvm_pic_state *s);

#endif
