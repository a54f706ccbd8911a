/* SPDX-License-Identifier: MIT */
/*
 * The APIC bus (cused/irq/apic_bus.c) against KVM's kvm_apic_match_dest,
 * __kvm_irq_delivery_to_apic and kvm_set_msi_irq: physical, logical flat,
 * cluster and x2APIC destinations, broadcasts and shorthands, lowest
 * priority by vector hashing, IPIs end to end, MSI decode.
 */
#include "lapic_fixture.h"
#include "cused/irq/apic_bus.h"

#define N 4

struct bus_env {
	struct fake_env f;             /* clock and arm for the timers */
	struct apic_bus *bus;
	struct lapic *l[N];
	unsigned kicks[N];
};

static int b_deliver(void *ctx, const struct irq_msg *m)
{
	return apic_bus_deliver(((struct bus_env *)ctx)->bus, m);
}

static void b_kick(void *ctx, void *dev)
{
	struct bus_env *b = ctx;

	for (unsigned i = 0; i < N; i++)
		if (b->l[i] == dev)
			b->kicks[i]++;
}

static int setup(void **state)
{
	struct bus_env *b = calloc(1, sizeof(*b));

	fake_env_init(&b->f);
	b->f.env.deliver = b_deliver;
	b->f.env.kick = b_kick;
	assert_int_equal(apic_bus_create(N, &b->bus), 0);
	for (unsigned i = 0; i < N; i++) {
		struct lapic_config c = { .vcpu_id = i, .vcpu_index = (int)i, .bsp = i == 0,
					  .bus = b->bus, .caps = { .x2apic = true } };

		assert_int_equal(lapic_create(&c, &b->f.env, &b->l[i]), 0);
		sw_enable(b->l[i]);
	}
	*state = b;
	return 0;
}

static int teardown(void **state)
{
	struct bus_env *b = *state;

	for (unsigned i = 0; i < N; i++)
		lapic_destroy(b->l[i]);
	apic_bus_destroy(b->bus);
	free(b);
	return 0;
}

/* which LAPICs got vector v: a bitmap; takes it out of them */
static unsigned got(struct bus_env *b, uint8_t v)
{
	unsigned mask = 0;

	for (unsigned i = 0; i < N; i++)
		if (lapic_pending_intr(b->l[i]) == v) {
			mask |= 1u << i;
			lapic_intr_accepted(b->l[i], v);
			lapic_eoi(b->l[i]);
		}
	return mask;
}

static int send(struct bus_env *b, uint32_t dest, bool logical, uint8_t sh, int src)
{
	struct irq_msg m = { .dest = dest, .vector = 0x55, .delivery = IRQ_DM_FIXED, .level = true,
			     .dest_logical = logical, .shorthand = sh, .src = src };

	return apic_bus_deliver(b->bus, &m);
}

static void test_physical_and_shorthands(void **state)
{
	static const struct { const char *name; uint32_t dest; uint8_t sh; int src; int r; unsigned mask; } t[] = {
		{ "physical 2", 2, IRQ_SH_NONE, -1, 1, 0x4 },
		{ "physical absent", 9, IRQ_SH_NONE, -1, 0, 0 },
		{ "physical broadcast", 0xff, IRQ_SH_NONE, -1, 4, 0xf },
		{ "self", 0, IRQ_SH_SELF, 1, 1, 0x2 },
		{ "all", 0, IRQ_SH_ALL, 1, 4, 0xf },
		{ "all but self", 0, IRQ_SH_OTHERS, 1, 3, 0xd },
	};
	struct bus_env *b = *state;

	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = send(b, t[i].dest, false, t[i].sh, t[i].src);
		unsigned m = got(b, 0x55);

		if (r != t[i].r || m != t[i].mask)
			fail_msg("%s: r %d mask %#x, want %d %#x", t[i].name, r, m, t[i].r, t[i].mask);
	}
	/* a rewritten xAPIC ID is what matches */
	wr(b->l[1], 0x20, 0x20u << 24);
	assert_int_equal(send(b, 0x20, false, 0, -1), 1);
	assert_int_equal(got(b, 0x55), 0x2);
	assert_int_equal(send(b, 1, false, 0, -1), 0);
	/* a HW-disabled LAPIC matches nothing, not even a broadcast */
	assert_int_equal(lapic_set_base(b->l[3], BASE, false), 0);
	assert_int_equal(send(b, 0xff, false, 0, -1), 3);
	assert_int_equal(got(b, 0x55), 0x7);
	/* a SW-disabled one matches but does not accept fixed interrupts */
	wr(b->l[2], 0xf0, 0xff);
	assert_int_equal(send(b, 0xff, false, 0, -1), 2);
	assert_int_equal(got(b, 0x55), 0x3);
	/* the kicks went to the receivers */
	assert_true(b->kicks[0] > 0 && b->kicks[1] > 0);
}

