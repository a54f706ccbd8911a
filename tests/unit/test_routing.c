/* SPDX-License-Identifier: MIT */
/* GSI routing (cused/irq/routing.c): KVM_SET_GSI_ROUTING rules, default table, MSI, fan-out */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/irq/routing.h"
#include "cused/irq/ioapic.h"
#include "cused/irq/pic.h"
#include "cused/irq/irq_line.h"
#include "cused/irq/pit.h"
#include "irq_fake.h"

struct t {
	struct fake_env f;
	struct pic *pic;
	struct ioapic *io;
	struct routing *rt;
};

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	fake_env_init(&t->f);
	assert_int_equal(pic_create(NULL, &t->pic), 0);
	assert_int_equal(ioapic_create(&t->f.env, NULL, &t->io), 0);
	assert_int_equal(routing_create(t->pic, t->io, &t->f.env, &t->rt), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	routing_destroy(t->rt);
	ioapic_destroy(t->io);
	pic_destroy(t->pic);
	free(t);
	return 0;
}

#define CHIP(g, c, p) { .gsi = (g), .type = KVM_IRQ_ROUTING_IRQCHIP, \
	.u.irqchip = { .irqchip = (c), .pin = (p) } }
#define MSI(g, lo, d) { .gsi = (g), .type = KVM_IRQ_ROUTING_MSI, \
	.u.msi = { .address_lo = (lo), .data = (d) } }
#define M KVM_IRQCHIP_PIC_MASTER
#define S KVM_IRQCHIP_PIC_SLAVE
#define IO KVM_IRQCHIP_IOAPIC

static const struct {
	const char *name;
	struct kvm_irq_routing_entry e[3];
	unsigned nr;
	int err;
} cases[] = {
	{ "empty", { { 0 } }, 0, 0 },
	{ "ioapic pin 23", { CHIP(1, IO, 23) }, 1, 0 },
	{ "ioapic pin 24", { CHIP(1, IO, 24) }, 1, -EINVAL },
	{ "master pin 7", { CHIP(1, M, 7) }, 1, 0 },
	{ "master pin 8", { CHIP(1, M, 8) }, 1, -EINVAL },
	{ "slave pin 7", { CHIP(1, S, 7) }, 1, 0 },
	{ "slave pin 8", { CHIP(1, S, 8) }, 1, -EINVAL },
	{ "irqchip 3", { CHIP(1, 3, 0) }, 1, -EINVAL },
	{ "irqchip huge", { CHIP(1, 0x80000000u, 0) }, 1, -EINVAL },
	{ "gsi 4095", { CHIP(4095, IO, 0) }, 1, 0 },
	{ "gsi 4096", { CHIP(4096, IO, 0) }, 1, -EINVAL },
	{ "bad gsi after good", { CHIP(1, IO, 1), MSI(~0u, 0xfee00000, 0) }, 2, -EINVAL },
	{ "type 0", { { .gsi = 1, .type = 0 } }, 1, -EINVAL },
	{ "type s390", { { .gsi = 1, .type = KVM_IRQ_ROUTING_S390_ADAPTER } }, 1, -EINVAL },
	{ "type hv sint", { { .gsi = 1, .type = KVM_IRQ_ROUTING_HV_SINT } }, 1, -EINVAL },
	{ "type xen", { { .gsi = 1, .type = KVM_IRQ_ROUTING_XEN_EVTCHN } }, 1, -EINVAL },
	{ "irqchip flags", { { .gsi = 1, .type = KVM_IRQ_ROUTING_IRQCHIP, .flags = 1,
			       .u.irqchip = { IO, 1 } } }, 1, -EINVAL },
	{ "msi devid flag", { { .gsi = 1, .type = KVM_IRQ_ROUTING_MSI,
				.flags = KVM_MSI_VALID_DEVID } }, 1, 0 },
	{ "msi other flag", { { .gsi = 1, .type = KVM_IRQ_ROUTING_MSI, .flags = 2 } }, 1, -EINVAL },
	{ "three chips one gsi", { CHIP(5, IO, 5), CHIP(5, M, 5), CHIP(5, S, 5) }, 3, 0 },
	{ "same chip twice", { CHIP(5, IO, 5), CHIP(5, IO, 6) }, 2, -EINVAL },
	{ "pic slave twice", { CHIP(5, S, 1), CHIP(5, S, 2) }, 2, -EINVAL },
	{ "msi then chip", { MSI(5, 0xfee00000, 0), CHIP(5, IO, 5) }, 2, -EINVAL },
	{ "chip then msi", { CHIP(5, IO, 5), MSI(5, 0xfee00000, 0) }, 2, -EINVAL },
	{ "two msis", { MSI(5, 0xfee00000, 0), MSI(5, 0xfee00000, 1) }, 2, -EINVAL },
	{ "msi on other gsis", { MSI(5, 0xfee00000, 0), MSI(6, 0xfee00000, 1) }, 2, 0 },
	{ "one pin, two gsis", { CHIP(5, IO, 5), CHIP(6, IO, 5) }, 2, 0 },
};

