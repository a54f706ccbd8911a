/* SPDX-License-Identifier: MIT */
/*
 * The per-VM APIC bus: the set of LAPICs and the destination map that
 * IPIs, IOAPIC redirections and MSIs are matched against.  Mirrors Linux
 * arch/x86/kvm/lapic.c kvm_apic_match_dest / __kvm_irq_delivery_to_apic and
 * kvm_recalculate_apic_map, and the MSI decode of kvm_set_msi_irq
 * (arch/x86/kvm/irq.c) with x86_msi_msg_get_destid.
 *
 * Threads.  Delivery may come from any thread and never reads a LAPIC's
 * registers: each LAPIC's runner republishes its identity (IDs, LDR, DFR,
 * enables, mode) with apic_bus_publish() whenever one of them changes
 * (KVM's apic_map_dirty).  bus->lock (a rwlock) covers the published
 * entries only; delivery holds the read side to choose targets, drops it,
 * then posts and kicks (STYLE.md §3: never call out with a device lock held).
 */
#ifndef CUSED_IRQ_APIC_BUS_H
#define CUSED_IRQ_APIC_BUS_H

#include <stdbool.h>
#include <stdint.h>
#include "cused/irq/irq.h"

struct lapic;
struct apic_bus;

#define APIC_BUS_MAX_VCPUS 1024

/* KVM_CAP_X2APIC_API flags (same values as KVM_X2APIC_API_*) */
#define APIC_BUS_X2APIC_FORMAT         (1u << 0)  /* USE_32BIT_IDS: MSI address_hi holds dest 31:8 */
#define APIC_BUS_NO_BROADCAST_QUIRK    (1u << 1)  /* DISABLE_BROADCAST_QUIRK */

/* what one LAPIC publishes; derived from its registers by its runner */
struct apic_bus_entry {
	struct lapic *lapic;   /* NULL: slot unused */
	uint32_t x2apic_id;    /* the vCPU id: KVM's x2APIC ID is read-only */
	uint8_t xapic_id;      /* ID register bits 31:24 */
	uint32_t ldr;          /* LDR register as is */
	uint32_t dfr;
	bool hw_enabled;       /* kvm_apic_present(): only these match any destination */
	bool sw_enabled;
	bool x2apic;
};

/* -ENOMEM / -EINVAL (max_vcpus 0 or above APIC_BUS_MAX_VCPUS) */
int apic_bus_create(unsigned max_vcpus, struct apic_bus **out);
/* all LAPICs must be destroyed or detached first */
void apic_bus_destroy(struct apic_bus *bus);
/* KVM_ENABLE_CAP(KVM_CAP_X2APIC_API): APIC_BUS_* flags; any thread */
void apic_bus_set_x2apic_api(struct apic_bus *bus, uint32_t flags);
uint32_t apic_bus_x2apic_api(struct apic_bus *bus);
/*
 * A LAPIC's runner (re)publishes slot index (its vcpu_index); e->lapic NULL
 * detaches the slot.  -EINVAL for an index out of range.
 */
int apic_bus_publish(struct apic_bus *bus, unsigned index, const struct apic_bus_entry *e);

/*
 * Any thread.  Deliver m to every matching LAPIC (lapic_deliver: posts and
 * kicks).  Lowest priority picks one LAPIC deterministically: KVM's vector
 * hashing (the default), the (vector mod n)-th of the n matching,
 * software-enabled LAPICs in vCPU-index order.  Returns the number of
 * LAPICs that accepted; -1, as KVM's slow path, when a broadcast or
 * shorthand matched no LAPIC at all (a unicast that matches nothing gives
 * 0, as KVM's map path does).
 */
int apic_bus_deliver(struct apic_bus *bus, const struct irq_msg *m);
/* an irq_env.deliver hook: ctx is the struct apic_bus */
int apic_bus_deliver_hook(void *ctx, const struct irq_msg *m);

/*
 * Decode an MSI (kvm_set_msi_irq): dest = address bits 19:12, plus address_hi
 * bits 31:8 as dest 31:8 with APIC_BUS_X2APIC_FORMAT; DM = bit 2; a set RH
 * bit (3) turns fixed delivery into lowest priority (KVM's msi_redir_hint);
 * data: vector 7:0, delivery 10:8, trigger 15.  The address is not checked
 * against 0xfeexxxxx (KVM does not either).  -EINVAL when x2apic_format and
 * address_hi bits 7:0 are set (kvm_msi_route_invalid).
 */
int apic_msi_decode(uint64_t address, uint32_t data, uint32_t x2apic_api, struct irq_msg *m);

#endif