static void test_logical_flat_and_cluster(void **state)
{
	struct bus_env *b = *state;

	for (unsigned i = 0; i < N; i++)
		wr(b->l[i], 0xd0, 1u << (24 + i));
	assert_int_equal(send(b, 0x5, true, 0, -1), 2);
	assert_int_equal(got(b, 0x55), 0x5);
	assert_int_equal(send(b, 0xf0, true, 0, -1), 0);
	assert_int_equal(send(b, 0xff, true, 0, -1), 4);      /* logical broadcast */
	assert_int_equal(got(b, 0x55), 0xf);
	/* cluster model: 4-bit cluster id, 4-bit member mask */
	static const uint32_t ldr[N] = { 0x11, 0x12, 0x21, 0x14 };
	for (unsigned i = 0; i < N; i++) {
		wr(b->l[i], 0xe0, 0x0fffffff);
		wr(b->l[i], 0xd0, ldr[i] << 24);
	}
	assert_int_equal(send(b, 0x13, true, 0, -1), 2);
	assert_int_equal(got(b, 0x55), 0x3);
	assert_int_equal(send(b, 0x2f, true, 0, -1), 1);
	assert_int_equal(got(b, 0x55), 0x4);
	assert_int_equal(send(b, 0x16, true, 0, -1), 2);
	assert_int_equal(got(b, 0x55), 0xa);
}

static void test_x2apic_destinations(void **state)
{
	struct bus_env *b = *state;

	for (unsigned i = 0; i < N; i++)
		to_x2apic(b->l[i]);
	/* logical: cluster 0 (bits 31:16), member mask 15:0 = 1 << id */
	assert_int_equal(send(b, 0x6, true, 0, -1), 2);
	assert_int_equal(got(b, 0x55), 0x6);
	assert_int_equal(send(b, 1u << 16 | 0x6, true, 0, -1), 0);
	assert_int_equal(send(b, 3, false, 0, -1), 1);
	assert_int_equal(got(b, 0x55), 0x8);
	assert_int_equal(send(b, 0xffffffff, false, 0, -1), 4);
	assert_int_equal(got(b, 0x55), 0xf);
	/* a device's xAPIC broadcast reaches x2APIC LAPICs, unless the quirk is disabled */
	assert_int_equal(send(b, 0xff, false, 0, -1), 4);
	assert_int_equal(got(b, 0x55), 0xf);
	assert_int_equal(send(b, 0xff, false, 0, 0), 0);   /* an IPI is not rewritten */
	/* without the quirk 0xff is x2APIC ID 255 while every logical ID is x2APIC ... */
	apic_bus_set_x2apic_api(b->bus, APIC_BUS_X2APIC_FORMAT | APIC_BUS_NO_BROADCAST_QUIRK);
	assert_int_equal(send(b, 0xff, false, 0, -1), 0);
	assert_int_equal(got(b, 0x55), 0);
	/* ... and a broadcast nobody matches once KVM's map would not be x2APIC: -1 */
	wr(b->l[0], 0xf0, 0xff);
	for (unsigned i = 0; i < N; i++)
		assert_int_equal(lapic_set_base(b->l[i], BASE, false), 0);
	assert_int_equal(send(b, 0xff, false, 0, -1), -1);
}

static void test_lowest_priority_hashing(void **state)
{
	struct bus_env *b = *state;

	for (unsigned i = 0; i < N; i++)
		wr(b->l[i], 0xd0, 1u << (24 + i));
	for (unsigned v = 0x40; v < 0x48; v++) {
		struct irq_msg m = { .dest = 0xf, .dest_logical = true, .vector = (uint8_t)v,
				     .delivery = IRQ_DM_LOWEST, .level = true, .src = -1 };

		assert_int_equal(apic_bus_deliver(b->bus, &m), 1);
		assert_int_equal(got(b, (uint8_t)v), 1u << (v % N));
	}
	/* SW-disabled LAPICs are not candidates: 3 left, the (v mod 3)-th of 1,2,3 */
	wr(b->l[0], 0xf0, 0xff);
	for (unsigned v = 0x40; v < 0x46; v++) {
		struct irq_msg m = { .dest = 0xf, .dest_logical = true, .vector = (uint8_t)v,
				     .delivery = IRQ_DM_LOWEST, .level = true, .src = -1 };

		assert_int_equal(apic_bus_deliver(b->bus, &m), 1);
		assert_int_equal(got(b, (uint8_t)v), 1u << (1 + v % 3));
	}
	/* a physical broadcast cannot pick one: it goes to all as fixed */
	struct irq_msg m = { .dest = 0xff, .vector = 0x55, .delivery = IRQ_DM_LOWEST,
			     .level = true, .src = -1 };
	assert_int_equal(apic_bus_deliver(b->bus, &m), 3);
	assert_int_equal(got(b, 0x55), 0xe);
}

