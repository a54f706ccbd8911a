/* SPDX-License-Identifier: MIT */
/*
 * LAPIC interrupt flow (cused/irq/lapic_irq.c) against KVM's
 * arch/x86/kvm/lapic.c: PPR, two-phase injection and EOI ordering, the TMR
 * and the EOI broadcast, ICR writes as bus messages, INIT/SIPI/NMI.
 */
#include "lapic_fixture.h"

static const struct lapic_config AP = { .vcpu_id = 3, .vcpu_index = 3,
					.caps = { .x2apic = true } };
static const struct lapic_config BSP = { .vcpu_id = 0, .vcpu_index = 0, .bsp = true,
					 .caps = { .x2apic = true } };

static int fixed(struct lapic *l, uint8_t v, bool level)
{
	struct irq_msg m = { .vector = v, .delivery = IRQ_DM_FIXED, .level = true,
			     .trig_level = level, .src = -1 };

	return lapic_deliver(l, &m);
}

static void test_ppr(void **state)
{
	static const struct { uint32_t tpr; int isr; uint32_t ppr; } t[] = {
		{ 0, -1, 0 }, { 0x35, -1, 0x35 }, { 0x35, 0x20, 0x35 }, { 0x35, 0x3f, 0x35 },
		{ 0x35, 0x41, 0x40 }, { 0, 0xef, 0xe0 }, { 0xff, 0xef, 0xff },
	};
	struct tenv te;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lapic *l;

		tenv_init(&te);
		l = mk_lapic(&te, &AP);
		sw_enable(l);
		if (t[i].isr >= 0) {
			assert_int_equal(fixed(l, (uint8_t)t[i].isr, false), 1);
			assert_int_equal(lapic_pending_intr(l), t[i].isr);
			lapic_intr_accepted(l, t[i].isr);
		}
		wr(l, 0x80, t[i].tpr);
		if (rd(l, 0xa0) != t[i].ppr)
			fail_msg("case %u: ppr %#x want %#x", i, rd(l, 0xa0), t[i].ppr);
		lapic_destroy(l);
	}
}

static void test_pending_accept_eoi_order(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	assert_int_equal(lapic_pending_intr(l), -1);
	assert_int_equal(fixed(l, 0x31, false), 1);
	assert_int_equal(fixed(l, 0x52, false), 1);
	assert_int_equal(fixed(l, 0x45, false), 1);
	/* visible in IRR once the runner syncs (a register read syncs) */
	assert_int_equal(rd(l, 0x210), (1u << (0x31 - 32)));
	assert_int_equal(rd(l, 0x220), (1u << (0x52 - 64)) | (1u << (0x45 - 64)));
	assert_int_equal(lapic_pending_intr(l), 0x52);
	/* pending changes nothing: asking twice gives the same answer */
	assert_int_equal(lapic_pending_intr(l), 0x52);
	lapic_intr_accepted(l, 0x52);
	assert_int_equal(rd(l, 0x120), 1u << (0x52 - 64));
	assert_int_equal(rd(l, 0xa0), 0x50);
	/* 0x45 is in a lower class than the one in service */
	assert_int_equal(lapic_pending_intr(l), -1);
	assert_int_equal(lapic_eoi(l), 0x52);
	assert_int_equal(lapic_pending_intr(l), 0x45);
	lapic_intr_accepted(l, 0x45);
	/* a higher class nests */
	assert_int_equal(fixed(l, 0x61, false), 1);
	assert_int_equal(lapic_pending_intr(l), 0x61);
	lapic_intr_accepted(l, 0x61);
	wr(l, 0xb0, 0);                              /* guest EOI retires the highest: 0x61 */
	assert_int_equal(rd(l, 0xa0), 0x40);
	wr(l, 0xb0, 0);
	/* TPR blocks the same class, not the one above */
	wr(l, 0x80, 0x30);
	assert_int_equal(lapic_pending_intr(l), -1);
	wr(l, 0x80, 0x2f);
	assert_int_equal(lapic_pending_intr(l), 0x31);
	lapic_intr_accepted(l, 0x31);
	assert_int_equal(lapic_eoi(l), 0x31);
	assert_int_equal(lapic_eoi(l), -1);           /* EOI with nothing in service */
	assert_int_equal(te.neoi, 0);                 /* all edge: no broadcast */
	/* HW-disabled: nothing is pending */
	assert_int_equal(fixed(l, 0x70, false), 1);
	assert_int_equal(lapic_set_base(l, BASE, false), 0);
	assert_int_equal(lapic_pending_intr(l), -1);
	lapic_destroy(l);
}

