/* SPDX-License-Identifier: MIT */
/*
 * Destination matching and delivery on the APIC bus, and MSI decode.
 * Mirrors Linux arch/x86/kvm/lapic.c kvm_apic_match_physical_addr,
 * kvm_apic_match_logical_addr, kvm_apic_mda (the x2APIC broadcast quirk),
 * kvm_apic_match_dest and __kvm_irq_delivery_to_apic's slow path (vector
 * hashing for lowest priority), and arch/x86/kvm/irq.c kvm_set_msi_irq.
 * The published entries play the part of kvm_apic_map: built from what
 * each runner publishes, never from another vCPU's registers.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include "cused/irq/apic_bus.h"
#include "cused/irq/lapic.h"

#define XAPIC_BROADCAST  0xffu
#define X2APIC_BROADCAST 0xffffffffu

struct apic_bus {
	pthread_rwlock_t lock;        /* covers ent[]; a leaf lock */
	atomic_uint x2apic_api;       /* APIC_BUS_* */
	unsigned max;
	struct apic_bus_entry ent[];
};

int apic_bus_create(unsigned max_vcpus, struct apic_bus **out)
{
	struct apic_bus *b;

	if (!max_vcpus || max_vcpus > APIC_BUS_MAX_VCPUS)
		return -EINVAL;
	b = calloc(1, sizeof(*b) + max_vcpus * sizeof(b->ent[0]));
	if (!b)
		return -ENOMEM;
	pthread_rwlock_init(&b->lock, NULL);
	b->max = max_vcpus;
	*out = b;
	return 0;
}

void apic_bus_destroy(struct apic_bus *b)
{
	if (!b)
		return;
	pthread_rwlock_destroy(&b->lock);
	free(b);
}

void apic_bus_set_x2apic_api(struct apic_bus *b, uint32_t flags)
{
	atomic_store(&b->x2apic_api, flags);
}

uint32_t apic_bus_x2apic_api(struct apic_bus *b)
{
	return atomic_load(&b->x2apic_api);
}

int apic_bus_publish(struct apic_bus *b, unsigned index, const struct apic_bus_entry *e)
{
	if (index >= b->max)
		return -EINVAL;
	pthread_rwlock_wrlock(&b->lock);
	b->ent[index] = *e;
	pthread_rwlock_unlock(&b->lock);
	return 0;
}

static bool is_broadcast(const struct apic_bus_entry *t, uint32_t mda)
{
	return mda == (t->x2apic ? X2APIC_BROADCAST : XAPIC_BROADCAST);
}

static bool match_physical(const struct apic_bus_entry *t, uint32_t mda)
{
	if (is_broadcast(t, mda))
		return true;
	/*
	 * KVM's hotplug rule: an ID that xAPIC cannot encode is matched
	 * against the x2APIC ID even of an xAPIC-mode LAPIC.
	 */
	if (t->x2apic || mda > 0xff)
		return mda == t->x2apic_id;
	return mda == t->xapic_id;
}

static bool match_logical(const struct apic_bus_entry *t, uint32_t mda)
{
	uint32_t id;

	if (is_broadcast(t, mda))
		return true;
	if (t->x2apic)
		return (t->ldr >> 16) == (mda >> 16) && (t->ldr & mda & 0xffff);
	id = t->ldr >> 24;
	switch (t->dfr) {
	case 0xffffffffu:            /* flat: 8-bit mask */
		return id & mda;
	case 0x0fffffffu:            /* cluster: 4-bit cluster, 4-bit mask */
		return (id >> 4) == (mda >> 4) && (id & mda & 0xf);
	default:
		return false;
	}
}

/* kvm_apic_match_dest() with kvm_apic_mda() */
static bool match(const struct apic_bus_entry *t, int ti, const struct irq_msg *m, uint32_t api)
{
	uint32_t mda = m->dest;

	/* a device's xAPIC broadcast reaches x2APIC LAPICs too, unless the quirk is off */
	if (!(api & APIC_BUS_NO_BROADCAST_QUIRK) && m->src < 0 && mda == XAPIC_BROADCAST && t->x2apic)
		mda = X2APIC_BROADCAST;
	switch (m->shorthand) {
	case IRQ_SH_NONE:
		return m->dest_logical ? match_logical(t, mda) : match_physical(t, mda);
	case IRQ_SH_SELF:
		return ti == m->src;
	case IRQ_SH_ALL:
		return true;
	default:
		return ti != m->src;
	}
}

