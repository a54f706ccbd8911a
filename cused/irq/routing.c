/* SPDX-License-Identifier: MIT */
/*
 * GSI routing; mirrors Linux virt/kvm/irqchip.c and arch/x86/kvm/irq.c (see
 * routing.h).  The table is immutable once built: routing_set() builds a new
 * one off-lock, swaps the pointer under the write lock and frees the old one
 * after unlocking.  Readers hold the read lock only while copying a GSI's
 * entries out (KVM's srcu_read_lock around kvm_irq_map_gsi()), so the
 * devices, which take their own locks and may call back into the routing
 * (a PIT pulse from an ack notifier), never run under it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include "cused/irq/routing.h"
#include "cused/irq/ioapic.h"
#include "cused/irq/pic.h"
#include "cused/util/log.h"

_Static_assert(sizeof(struct kvm_irq_routing_entry) == 48, "kvm_irq_routing_entry layout");
_Static_assert(sizeof(struct kvm_msi) == 32, "kvm_msi layout");

struct routing_table {
	uint32_t nr_gsi;                       /* highest gsi + 1 */
	int32_t chip_gsi[KVM_NR_IRQCHIPS][KVM_IOAPIC_NUM_PINS]; /* KVM chip[][]: -1 = none */
	uint32_t *start;                       /* gsi g owns e[start[g] .. start[g + 1]) */
	struct routing_entry *e;
};

struct routing {
	pthread_rwlock_t lock;     /* covers the table pointer only */
	struct routing_table *table;
	/* immutable after create */
	struct pic *pic;
	struct ioapic *ioapic;
	const struct irq_env *env;
};

static void table_free(struct routing_table *t)
{
	if (!t)
		return;
	free(t->start);
	free(t->e);
	free(t);
}

/* KVM kvm_set_routing_entry() for x86: validate one entry and convert it */
static int convert_entry(const struct routing *rt, const struct kvm_irq_routing_entry *ue,
			 struct routing_entry *e)
{
	e->gsi = ue->gsi;
	e->type = ue->type;
	switch (ue->type) {
	case KVM_IRQ_ROUTING_IRQCHIP:
		if (!rt->pic || !rt->ioapic)
			return -EINVAL;   /* split irqchip: the VMM owns the pins */
		e->irqchip.chip = ue->u.irqchip.irqchip;
		e->irqchip.pin = ue->u.irqchip.pin;
		switch (ue->u.irqchip.irqchip) {
		case KVM_IRQCHIP_PIC_SLAVE:
		case KVM_IRQCHIP_PIC_MASTER:
			if (ue->u.irqchip.pin >= PIC_NUM_PINS / 2)
				return -EINVAL;
			if (ue->u.irqchip.irqchip == KVM_IRQCHIP_PIC_SLAVE)
				e->irqchip.pin += PIC_NUM_PINS / 2;
			return 0;
		case KVM_IRQCHIP_IOAPIC:
			return ue->u.irqchip.pin < KVM_IOAPIC_NUM_PINS ? 0 : -EINVAL;
		default:
			return -EINVAL;
		}
	case KVM_IRQ_ROUTING_MSI:
		/* KVM's kvm_msi_route_invalid() can only fail with x2APIC format,
		 * which we do not offer */
		e->msi.address_lo = ue->u.msi.address_lo;
		e->msi.address_hi = ue->u.msi.address_hi;
		e->msi.data = ue->u.msi.data;
		return 0;
	default:
		return -EINVAL;
	}
}