static void test_tmr_and_eoi_broadcast(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	assert_int_equal(fixed(l, 0x60, true), 1);
	assert_int_equal(fixed(l, 0x71, false), 1);
	assert_int_equal(rd(l, 0x180 + 0x30), 1u << 0);     /* TMR bit of 0x60 */
	assert_int_equal(lapic_pending_intr(l), 0x71);
	lapic_intr_accepted(l, 0x71);
	assert_int_equal(lapic_eoi(l), 0x71);
	assert_int_equal(te.neoi, 0);
	assert_int_equal(lapic_pending_intr(l), 0x60);
	lapic_intr_accepted(l, 0x60);
	wr(l, 0xb0, 0);
	assert_int_equal(te.neoi, 1);
	assert_int_equal(te.eoi[0], 0x60);
	/* the same vector again edge-triggered clears its TMR bit */
	assert_int_equal(fixed(l, 0x60, false), 1);
	assert_int_equal(rd(l, 0x1b0), 0);
	/* a level de-assert carries no interrupt */
	struct irq_msg deassert = { .vector = 0x62, .trig_level = true, .level = false, .src = -1 };
	assert_int_equal(lapic_deliver(l, &deassert), 0);
	lapic_destroy(l);
}

/* with directed EOI offered (split irqchip) and enabled, the LAPIC does not broadcast */
static void test_directed_eoi_suppresses_broadcast(void **state)
{
	struct lapic_config c = AP;
	struct tenv te;
	struct lapic *l;

	(void)state;
	c.caps.directed_eoi = true;
	tenv_init(&te);
	l = mk_lapic(&te, &c);
	wr(l, 0xf0, 0xffffffff);
	assert_int_equal(rd(l, 0xf0), 0x13ff);
	assert_int_equal(fixed(l, 0x60, true), 1);
	assert_int_equal(lapic_pending_intr(l), 0x60);
	lapic_intr_accepted(l, 0x60);
	assert_int_equal(lapic_eoi(l), 0x60);
	assert_int_equal(te.neoi, 0);
	wr(l, 0xf0, 0x1ff);
	assert_int_equal(fixed(l, 0x60, true), 1);
	assert_int_equal(lapic_pending_intr(l), 0x60);
	lapic_intr_accepted(l, 0x60);
	assert_int_equal(lapic_eoi(l), 0x60);
	assert_int_equal(te.neoi, 1);
	lapic_destroy(l);
}

static void test_sw_disabled_drops_fixed(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	assert_int_equal(fixed(l, 0x40, false), 0);
	assert_int_equal(lapic_pending_intr(l), -1);
	/* but NMI still gets through a software-disabled APIC */
	struct irq_msg nmi = { .delivery = IRQ_DM_NMI, .src = -1 };
	assert_int_equal(lapic_deliver(l, &nmi), 1);
	assert_int_equal(lapic_deliver(l, &nmi), 1);
	assert_int_equal(lapic_take_nmis(l), 2);
	assert_int_equal(lapic_take_nmis(l), 0);
	assert_true(te.kicks >= 2);
	lapic_destroy(l);
}

