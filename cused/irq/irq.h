/* SPDX-License-Identifier: MIT */
/*
 * What the interrupt devices of cused/irq/ share: the message that travels
 * on the APIC bus (an IOAPIC redirection, an MSI, an IPI all become one),
 * and the environment a device model runs in.  The environment is a table
 * of hooks so that every device can run under cmocka on a fake clock, and
 * so that no device reads time or wakes a thread by itself (STYLE.md §3).
 */
#ifndef CUSED_IRQ_IRQ_H
#define CUSED_IRQ_IRQ_H

#include <stdbool.h>
#include <stdint.h>

/* delivery modes, as in the ICR / redirection entry / MSI data bits 10:8 */
enum irq_delivery {
	IRQ_DM_FIXED = 0, IRQ_DM_LOWEST = 1, IRQ_DM_SMI = 2, IRQ_DM_NMI = 4,
	IRQ_DM_INIT = 5, IRQ_DM_STARTUP = 6, IRQ_DM_EXTINT = 7,
};

/* destination shorthand, as in ICR bits 19:18 */
enum irq_shorthand {
	IRQ_SH_NONE = 0, IRQ_SH_SELF = 1, IRQ_SH_ALL = 2, IRQ_SH_OTHERS = 3,
};

/* one interrupt message on the APIC bus */
struct irq_msg {
	uint32_t dest;            /* physical APIC id or logical mask; all ones = broadcast */
	uint8_t vector;
	uint8_t delivery;         /* enum irq_delivery */
	uint8_t shorthand;        /* enum irq_shorthand; IPIs only */
	bool dest_logical;
	bool level;               /* assert; INIT with level=0 and trig_level is the de-assert */
	bool trig_level;          /* level-triggered: its EOI is broadcast to the IOAPIC */
	int src;                  /* sending vCPU index for shorthands; -1 from a device */
};

/*
 * The environment of one device instance.  All hooks may be called with
 * the device's own lock held, so none may call back into that device.
 */
struct irq_env {
	/* guest-visible monotonic time in ns (fake in tests) */
	uint64_t (*now_ns)(void *ctx);
	/*
	 * Ask for dev's X_tick() at deadline_ns (absolute, now_ns clock); 0
	 * cancels.  A later call replaces the earlier deadline of that device.
	 */
	void (*arm)(void *ctx, void *dev, uint64_t deadline_ns);
	/* deliver a message on the APIC bus; returns how many LAPICs accepted it, or -errno */
	int (*deliver)(void *ctx, const struct irq_msg *m);
	void *ctx;
	/* hooks below may be NULL for devices that do not use them */
	/* wake dev's vCPU so it re-checks its interrupts (LAPIC: its runner) */
	void (*kick)(void *ctx, void *dev);
	/* LAPIC: a level-triggered vector was EOIed; broadcast it to the IOAPIC */
	void (*eoi)(void *ctx, uint8_t vector);
	/*
	 * LAPIC, instead of eoi when set: every EOI of a vector (KVM's
	 * kvm_ioapic_send_eoi, whose ack notifiers see edge EOIs too, which
	 * the PIT's reinject mode needs); tmr = the vector's TMR bit was set.
	 * Directed EOI (SPIV bit 12) is the callee's to check: KVM's split
	 * irqchip exits whatever it says.  Called on the LAPIC's runner.
	 */
	void (*eoi_any)(void *ctx, uint8_t vector, bool tmr);
};

#endif