static void test_validation(void **state)
{
	struct t *t = *state;

	for (unsigned i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int r = routing_set(t->rt, cases[i].e, cases[i].nr, 0);

		if (r != cases[i].err)
			fail_msg("%s: got %d, want %d", cases[i].name, r, cases[i].err);
	}
	/* the ioctl-level checks */
	assert_int_equal(routing_set(t->rt, NULL, 0, 1), -EINVAL);
	assert_int_equal(routing_set(t->rt, NULL, ROUTING_MAX_ROUTES + 1, 0), -EINVAL);
}

static void test_split_irqchip(void **state)
{
	struct t *t = *state;
	struct routing *rt;
	const struct kvm_irq_routing_entry chip[] = { CHIP(1, IO, 1) };
	const struct kvm_irq_routing_entry msi[] = { MSI(1, 0xfee00000, 0x31) };

	assert_int_equal(routing_create(NULL, NULL, &t->f.env, &rt), 0);
	assert_int_equal(routing_set(rt, chip, 1, 0), -EINVAL);
	assert_int_equal(routing_set(rt, msi, 1, 0), 0);
	assert_int_equal(routing_set_irq(rt, 1, IRQ_SRC_USERSPACE, 1), 1);
	assert_int_equal(t->f.msgs[0].vector, 0x31);
	routing_destroy(rt);
}

static void test_default_table(void **state)
{
	struct t *t = *state;
	struct routing_entry e[ROUTING_MAX_PER_GSI];

	assert_int_equal(routing_lookup(t->rt, 0, e), 0);   /* created empty */
	assert_int_equal(routing_set_default(t->rt), 0);
	for (unsigned gsi = 0; gsi < 24; gsi++) {
		unsigned n = routing_lookup(t->rt, gsi, e);

		assert_int_equal(n, gsi < 16 ? 2 : 1);
		assert_int_equal(e[0].irqchip.chip, IO);
		assert_int_equal(e[0].irqchip.pin, gsi);
		if (gsi < 16) {
			assert_int_equal(e[1].irqchip.chip, gsi < 8 ? M : S);
			assert_int_equal(e[1].irqchip.pin, gsi);   /* slave pins stored as 8-15 */
		}
		assert_int_equal(routing_map_chip_pin(t->rt, IO, gsi), gsi);
	}
	assert_int_equal(routing_lookup(t->rt, 24, e), 0);
	assert_int_equal(routing_lookup(t->rt, 100000, e), 0);
	assert_int_equal(routing_map_chip_pin(t->rt, S, 9), 9);
	assert_int_equal(routing_map_chip_pin(t->rt, M, 9), -1);
	assert_int_equal(routing_map_chip_pin(t->rt, 3, 0), -1);
	/* KVM's table has no IRQ0 → IOAPIC pin 2 override */
	assert_int_equal(routing_map_chip_pin(t->rt, IO, 2), 2);
}