static void test_icr_sends_ipis(void **state)
{
	static const struct { const char *name; uint32_t icr2, icr; struct irq_msg want; } t[] = {
		{ "fixed physical", 5u << 24, 0x4031,
		  { .dest = 5, .vector = 0x31, .delivery = IRQ_DM_FIXED, .level = true, .src = 3 } },
		{ "logical lowest", 0x0f000000, 0x4941,
		  { .dest = 0xf, .vector = 0x41, .delivery = IRQ_DM_LOWEST, .dest_logical = true,
		    .level = true, .src = 3 } },
		{ "all-but-self NMI", 0, 0xc0400,
		  { .delivery = IRQ_DM_NMI, .shorthand = IRQ_SH_OTHERS, .src = 3 } },
		{ "INIT level assert", 1u << 24, 0xc500,
		  { .dest = 1, .delivery = IRQ_DM_INIT, .level = true, .trig_level = true, .src = 3 } },
		{ "SIPI to all", 0, 0x8069f,
		  { .vector = 0x9f, .delivery = IRQ_DM_STARTUP, .shorthand = IRQ_SH_ALL, .src = 3 } },
	};
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const struct irq_msg *m = &te.f.msgs[i];

		wr(l, 0x310, t[i].icr2);
		wr(l, 0x300, t[i].icr | 1u << 12);           /* busy bit: cleared */
		assert_int_equal(te.f.nmsgs, i + 1);
		if (m->dest != t[i].want.dest || m->vector != t[i].want.vector ||
		    m->delivery != t[i].want.delivery || m->shorthand != t[i].want.shorthand ||
		    m->dest_logical != t[i].want.dest_logical || m->level != t[i].want.level ||
		    m->trig_level != t[i].want.trig_level || m->src != t[i].want.src)
			fail_msg("%s: dest %#x vec %#x dm %u sh %u log %d lvl %d trig %d src %d", t[i].name,
				 m->dest, m->vector, m->delivery, m->shorthand, m->dest_logical,
				 m->level, m->trig_level, m->src);
		assert_int_equal(rd(l, 0x300), t[i].icr);
	}
	/* x2APIC: one 64-bit ICR with a 32-bit destination, and SELF_IPI */
	to_x2apic(l);
	assert_int_equal(lapic_msr_write(l, 0x830, 0x12345678ull << 32 | 0x4052), 0);
	assert_int_equal(te.f.msgs[5].dest, 0x12345678);
	assert_int_equal(te.f.msgs[5].vector, 0x52);
	assert_int_equal(rdmsr_ok(l, 0x830), 0x12345678ull << 32 | 0x4052);
	assert_int_equal(lapic_msr_write(l, 0x83f, 0x66), 0);
	assert_int_equal(te.f.msgs[6].shorthand, IRQ_SH_SELF);
	assert_int_equal(te.f.msgs[6].vector, 0x66);
	assert_int_equal(te.f.msgs[6].delivery, IRQ_DM_FIXED);
	lapic_destroy(l);
}

