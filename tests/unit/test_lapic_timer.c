/* SPDX-License-Identifier: MIT */
/*
 * The LAPIC timer (cused/irq/lapic_timer.c) on a fake clock, against KVM's
 * arch/x86/kvm/lapic.c: one-shot, periodic and TSC-deadline modes, the
 * divider, TMCCT derived from the target, periodic re-arm from the previous
 * target, the min_timer_period_us floor, restore re-arming.
 */
#include "lapic_fixture.h"

#define VEC 0xec
#define ONESHOT VEC
#define PERIODIC (VEC | 1u << 17)
#define TSCDL (VEC | 2u << 17)

static const struct lapic_config AP = { .vcpu_id = 1, .vcpu_index = 1,
					.caps = { .x2apic = true, .tsc_deadline = true } };

static struct lapic *setup_timer(struct tenv *te, uint32_t lvtt, uint32_t tdcr)
{
	struct lapic *l;

	tenv_init(te);
	l = mk_lapic(te, &AP);
	sw_enable(l);
	wr(l, 0x320, lvtt);
	wr(l, 0x3e0, tdcr);
	return l;
}

/* the runner's view: fold the expiry in and take the timer vector if it is there */
static bool injected(struct lapic *l)
{
	lapic_sync(l);
	if (lapic_pending_intr(l) != VEC)
		return false;
	lapic_intr_accepted(l, VEC);
	lapic_eoi(l);
	return true;
}

static void test_oneshot(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	l = setup_timer(&te, ONESHOT, 0xb);
	te.f.now = 1000;
	wr(l, 0x380, 1000000);
	assert_ptr_equal(te.f.armed_dev, l);
	assert_int_equal(te.f.armed, 1001000);
	te.f.now = 251000;
	assert_int_equal(rd(l, 0x390), 750000);
	assert_int_equal(rd(l, 0x380), 1000000);
	/* an early or spurious tick fires nothing and keeps the deadline */
	assert_int_equal(lapic_timer_tick(l, 1000999), 1001000);
	assert_false(injected(l));
	te.kicks = 0;
	assert_int_equal(lapic_timer_tick(l, 1001000), 0);
	assert_int_equal(te.kicks, 1);
	assert_true(injected(l));
	assert_int_equal(lapic_timer_tick(l, 2000000), 0);
	assert_false(injected(l));
	te.f.now = 1001000;
	assert_int_equal(rd(l, 0x390), 0);
	/* writing 0 stops a running count */
	wr(l, 0x380, 5000);
	assert_int_equal(te.f.armed, 1006000);
	wr(l, 0x380, 0);
	assert_int_equal(te.f.armed, 0);
	assert_int_equal(rd(l, 0x390), 0);
	lapic_destroy(l);
}

static void test_divide_values(void **state)
{
	static const struct { uint32_t tdcr, div; } t[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 },
		{ 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 }, { 0xf4, 2 },
	};
	struct tenv te;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lapic *l = setup_timer(&te, ONESHOT, t[i].tdcr);

		wr(l, 0x380, 1000);
		if (te.f.armed != 1000ull * t[i].div)
			fail_msg("tdcr %#x: armed %llu want %u", t[i].tdcr,
				 (unsigned long long)te.f.armed, 1000 * t[i].div);
		/* TMCCT counts in divided bus cycles */
		te.f.now = 100ull * t[i].div;
		assert_int_equal(rd(l, 0x390), 900);
		lapic_destroy(l);
	}
	/* a bus cycle of 10 ns (KVM_CAP_X86_APIC_BUS_CYCLES_NS) scales it */
	struct lapic_config c = AP;
	struct lapic *l;
	c.apic_bus_cycle_ns = 10;
	tenv_init(&te);
	l = mk_lapic(&te, &c);
	sw_enable(l);
	wr(l, 0x3e0, 0xb);
	wr(l, 0x380, 1000);
	assert_int_equal(te.f.armed, 10000);
	lapic_destroy(l);
}

static void test_periodic_from_previous_target(void **state)
{
	struct tenv te;
	struct lapic *l;
	const uint64_t P = 1000000;

	(void)state;
	l = setup_timer(&te, PERIODIC, 0xb);
	wr(l, 0x380, (uint32_t)P);
	assert_int_equal(te.f.armed, P);
	assert_int_equal(lapic_timer_tick(l, P), 2 * P);
	assert_true(injected(l));
	/* a late tick advances from the previous target, not from now */
	assert_int_equal(lapic_timer_tick(l, 2 * P + 300000), 3 * P);
	assert_true(injected(l));
	te.f.now = 2 * P + 300000;
	assert_int_equal(rd(l, 0x390), 700000);
	/* two expiries before the runner injects count once, as KVM's pending */
	assert_int_equal(lapic_timer_tick(l, 3 * P), 4 * P);
	assert_int_equal(lapic_timer_tick(l, 4 * P), 5 * P);
	assert_true(injected(l));
	assert_false(injected(l));
	/* after a long stall the next target restarts from now (no catch-up storm) */
	assert_int_equal(lapic_timer_tick(l, 50 * P + 7), 50 * P + 7);
	assert_true(injected(l));
	assert_int_equal(lapic_timer_tick(l, 50 * P + 7), 51 * P + 7);
	lapic_destroy(l);
}

static void test_period_floor(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	l = setup_timer(&te, PERIODIC, 0xb);
	wr(l, 0x380, 100);                           /* 100 ns asked, 200 us given */
	assert_int_equal(te.f.armed, 200000);
	assert_int_equal(lapic_timer_tick(l, 200000), 400000);
	lapic_destroy(l);
	/* one-shot mode has no floor */
	l = setup_timer(&te, ONESHOT, 0xb);
	wr(l, 0x380, 100);
	assert_int_equal(te.f.armed, 100);
	lapic_destroy(l);
	/* a configured floor */
	struct lapic_config c = AP;
	c.min_timer_period_us = 50;
	tenv_init(&te);
	l = mk_lapic(&te, &c);
	sw_enable(l);
	wr(l, 0x320, PERIODIC);
	wr(l, 0x3e0, 0xb);
	wr(l, 0x380, 100);
	assert_int_equal(te.f.armed, 50000);
	lapic_destroy(l);
}