static void test_msi_decode(void **state)
{
	static const struct {
		uint32_t lo, data;
		uint32_t dest;
		uint8_t vector, delivery;
		bool logical, trig_level;
	} m[] = {
		{ 0xfee00000, 0x0031, 0x00, 0x31, IRQ_DM_FIXED, false, false },
		{ 0xfee0f000, 0x4041, 0x0f, 0x41, IRQ_DM_FIXED, false, false },   /* bit 14 ignored */
		{ 0xfeeff004, 0x8151, 0xff, 0x51, IRQ_DM_LOWEST, true, true },
		{ 0xfee01008, 0x0061, 0x01, 0x61, IRQ_DM_LOWEST, false, false },  /* hint: lowest */
		{ 0xfee0100c, 0x0400, 0x01, 0x00, IRQ_DM_NMI, true, false },      /* hint kept off NMI */
		{ 0xfee02000, 0x0500, 0x02, 0x00, IRQ_DM_INIT, false, false },
		{ 0xfee03000, 0x0700, 0x03, 0x00, IRQ_DM_EXTINT, false, false },
		{ 0x12345000, 0x00ff, 0x45, 0xff, IRQ_DM_FIXED, false, false },   /* prefix not checked */
	};

	for (unsigned i = 0; i < sizeof(m) / sizeof(m[0]); i++) {
		struct irq_msg g;

		routing_msi_to_msg(m[i].lo, 0xffffffff, m[i].data, &g);
		assert_int_equal(g.dest, m[i].dest);
		assert_int_equal(g.vector, m[i].vector);
		assert_int_equal(g.delivery, m[i].delivery);
		assert_int_equal(g.dest_logical, m[i].logical);
		assert_int_equal(g.trig_level, m[i].trig_level);
		assert_true(g.level);
		assert_int_equal(g.shorthand, IRQ_SH_NONE);
		assert_int_equal(g.src, -1);
	}
}