static void test_init_sipi(void **state)
{
	struct irq_msg init = { .delivery = IRQ_DM_INIT, .level = true, .trig_level = true, .src = 0 };
	struct irq_msg deassert = { .delivery = IRQ_DM_INIT, .level = false, .trig_level = true, .src = 0 };
	struct irq_msg sipi = { .delivery = IRQ_DM_STARTUP, .vector = 0x9a, .src = 0 };
	uint32_t mp = KVM_MP_STATE_RUNNABLE;
	struct tenv te;
	struct lapic *l, *b;
	int vec;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	wr(l, 0x80, 0x40);
	assert_int_equal(lapic_accept_events(l, &mp, &vec), 0);
	/* a SIPI outside wait-for-SIPI is dropped */
	assert_int_equal(lapic_deliver(l, &sipi), 1);
	assert_int_equal(lapic_accept_events(l, &mp, &vec), 0);
	assert_int_equal(mp, KVM_MP_STATE_RUNNABLE);
	assert_false(lapic_has_pending_init_or_sipi(l));
	/* the INIT level de-assert is not an INIT */
	assert_int_equal(lapic_deliver(l, &deassert), 0);
	assert_false(lapic_has_pending_init_or_sipi(l));
	assert_int_equal(lapic_deliver(l, &init), 1);
	assert_true(lapic_has_pending_init_or_sipi(l));
	assert_int_equal(lapic_accept_events(l, &mp, &vec), LAPIC_EV_INIT);
	assert_int_equal(mp, KVM_MP_STATE_INIT_RECEIVED);
	assert_int_equal(rd(l, 0x80), 0);            /* INIT reset the LAPIC */
	assert_int_equal(rd(l, 0xf0), 0xff);
	assert_int_equal(rd(l, 0x20), 3u << 24);
	assert_int_equal(lapic_deliver(l, &sipi), 1);
	assert_int_equal(lapic_accept_events(l, &mp, &vec), LAPIC_EV_SIPI);
	assert_int_equal(mp, KVM_MP_STATE_RUNNABLE);
	assert_int_equal(vec, 0x9a);
	/* INIT and SIPI both pending are taken in one go */
	assert_int_equal(lapic_deliver(l, &init), 1);
	sipi.vector = 0x10;
	assert_int_equal(lapic_deliver(l, &sipi), 1);
	assert_int_equal(lapic_accept_events(l, &mp, &vec), LAPIC_EV_INIT | LAPIC_EV_SIPI);
	assert_int_equal(vec, 0x10);
	assert_int_equal(mp, KVM_MP_STATE_RUNNABLE);
	/* an INIT discards an earlier SIPI */
	assert_int_equal(lapic_deliver(l, &sipi), 1);
	assert_int_equal(lapic_deliver(l, &init), 1);
	assert_int_equal(lapic_accept_events(l, &mp, &vec), LAPIC_EV_INIT);
	assert_int_equal(mp, KVM_MP_STATE_INIT_RECEIVED);
	/* KVM_SET_MP_STATE(SIPI_RECEIVED) reuses the last vector */
	lapic_set_sipi_pending(l);
	assert_int_equal(lapic_accept_events(l, &mp, &vec), LAPIC_EV_SIPI);
	assert_int_equal(vec, 0x10);
	lapic_destroy(l);

	/* the BSP goes straight back to RUNNABLE */
	b = mk_lapic(&te, &BSP);
	assert_int_equal(lapic_deliver(b, &init), 1);
	mp = KVM_MP_STATE_HALTED;
	assert_int_equal(lapic_accept_events(b, &mp, &vec), LAPIC_EV_INIT);
	assert_int_equal(mp, KVM_MP_STATE_RUNNABLE);
	lapic_destroy(b);
}

static void test_lint0_extint_and_nmi(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	assert_false(lapic_accept_pic_intr(l));
	wr(l, 0x350, 0x700);
	assert_true(lapic_accept_pic_intr(l));
	wr(l, 0x350, 0x10700);
	assert_false(lapic_accept_pic_intr(l));
	/* LINT0 in NMI mode takes the PIT's NMI watchdog */
	assert_int_equal(lapic_nmi_wd_deliver(l), 0);
	wr(l, 0x350, 0x400);
	assert_int_equal(lapic_nmi_wd_deliver(l), 1);
	assert_int_equal(lapic_take_nmis(l), 1);
	/* a HW-disabled LAPIC passes the PIC straight through */
	assert_int_equal(lapic_set_base(l, BASE, false), 0);
	assert_true(lapic_accept_pic_intr(l));
	assert_int_equal(lapic_nmi_wd_deliver(l), 0);
	lapic_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ppr),
		cmocka_unit_test(test_pending_accept_eoi_order),
		cmocka_unit_test(test_tmr_and_eoi_broadcast),
		cmocka_unit_test(test_directed_eoi_suppresses_broadcast),
		cmocka_unit_test(test_sw_disabled_drops_fixed),
		cmocka_unit_test(test_icr_sends_ipis),
		cmocka_unit_test(test_init_sipi),
		cmocka_unit_test(test_lint0_extint_and_nmi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