/*
 * KVM's map->logical_mode == KVM_APIC_MODE_X2APIC: every SW-enabled LAPIC
 * with a logical ID is in x2APIC mode, and there is at least one.
 */
static bool logical_mode_x2apic(const struct apic_bus *b)
{
	bool any = false;

	for (unsigned i = 0; i < b->max; i++) {
		const struct apic_bus_entry *t = &b->ent[i];

		if (!t->lapic || !t->hw_enabled || !t->sw_enabled || !t->ldr)
			continue;
		if (!t->x2apic)
			return false;
		any = true;
	}
	return any;
}

/* kvm_apic_is_broadcast_dest(): whether KVM's map path would have punted to the slow path */
static bool broadcast_dest(const struct apic_bus *b, const struct irq_msg *m, uint32_t api)
{
	if (api & APIC_BUS_NO_BROADCAST_QUIRK)
		return m->dest == X2APIC_BROADCAST ||
		       (m->dest == XAPIC_BROADCAST && !logical_mode_x2apic(b));
	if (m->src >= 0 && (unsigned)m->src < b->max && b->ent[m->src].lapic && b->ent[m->src].x2apic)
		return m->dest == X2APIC_BROADCAST;
	return m->dest == XAPIC_BROADCAST;
}

int apic_bus_deliver(struct apic_bus *b, const struct irq_msg *in)
{
	struct lapic *targets[APIC_BUS_MAX_VCPUS];
	uint32_t api = atomic_load(&b->x2apic_api);
	struct irq_msg m = *in;
	unsigned n = 0, nlow = 0;
	bool lowest, slow;
	int r = 0;

	/* a physical broadcast cannot pick one target: KVM delivers it as fixed */
	if (!m.dest_logical && m.dest == XAPIC_BROADCAST && m.delivery == IRQ_DM_LOWEST)
		m.delivery = IRQ_DM_FIXED;
	lowest = m.delivery == IRQ_DM_LOWEST;

	pthread_rwlock_rdlock(&b->lock);
	slow = m.shorthand != IRQ_SH_NONE || broadcast_dest(b, &m, api);
	for (unsigned i = 0; i < b->max; i++) {
		const struct apic_bus_entry *t = &b->ent[i];

		if (!t->lapic || !t->hw_enabled || !match(t, (int)i, &m, api))
			continue;
		if (lowest && !t->sw_enabled)
			continue;
		targets[n++] = t->lapic;
	}
	pthread_rwlock_unlock(&b->lock);

	if (lowest && n) {
		/* vector hashing: deterministic, spreads vectors over the candidates */
		targets[0] = targets[m.vector % n];
		nlow = 1;
	}
	if (!n)
		return slow ? -1 : 0;
	for (unsigned i = 0; i < (lowest ? nlow : n); i++)
		r += lapic_deliver(targets[i], &m);
	return r;
}

int apic_bus_deliver_hook(void *ctx, const struct irq_msg *m)
{
	return apic_bus_deliver(ctx, m);
}

int apic_msi_decode(uint64_t address, uint32_t data, uint32_t api, struct irq_msg *m)
{
	uint32_t lo = (uint32_t)address, hi = (uint32_t)(address >> 32);
	uint8_t dm = (data >> 8) & 7;

	if ((api & APIC_BUS_X2APIC_FORMAT) && (hi & 0xff))
		return -EINVAL;
	*m = (struct irq_msg){
		.dest = (lo >> 12) & 0xff,
		.vector = data & 0xff,
		.delivery = dm,
		.dest_logical = lo & (1u << 2),
		.level = true,
		.trig_level = data & (1u << 15),
		.shorthand = IRQ_SH_NONE,
		.src = -1,
	};
	if (api & APIC_BUS_X2APIC_FORMAT)
		m->dest |= hi & 0xffffff00u;
	/* the redirection hint asks for lowest-priority among the destinations */
	if ((lo & (1u << 3)) && dm == IRQ_DM_FIXED)
		m->delivery = IRQ_DM_LOWEST;
	return 0;
}