static void pic_init(struct t *t)
{
	static const struct { uint16_t port; uint8_t v; } seq[] = {
		{ 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 }, { 0x21, 0x01 },
		{ 0xa0, 0x11 }, { 0xa1, 0x70 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
	};

	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		assert_int_equal(pic_write(t->pic, seq[i].port, &seq[i].v, 1), 0);
}

static void ioapic_unmask(struct t *t, unsigned pin, uint8_t vector)
{
	uint32_t sel = 0x10 + 2 * pin, lo = vector;

	assert_int_equal(ioapic_write(t->io, IOAPIC_DEFAULT_BASE, &sel, 4), 0);
	assert_int_equal(ioapic_write(t->io, IOAPIC_DEFAULT_BASE + 0x10, &lo, 4), 0);
}

static void test_fan_out(void **state)
{
	struct t *t = *state;
	const struct kvm_irq_routing_entry msi[] = { MSI(30, 0xfee01000, 0x0071) };

	assert_int_equal(routing_set_default(t->rt), 0);
	pic_init(t);
	/* both chips take GSI 4: 1 (PIC) + 1 (IOAPIC) */
	ioapic_unmask(t, 4, 0x34);
	assert_int_equal(routing_set_irq(t->rt, 4, IRQ_SRC_USERSPACE, 1), 2);
	assert_true(pic_has_intr(t->pic));
	assert_int_equal(t->f.nmsgs, 1);
	assert_int_equal(t->f.msgs[0].vector, 0x34);
	assert_int_equal(pic_intack(t->pic), 0x0c);
	/* GSI 3: the IOAPIC pin is masked and skipped, the PIC delivers */
	assert_int_equal(routing_set_irq(t->rt, 3, IRQ_SRC_USERSPACE, 1), 1);
	/* GSI 20: IOAPIC only, masked: -1 */
	assert_int_equal(routing_set_irq(t->rt, 20, IRQ_SRC_USERSPACE, 1), -1);
	/* no route */
	assert_int_equal(routing_set_irq(t->rt, 200, IRQ_SRC_USERSPACE, 1), -1);
	/* a level line held by two sources stays up until both drop */
	routing_set_irq(t->rt, 20, IRQ_SRC_PIT, 1);
	routing_set_irq(t->rt, 20, IRQ_SRC_USERSPACE, 0);
	assert_true(ioapic_line(t->io, 20));
	routing_set_irq(t->rt, 20, IRQ_SRC_PIT, 0);
	assert_false(ioapic_line(t->io, 20));
	/* an MSI route: delivered on assert, nothing on de-assert */
	assert_int_equal(routing_set(t->rt, msi, 1, 0), 0);
	t->f.deliver_result = 3;
	assert_int_equal(routing_set_irq(t->rt, 30, IRQ_SRC_USERSPACE, 1), 3);
	assert_int_equal(t->f.msgs[t->f.nmsgs - 1].vector, 0x71);
	assert_int_equal(t->f.msgs[t->f.nmsgs - 1].dest, 1);
	assert_int_equal(routing_set_irq(t->rt, 30, IRQ_SRC_USERSPACE, 0), -1);
	t->f.deliver_result = -ENOENT;
	assert_int_equal(routing_set_irq(t->rt, 30, IRQ_SRC_USERSPACE, 1), -1);
}

/*
 * KVM_IRQ_LINE_STATUS values seen on the host's KVM (Linux 6.18) for the
 * same sequence on a fresh KVM_CREATE_IRQCHIP VM with no vCPUs, where every
 * IOAPIC pin is masked and the PIC's IMR is clear.
 */
static void test_line_status_as_kvm(void **state)
{
	struct t *t = *state;
	static const struct { uint32_t gsi; bool level; int status; } seq[] = {
		{ 4, 1, 1 },     /* PIC 1 + masked IOAPIC edge (-1, skipped) */
		{ 4, 1, 1 },     /* PIC: line held; IOAPIC: edge already high, 0 */
		{ 4, 0, 2 },     /* both report a de-assert as 1 */
		{ 4, 1, 0 },     /* PIC: IRR still set, coalesced; IOAPIC masked */
		{ 20, 1, -1 },   /* IOAPIC only, masked */
		{ 200, 1, -1 },  /* no route */
		{ 20, 0, 1 },
	};
	struct kvm_pic_state ps;
	struct kvm_ioapic_state is;

	assert_int_equal(routing_set_default(t->rt), 0);
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
		assert_int_equal(routing_set_irq(t->rt, seq[i].gsi, IRQ_SRC_USERSPACE, seq[i].level),
				 seq[i].status);
	pic_get_state(t->pic, 0, &ps);
	assert_int_equal(ps.irr, 0x10);
	assert_int_equal(ps.last_irr, 0x10);
	ioapic_get_state(t->io, &is);
	assert_int_equal(is.irr, 0x10);
}

static void test_qemu_pit_override(void **state)
{
	struct t *t = *state;
	/* what QEMU installs: GSI 0 → PIC IRQ0 and IOAPIC pin 2, GSI 2 → nothing */
	const struct kvm_irq_routing_entry qemu[] = {
		CHIP(0, M, 0), CHIP(0, IO, 2), CHIP(1, M, 1), CHIP(1, IO, 1),
	};

	assert_int_equal(routing_set(t->rt, qemu, 4, 0), 0);
	ioapic_unmask(t, 2, 0x30);
	assert_int_equal(routing_set_irq(t->rt, 0, IRQ_SRC_PIT, 1), 2);
	assert_int_equal(t->f.msgs[0].vector, 0x30);
	assert_int_equal(routing_map_chip_pin(t->rt, IO, 2), 0);
	assert_int_equal(routing_map_chip_pin(t->rt, IO, 0), -1);
	assert_int_equal(routing_set_irq(t->rt, 2, IRQ_SRC_USERSPACE, 1), -1);
}

static void test_replace_whole(void **state)
{
	struct t *t = *state;
	struct routing_entry e[ROUTING_MAX_PER_GSI];
	const struct kvm_irq_routing_entry a[] = { MSI(5, 0xfee00000, 0x45), CHIP(7, IO, 7) };
	const struct kvm_irq_routing_entry bad[] = { CHIP(6, IO, 6), CHIP(6, IO, 9) };
	const struct kvm_irq_routing_entry b[] = { CHIP(6, IO, 6) };

	assert_int_equal(routing_set(t->rt, a, 2, 0), 0);
	assert_int_equal(routing_set(t->rt, bad, 2, 0), -EINVAL);
	/* a refused table leaves the old one whole */
	assert_int_equal(routing_lookup(t->rt, 5, e), 1);
	assert_int_equal(e[0].msi.data, 0x45);
	assert_int_equal(routing_lookup(t->rt, 6, e), 0);
	assert_int_equal(routing_set(t->rt, b, 1, 0), 0);
	/* nothing of the old table survives */
	assert_int_equal(routing_lookup(t->rt, 5, e), 0);
	assert_int_equal(routing_lookup(t->rt, 7, e), 0);
	assert_int_equal(routing_map_chip_pin(t->rt, IO, 7), -1);
	assert_int_equal(routing_lookup(t->rt, 6, e), 1);
}

static void test_signal_msi(void **state)
{
	struct t *t = *state;
	struct kvm_msi msi = { .address_lo = 0xfee02000, .data = 0x0055 };

	assert_int_equal(routing_signal_msi(t->rt, &msi), 1);
	assert_int_equal(t->f.msgs[0].dest, 2);
	msi.flags = KVM_MSI_VALID_DEVID;
	assert_int_equal(routing_signal_msi(t->rt, &msi), 1);
	msi.flags = 2;
	assert_int_equal(routing_signal_msi(t->rt, &msi), -EINVAL);
	msi.flags = 0;
	t->f.deliver_result = 0;
	assert_int_equal(routing_signal_msi(t->rt, &msi), 0);
	t->f.deliver_result = -ENOENT;
	assert_int_equal(routing_signal_msi(t->rt, &msi), -1);
}

/*
 * The wiring the VM will do, end to end: PIT pulses go through the routing
 * (GSI 0, source PIT) into the PIC; the PIC's ack notifier maps its pin back
 * to a GSI and acks the PIT, which then sends the next reinjected tick.
 * Every hook runs with no device lock held, so these chains cannot deadlock.
 */
struct wired {
	struct t *t;
	struct pit *pit;
};

static void w_pulse(void *ctx)
{
	struct wired *w = ctx;

	routing_set_irq(w->t->rt, 0, IRQ_SRC_PIT, 1);
	routing_set_irq(w->t->rt, 0, IRQ_SRC_PIT, 0);
}

static void w_ack(void *ctx, unsigned irq)
{
	struct wired *w = ctx;

	if (routing_map_chip_pin(w->t->rt, irq < 8 ? KVM_IRQCHIP_PIC_MASTER : KVM_IRQCHIP_PIC_SLAVE,
				 irq) == 0)
		pit_irq_ack(w->pit);
}

static void test_wired_pit_reinject(void **state)
{
	struct t *t = *state;
	struct wired w = { .t = t };
	struct pit_env penv = { .pulse = w_pulse, .ctx = &w };
	struct pic_env picenv = { .ack = w_ack, .ctx = &w };
	const uint8_t eoi = 0x20;
	unsigned taken = 0;

	pic_destroy(t->pic);
	assert_int_equal(pic_create(&picenv, &t->pic), 0);
	routing_destroy(t->rt);
	assert_int_equal(routing_create(t->pic, t->io, &t->f.env, &t->rt), 0);
	assert_int_equal(routing_set_default(t->rt), 0);
	assert_int_equal(pit_create(&t->f.env, &penv, 0, &w.pit), 0);
	pic_init(t);
	/* mode 2, count 1193 */
	assert_int_equal(pit_write(w.pit, 0x43, "\x34", 1), 0);
	assert_int_equal(pit_write(w.pit, 0x40, "\xa9", 1), 0);
	assert_int_equal(pit_write(w.pit, 0x40, "\x04", 1), 0);
	/* the guest was away for 10 ms: 10 ticks owed, one per EOI */
	t->f.now = 10000000;
	pit_tick(w.pit, t->f.now);
	while (pic_has_intr(t->pic) && taken < 100) {
		assert_int_equal(pic_intack(t->pic), 0x08);
		taken++;
		assert_int_equal(pic_write(t->pic, 0x20, &eoi, 1), 0);
	}
	assert_int_equal(taken, 10);
	pit_destroy(w.pit);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_validation), T(test_split_irqchip), T(test_default_table), T(test_msi_decode),
		T(test_fan_out), T(test_line_status_as_kvm), T(test_qemu_pit_override), T(test_replace_whole), T(test_signal_msi), T(test_wired_pit_reinject),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