static void test_ipi_end_to_end(void **state)
{
	struct bus_env *b = *state;
	uint32_t mp = KVM_MP_STATE_RUNNABLE;
	int sipi;

	/* fixed IPI from 0 to 2 through ICR2/ICR */
	wr(b->l[0], 0x310, 2u << 24);
	wr(b->l[0], 0x300, 0x4077);
	assert_int_equal(got(b, 0x77), 0x4);
	assert_int_equal(b->kicks[2], 1);
	/* INIT then SIPI to all but self: the APs wake in wait-for-SIPI, then run */
	wr(b->l[0], 0x300, 0xc4500);
	wr(b->l[0], 0x300, 0xc0699);
	assert_false(lapic_has_pending_init_or_sipi(b->l[0]));
	for (unsigned i = 1; i < N; i++) {
		mp = KVM_MP_STATE_RUNNABLE;
		assert_int_equal(lapic_accept_events(b->l[i], &mp, &sipi), LAPIC_EV_INIT | LAPIC_EV_SIPI);
		assert_int_equal(mp, KVM_MP_STATE_RUNNABLE);
		assert_int_equal(sipi, 0x99);
	}
	/* self IPI in x2APIC mode lands in the sender's own IRR */
	sw_enable(b->l[1]);
	to_x2apic(b->l[1]);
	assert_int_equal(lapic_msr_write(b->l[1], 0x83f, 0x66), 0);
	assert_int_equal(got(b, 0x66), 0x2);
}

static void test_msi_decode(void **state)
{
	static const struct { const char *name; uint64_t addr; uint32_t data, api; int r; struct irq_msg want; } t[] = {
		{ "physical fixed edge", 0xfee03000, 0x0031, 0, 0,
		  { .dest = 3, .vector = 0x31, .delivery = IRQ_DM_FIXED } },
		{ "logical lowest level", 0xfee0f004, 0x8141, 0, 0,
		  { .dest = 0xf, .vector = 0x41, .delivery = IRQ_DM_LOWEST, .dest_logical = true,
		    .trig_level = true } },
		{ "redirection hint -> lowest", 0xfee0f00c, 0x0051, 0, 0,
		  { .dest = 0xf, .vector = 0x51, .delivery = IRQ_DM_LOWEST, .dest_logical = true } },
		{ "NMI", 0xfee01000, 0x0400, 0, 0, { .dest = 1, .delivery = IRQ_DM_NMI } },
		{ "address_hi ignored without 32-bit IDs", 0x12345600fee01000ull, 0x22, 0, 0,
		  { .dest = 1, .vector = 0x22 } },
		{ "extended destination", 0x00012300fee45000ull, 0x22, APIC_BUS_X2APIC_FORMAT, 0,
		  { .dest = 0x12345, .vector = 0x22 } },
		{ "address_hi low byte with 32-bit IDs", 0x00000001fee00000ull, 0x22,
		  APIC_BUS_X2APIC_FORMAT, -EINVAL, { 0 } },
	};

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct irq_msg m;
		int r = apic_msi_decode(t[i].addr, t[i].data, t[i].api, &m);

		if (r != t[i].r)
			fail_msg("%s: r %d want %d", t[i].name, r, t[i].r);
		if (r)
			continue;
		if (m.dest != t[i].want.dest || m.vector != t[i].want.vector ||
		    m.delivery != t[i].want.delivery || m.dest_logical != t[i].want.dest_logical ||
		    m.trig_level != t[i].want.trig_level || !m.level || m.shorthand || m.src != -1)
			fail_msg("%s: dest %#x vec %#x dm %u log %d trig %d", t[i].name, m.dest,
				 m.vector, m.delivery, m.dest_logical, m.trig_level);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_physical_and_shorthands, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logical_flat_and_cluster, setup, teardown),
		cmocka_unit_test_setup_teardown(test_x2apic_destinations, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lowest_priority_hashing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ipi_end_to_end, setup, teardown),
		cmocka_unit_test(test_msi_decode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