/* validate everything in KVM's order, then lay the entries out by gsi */
static int table_build(const struct routing *rt, const struct kvm_irq_routing_entry *ue,
		       uint32_t nr, struct routing_table **out)
{
	struct routing_table *t;
	uint8_t *chips = NULL;    /* per gsi: irqchips used, bit 7 = has a non-irqchip route */
	uint32_t *fill = NULL, max_gsi = 0;
	int r = -ENOMEM;

	for (uint32_t i = 0; i < nr; i++) {
		if (ue[i].gsi >= ROUTING_MAX_ROUTES)
			return -EINVAL;
		if (ue[i].gsi > max_gsi)
			max_gsi = ue[i].gsi;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return -ENOMEM;
	t->nr_gsi = max_gsi + 1;
	memset(t->chip_gsi, 0xff, sizeof(t->chip_gsi));
	t->start = calloc(t->nr_gsi + 1, sizeof(*t->start));
	t->e = calloc(nr ? nr : 1, sizeof(*t->e));
	chips = calloc(t->nr_gsi, 1);
	fill = calloc(t->nr_gsi, sizeof(*fill));
	if (!t->start || !t->e || !chips || !fill)
		goto fail;

	r = -EINVAL;
	for (uint32_t i = 0; i < nr; i++) {
		uint32_t g = ue[i].gsi;
		bool irqchip = ue[i].type == KVM_IRQ_ROUTING_IRQCHIP;

		if (ue[i].type == KVM_IRQ_ROUTING_MSI ? (ue[i].flags & ~KVM_MSI_VALID_DEVID)
						      : ue[i].flags)
			goto fail;
		/* setup_routing_entry(): one route per chip; an MSI (or any
		 * non-irqchip route) shares its gsi with nothing */
		if (chips[g] && (!irqchip || (chips[g] & 0x80) ||
				 (ue[i].u.irqchip.irqchip < 7 &&
				  (chips[g] & (1u << ue[i].u.irqchip.irqchip)))))
			goto fail;
		if (convert_entry(rt, &ue[i], &t->e[i]))   /* staged in input order */
			goto fail;
		chips[g] |= irqchip ? 1u << ue[i].u.irqchip.irqchip : 0x80;
		t->start[g + 1]++;
	}
	for (uint32_t g = 0; g < t->nr_gsi; g++)
		t->start[g + 1] += t->start[g];
	/* stable placement by gsi; delivery then follows the given order as
	 * kvm_set_irq() does */
	{
		struct routing_entry *sorted = calloc(nr ? nr : 1, sizeof(*sorted));

		r = -ENOMEM;
		if (!sorted)
			goto fail;
		for (uint32_t i = 0; i < nr; i++) {
			const struct routing_entry *e = &t->e[i];

			sorted[t->start[e->gsi] + fill[e->gsi]++] = *e;
			if (e->type == KVM_IRQ_ROUTING_IRQCHIP)
				t->chip_gsi[e->irqchip.chip][e->irqchip.pin] = (int32_t)e->gsi;
		}
		free(t->e);
		t->e = sorted;
	}
	free(chips);
	free(fill);
	*out = t;
	return 0;
fail:
	free(chips);
	free(fill);
	table_free(t);
	return r;
}

int routing_set(struct routing *rt, const struct kvm_irq_routing_entry *ue, uint32_t nr,
		uint32_t flags)
{
	struct routing_table *t, *old;
	int r;

	if (nr > ROUTING_MAX_ROUTES)
		return refuse(-EINVAL, "KVM_SET_GSI_ROUTING: nr %u > %u", nr, ROUTING_MAX_ROUTES);
	if (flags)
		return refuse(-EINVAL, "KVM_SET_GSI_ROUTING: flags 0x%x", flags);
	r = table_build(rt, ue, nr, &t);
	if (r)
		return refuse(r, "KVM_SET_GSI_ROUTING: invalid table (%d)", r);
	pthread_rwlock_wrlock(&rt->lock);
	old = rt->table;
	rt->table = t;
	pthread_rwlock_unlock(&rt->lock);
	/* readers copy entries out under the read lock, so none still uses old */
	table_free(old);
	return 0;
}

#define IOAPIC_ROUTE(n) { .gsi = (n), .type = KVM_IRQ_ROUTING_IRQCHIP, \
	.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = (n) } }
#define PIC_ROUTE(n) { .gsi = (n), .type = KVM_IRQ_ROUTING_IRQCHIP, \
	.u.irqchip = { .irqchip = (n) < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE, \
		       .pin = (n) % 8 } }
#define ROUTE2(n) IOAPIC_ROUTE(n), PIC_ROUTE(n)

static const struct kvm_irq_routing_entry default_routing[] = {
	ROUTE2(0), ROUTE2(1), ROUTE2(2), ROUTE2(3), ROUTE2(4), ROUTE2(5), ROUTE2(6), ROUTE2(7),
	ROUTE2(8), ROUTE2(9), ROUTE2(10), ROUTE2(11), ROUTE2(12), ROUTE2(13), ROUTE2(14), ROUTE2(15),
	IOAPIC_ROUTE(16), IOAPIC_ROUTE(17), IOAPIC_ROUTE(18), IOAPIC_ROUTE(19),
	IOAPIC_ROUTE(20), IOAPIC_ROUTE(21), IOAPIC_ROUTE(22), IOAPIC_ROUTE(23),
};

