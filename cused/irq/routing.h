/* SPDX-License-Identifier: MIT */
/*
 * The GSI routing table of one VM, mirroring Linux virt/kvm/irqchip.c
 * (kvm_set_irq_routing, setup_routing_entry, kvm_irq_map_gsi,
 * kvm_irq_map_chip_pin, kvm_set_irq, kvm_send_userspace_msi) and the x86
 * parts of arch/x86/kvm/irq.c (kvm_set_routing_entry, default_routing[],
 * kvm_set_msi_irq, kvm_set_msi).
 *
 * A GSI fans out to up to three irqchip pins (PIC master, PIC slave, IOAPIC;
 * one per chip) or to exactly one MSI.  KVM_SET_GSI_ROUTING builds a new
 * table and swaps it in whole under a rwlock; delivery copies the GSI's
 * entries under the read side and calls the devices after dropping it, so
 * no device lock is ever taken under the routing lock.
 *
 * Wiring (irqchip.c, to come; test_routing.c test_wired_pit_reinject does it):
 *   pit_env.pulse      → routing_set_irq(rt, 0, IRQ_SRC_PIT, 1) then (…, 0)
 *   pic_env.ack(irq)   → gsi = routing_map_chip_pin(rt, irq < 8 ? MASTER : SLAVE, irq)
 *   ioapic_env.ack(pin)→ gsi = routing_map_chip_pin(rt, KVM_IRQCHIP_IOAPIC, pin)
 *                        then the GSI's ack notifiers: pit_irq_ack() for GSI 0,
 *                        irqfd resample; *.mask likewise → pit_irq_mask() for GSI 0
 *   pic_env.intr       → kick the vCPU whose LAPIC accepts ExtINT; it calls
 *                        pic_has_intr() and pic_intack() for the vector
 *   LAPIC EOI          → ioapic_update_eoi(io, vector, tmr_level && !directed_eoi)
 */
#ifndef CUSED_IRQ_ROUTING_H
#define CUSED_IRQ_ROUTING_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "cused/irq/irq.h"

struct pic;
struct ioapic;

/* KVM_MAX_IRQ_ROUTES (include/linux/kvm_host.h, Linux 6.x): the limit on
 * both nr and gsi; KVM_CHECK_EXTENSION(KVM_CAP_IRQ_ROUTING) reports it */
#define ROUTING_MAX_ROUTES 4096u
/* most entries one GSI can have: one per irqchip (KVM_NR_IRQCHIPS) */
#define ROUTING_MAX_PER_GSI 3u

/* one validated route (KVM's kvm_kernel_irq_routing_entry without .set) */
struct routing_entry {
	uint32_t gsi;
	uint32_t type;                /* KVM_IRQ_ROUTING_IRQCHIP or KVM_IRQ_ROUTING_MSI */
	union {
		struct {
			uint32_t chip;        /* KVM_IRQCHIP_PIC_MASTER/_SLAVE/_IOAPIC */
			uint32_t pin;         /* PIC: 0-15 (slave pins are 8-15, as KVM stores them); IOAPIC: 0-23 */
		} irqchip;
		struct {
			uint32_t address_lo, address_hi, data;
		} msi;
	};
};

struct routing;

/*
 * Create with an empty table (KVM's state after KVM_CAP_SPLIT_IRQCHIP; call
 * routing_set_default() for KVM_CREATE_IRQCHIP).  pic and ioapic are where
 * irqchip routes go; both NULL means a split irqchip, where irqchip routes
 * are refused.  env->deliver carries MSIs.  All must outlive the table.
 * 0 or -ENOMEM.
 */
int routing_create(struct pic *pic, struct ioapic *ioapic, const struct irq_env *env,
		   struct routing **out);
/* free; no other entry point may be running */
void routing_destroy(struct routing *rt);

/*
 * KVM_SET_GSI_ROUTING: validate ue[0..nr) exactly as KVM does and replace the
 * whole table.  flags is struct kvm_irq_routing.flags.  -EINVAL for: flags,
 * nr > ROUTING_MAX_ROUTES, any gsi >= ROUTING_MAX_ROUTES, entry flags other
 * than KVM_MSI_VALID_DEVID on MSI (none on other types), an unknown type
 * (S390, Hyper-V SINT and Xen are not offered), an irqchip other than
 * 0-2, a PIC pin >= 8 or IOAPIC pin >= 24, an irqchip route on a split
 * irqchip, a second route of a GSI to the same chip, or an MSI sharing its
 * GSI with anything.  -ENOMEM.  On error the old table stays.
 */
int routing_set(struct routing *rt, const struct kvm_irq_routing_entry *ue, uint32_t nr,
		uint32_t flags);
/* KVM's default_routing[]: GSI 0-15 to IOAPIC pin n and PIC pin n, 16-23 to
 * the IOAPIC only.  There is no IRQ0 → pin 2 override in KVM's table: VMMs
 * that describe one in their MADT (QEMU) install it with KVM_SET_GSI_ROUTING. */
int routing_set_default(struct routing *rt);

/* the entries of gsi, in the order they were given; returns how many (0-3) */
unsigned routing_lookup(struct routing *rt, uint32_t gsi,
			struct routing_entry out[ROUTING_MAX_PER_GSI]);
/* KVM kvm_irq_map_chip_pin(): the GSI routed to (chip, pin), or -1.  pin is
 * 0-15 for either PIC, as the PIC's ack notifier reports it. */
int routing_map_chip_pin(struct routing *rt, unsigned chip, unsigned pin);

/*
 * KVM_IRQ_LINE(_STATUS) and every in-daemon source (PIT, irqfd): drive gsi
 * from source (irq_line.h) to level on every route.  Returns KVM's
 * kvm_set_irq() value: -1 when no route delivered (masked, no route, an MSI
 * de-assert), else the sum of non-negative route results (0 = coalesced).
 * Takes device locks; call with none held.
 */
int routing_set_irq(struct routing *rt, uint32_t gsi, unsigned source, bool level);

/*
 * KVM_SIGNAL_MSI: -EINVAL for flags other than KVM_MSI_VALID_DEVID;
 * otherwise KVM's kvm_set_msi() value, which the ioctl returns as is: the
 * number of LAPICs that accepted it, 0, or -1 when none matched.
 */
int routing_signal_msi(struct routing *rt, const struct kvm_msi *msi);

/*
 * Decode an MSI (KVM kvm_set_msi_irq(), xAPIC format: address_hi and the
 * 0xfee prefix are not checked, as in KVM without KVM_CAP_X2APIC_API):
 * dest = address bits 19:12, logical = bit 2, vector = data 7:0, delivery =
 * data 10:8, trig_level = data bit 15; level is always 1 (KVM ignores data
 * bit 14).  The redirection hint (address bit 3) makes KVM arbitrate like
 * lowest priority; struct irq_msg has no field for it, so a hinted FIXED
 * message is returned as IRQ_DM_LOWEST (the LAPIC accepts both alike).
 */
void routing_msi_to_msg(uint32_t address_lo, uint32_t address_hi, uint32_t data,
			struct irq_msg *m);

#endif