static void test_tsc_deadline(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	l = setup_timer(&te, ONESHOT, 0xb);
	/* not in TSC-deadline mode: the MSR is ignored and reads 0 */
	lapic_set_tsc_clock(l, 2000000, 0, 5000);    /* 2 GHz, TSC 5000 at t=0 */
	lapic_set_tscdeadline(l, 9000);
	assert_int_equal(lapic_get_tscdeadline(l), 0);
	wr(l, 0x380, 777);
	te.f.narms = 0;
	/* switching to TSC-deadline stops the count and clears TMICT */
	wr(l, 0x320, TSCDL);
	assert_int_equal(te.f.armed, 0);
	assert_int_equal(rd(l, 0x380), 0);
	/* TMICT writes are ignored in TSC-deadline mode, TMCCT reads 0 */
	wr(l, 0x380, 777);
	assert_int_equal(rd(l, 0x380), 0);
	te.f.now = 1000;                             /* guest TSC 7000 */
	lapic_set_tscdeadline(l, 9000);              /* 2000 cycles = 1000 ns away */
	assert_int_equal(lapic_get_tscdeadline(l), 9000);
	assert_int_equal(te.f.armed, 2000);
	assert_int_equal(rd(l, 0x390), 0);
	assert_int_equal(lapic_timer_tick(l, 2000), 0);
	assert_true(injected(l));
	assert_int_equal(lapic_get_tscdeadline(l), 0);
	/* a deadline already past fires at once, without arming */
	te.f.narms = 0;
	te.kicks = 0;
	lapic_set_tscdeadline(l, 100);
	assert_int_equal(te.kicks, 1);
	assert_true(injected(l));
	/* 0 disarms */
	lapic_set_tscdeadline(l, 0);
	assert_int_equal(lapic_timer_tick(l, ~0ull), 0);
	assert_false(injected(l));
	lapic_destroy(l);
}

static void test_masked_and_tdcr_change(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	/* a masked LVTT expires without an interrupt */
	l = setup_timer(&te, ONESHOT | 1u << 16, 0xb);
	wr(l, 0x380, 1000);
	assert_int_equal(lapic_timer_tick(l, 1000), 0);
	assert_false(injected(l));
	lapic_destroy(l);
	/* a divider change mid-count rescales what is left */
	l = setup_timer(&te, ONESHOT, 0xb);
	wr(l, 0x380, 1000000);
	te.f.now = 500000;
	wr(l, 0x3e0, 0x0);                           /* divide by 2 */
	assert_int_equal(te.f.armed, 1500000);
	assert_int_equal(rd(l, 0x390), 500000);
	/* SW disable masks LVTT and drops a pending expiry */
	assert_int_equal(lapic_timer_tick(l, 1500000), 0);
	wr(l, 0xf0, 0xff);
	sw_enable(l);
	assert_false(injected(l));
	lapic_destroy(l);
}

static void test_set_state_rearms(void **state)
{
	struct kvm_lapic_state s;
	struct tenv te, te2;
	struct lapic *a, *b;

	(void)state;
	a = setup_timer(&te, ONESHOT, 0xb);
	wr(a, 0x380, 1000000);
	te.f.now = 400000;
	assert_int_equal(lapic_get_state(a, &s), 0);
	uint32_t v;
	memcpy(&v, s.regs + 0x390, 4);
	assert_int_equal(v, 600000);
	/* restored elsewhere, later: the remaining count is kept, the timer armed */
	tenv_init(&te2);
	b = mk_lapic(&te2, &AP);
	te2.f.now = 1000000000;
	assert_int_equal(lapic_set_state(b, &s), 0);
	assert_ptr_equal(te2.f.armed_dev, b);
	assert_int_equal(te2.f.armed, 1000600000);
	assert_int_equal(rd(b, 0x390), 600000);
	assert_int_equal(lapic_timer_tick(b, 1000600000), 0);
	assert_true(injected(b));
	lapic_destroy(b);

	/* periodic with TMCCT 0 restarts a full period */
	wr(a, 0x320, PERIODIC);
	wr(a, 0x380, 1000000);
	assert_int_equal(lapic_get_state(a, &s), 0);
	memset(s.regs + 0x390, 0, 4);
	tenv_init(&te2);
	b = mk_lapic(&te2, &AP);
	te2.f.now = 7;
	assert_int_equal(lapic_set_state(b, &s), 0);
	assert_int_equal(te2.f.armed, 1000007);
	/* TMCCT above TMICT is clamped to a full period */
	v = 5000000;
	memcpy(s.regs + 0x390, &v, 4);
	assert_int_equal(lapic_set_state(b, &s), 0);
	assert_int_equal(te2.f.armed, 1000007);
	/* a stopped timer restores stopped */
	memset(s.regs + 0x380, 0, 4);
	assert_int_equal(lapic_set_state(b, &s), 0);
	assert_int_equal(te2.f.armed, 0);
	lapic_destroy(b);
	lapic_destroy(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oneshot),
		cmocka_unit_test(test_divide_values),
		cmocka_unit_test(test_periodic_from_previous_target),
		cmocka_unit_test(test_period_floor),
		cmocka_unit_test(test_tsc_deadline),
		cmocka_unit_test(test_masked_and_tdcr_change),
		cmocka_unit_test(test_set_state_rearms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