int routing_set_default(struct routing *rt)
{
	return routing_set(rt, default_routing,
			   sizeof(default_routing) / sizeof(default_routing[0]), 0);
}

unsigned routing_lookup(struct routing *rt, uint32_t gsi,
			struct routing_entry out[ROUTING_MAX_PER_GSI])
{
	const struct routing_table *t;
	unsigned n = 0;

	pthread_rwlock_rdlock(&rt->lock);
	t = rt->table;
	if (gsi < t->nr_gsi)
		for (uint32_t i = t->start[gsi]; i < t->start[gsi + 1] && n < ROUTING_MAX_PER_GSI; i++)
			out[n++] = t->e[i];
	pthread_rwlock_unlock(&rt->lock);
	return n;
}

int routing_map_chip_pin(struct routing *rt, unsigned chip, unsigned pin)
{
	int gsi;

	if (chip >= KVM_NR_IRQCHIPS || pin >= KVM_IOAPIC_NUM_PINS)
		return -1;
	pthread_rwlock_rdlock(&rt->lock);
	gsi = rt->table->chip_gsi[chip][pin];
	pthread_rwlock_unlock(&rt->lock);
	return gsi;
}

void routing_msi_to_msg(uint32_t address_lo, uint32_t address_hi, uint32_t data,
			struct irq_msg *m)
{
	(void)address_hi;
	*m = (struct irq_msg){
		.dest = (address_lo >> 12) & 0xff,
		.vector = data & 0xff,
		.delivery = (data >> 8) & 7,
		.shorthand = IRQ_SH_NONE,
		.dest_logical = address_lo & (1u << 2),
		.level = true,
		.trig_level = data & (1u << 15),
		.src = -1,
	};
	if ((address_lo & (1u << 3)) && m->delivery == IRQ_DM_FIXED)
		m->delivery = IRQ_DM_LOWEST;
}

/* KVM kvm_set_msi() */
static int set_msi(struct routing *rt, uint32_t lo, uint32_t hi, uint32_t data, bool level)
{
	struct irq_msg m;
	int r;

	if (!level)
		return -1;
	routing_msi_to_msg(lo, hi, data, &m);
	r = rt->env->deliver(rt->env->ctx, &m);
	return r < 0 ? -1 : r;
}

int routing_set_irq(struct routing *rt, uint32_t gsi, unsigned source, bool level)
{
	struct routing_entry set[ROUTING_MAX_PER_GSI];
	unsigned n = routing_lookup(rt, gsi, set);
	int ret = -1, r;

	for (unsigned i = 0; i < n; i++) {
		const struct routing_entry *e = &set[i];

		if (e->type == KVM_IRQ_ROUTING_MSI)
			r = set_msi(rt, e->msi.address_lo, e->msi.address_hi, e->msi.data, level);
		else if (e->irqchip.chip == KVM_IRQCHIP_IOAPIC)
			r = ioapic_set_irq(rt->ioapic, e->irqchip.pin, source, level);
		else
			r = pic_set_irq(rt->pic, e->irqchip.pin, source, level);
		if (r < 0)
			continue;
		ret = r + (ret < 0 ? 0 : ret);
	}
	return ret;
}

int routing_signal_msi(struct routing *rt, const struct kvm_msi *msi)
{
	if (msi->flags & ~KVM_MSI_VALID_DEVID)
		return refuse(-EINVAL, "KVM_SIGNAL_MSI: flags 0x%x", msi->flags);
	return set_msi(rt, msi->address_lo, msi->address_hi, msi->data, true);
}

int routing_create(struct pic *pic, struct ioapic *ioapic, const struct irq_env *env,
		   struct routing **out)
{
	struct routing *rt = calloc(1, sizeof(*rt));
	int r;

	if (!rt)
		return -ENOMEM;
	rt->pic = pic;
	rt->ioapic = ioapic;
	rt->env = env;
	pthread_rwlock_init(&rt->lock, NULL);
	r = table_build(rt, NULL, 0, &rt->table);
	if (r) {
		pthread_rwlock_destroy(&rt->lock);
		free(rt);
		return r;
	}
	*out = rt;
	return 0;
}

void routing_destroy(struct routing *rt)
{
	if (!rt)
		return;
	table_free(rt->table);
	pthread_rwlock_destroy(&rt->lock);
	free(rt);
}
