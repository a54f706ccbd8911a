/* SPDX-License-Identifier: MIT */
/* The 8254 PIT and port 0x61 (cused/irq/pit.c) on the fake clock */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/irq/pit.h"
#include "irq_fake.h"

#define MS 1000000ull
/* 1193 PIT clocks in ns, truncated as KVM's mul_u64_u32_div does */
#define P1193 999847ull

struct t {
	struct fake_env f;
	struct pit *pit;
	unsigned pulses;
};

static void t_pulse(void *ctx)
{
	((struct t *)ctx)->pulses++;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct pit_env penv = { .pulse = t_pulse, .ctx = t };

	fake_env_init(&t->f);
	assert_int_equal(pit_create(&t->f.env, &penv, KVM_PIT_SPEAKER_DUMMY, &t->pit), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	pit_destroy(t->pit);
	free(t);
	return 0;
}

static void out(struct t *t, unsigned port, uint8_t v)
{
	assert_int_equal(pit_write(t->pit, port, &v, 1), 0);
}

static uint8_t in(struct t *t, unsigned port)
{
	uint8_t v = 0xee;

	assert_int_equal(pit_read(t->pit, port, &v, 1), 0);
	return v;
}

/* a word-mode read: LSB first (two statements: C leaves operand order open) */
static unsigned rd16(struct t *t, unsigned port)
{
	unsigned lo = in(t, port);

	return lo | (unsigned)in(t, port) << 8;
}

/* channel 0, lobyte/hibyte, mode 2, count 1193: about 1 kHz */
static void program_1khz(struct t *t)
{
	out(t, 0x43, 0x34);
	out(t, 0x40, 1193 & 0xff);
	out(t, 0x40, 1193 >> 8);
}

/* advance the fake clock to now and run the timer as the daemon loop would */
static uint64_t step_to(struct t *t, uint64_t now)
{
	t->f.now = now;
	return pit_tick(t->pit, now);
}

static void test_reset_state(void **state)
{
	struct t *t = *state;
	struct kvm_pit_state2 s;

	assert_int_equal(pit_get_state(t->pit, &s), 0);
	for (unsigned ch = 0; ch < 3; ch++) {
		assert_int_equal(s.channels[ch].mode, 0xff);
		assert_int_equal(s.channels[ch].count, 0x10000);
		assert_int_equal(s.channels[ch].gate, ch != 2);
	}
	assert_int_equal(s.flags, 0);
	assert_int_equal(t->f.armed, 0);
	assert_int_equal(pit_write(t->pit, 0x44, "x", 1), -ENOENT);
	assert_int_equal(pit_read(t->pit, 0x60, &s, 1), -ENOENT);
}

static void test_mode2_arms_1ms(void **state)
{
	struct t *t = *state;

	t->f.now = 5000;
	program_1khz(t);
	assert_ptr_equal(t->f.armed_dev, t->pit);
	assert_int_equal(t->f.armed, 5000 + P1193);
	/* the first byte alone does not load a word-mode count */
	out(t, 0x43, 0x34);
	out(t, 0x40, 0x10);
	assert_int_equal(t->f.armed, 5000 + P1193);
}

static void test_three_steps_three_pulses(void **state)
{
	struct t *t = *state;
	uint64_t next;

	program_1khz(t);
	for (unsigned i = 1; i <= 3; i++) {
		next = step_to(t, i * MS);
		assert_int_equal(t->pulses, i);
		pit_irq_ack(t->pit);          /* the guest EOIs each tick */
		/* the next target advances from the previous one, not from now */
		assert_int_equal(next, (i + 1) * P1193);
	}
	/* a stale firing before the deadline does nothing */
	assert_int_equal(step_to(t, 3 * MS + 1), 4 * P1193);
	assert_int_equal(t->pulses, 3);
}

static void test_jump_reinject(void **state)
{
	struct t *t = *state;

	program_1khz(t);
	/* 10 ms late: 10 expiries, one pulse now, one more per ack */
	assert_int_equal(step_to(t, 10 * MS), 11 * P1193);
	assert_int_equal(t->pulses, 1);
	for (unsigned i = 2; i <= 10; i++) {
		pit_irq_ack(t->pit);
		assert_int_equal(t->pulses, i);
	}
	pit_irq_ack(t->pit);
	assert_int_equal(t->pulses, 10);
	/* without an ack the next expiry only counts */
	step_to(t, 11 * MS);
	assert_int_equal(t->pulses, 11);
	step_to(t, 12 * MS);
	assert_int_equal(t->pulses, 11);
	/* unmasking GSI 0 drops the backlog */
	pit_irq_mask(t->pit, false);
	step_to(t, 13 * MS);
	assert_int_equal(t->pulses, 12);
	pit_irq_ack(t->pit);
	assert_int_equal(t->pulses, 12);
}

static void test_jump_no_reinject(void **state)
{
	struct t *t = *state;

	pit_set_reinject(t->pit, false);
	program_1khz(t);
	assert_int_equal(step_to(t, 10 * MS), 11 * P1193);
	assert_int_equal(t->pulses, 1);   /* missed ticks collapse */
	pit_irq_ack(t->pit);
	assert_int_equal(t->pulses, 1);
	step_to(t, 11 * MS);               /* no ack needed */
	step_to(t, 12 * MS);
	assert_int_equal(t->pulses, 3);
}

static void test_one_shot_and_floor(void **state)
{
	struct t *t = *state;

	out(t, 0x43, 0x30);                /* mode 0, one-shot */
	out(t, 0x40, 0xa9);
	out(t, 0x40, 0x04);
	assert_int_equal(step_to(t, 2 * MS), 0);
	assert_int_equal(t->pulses, 1);
	assert_int_equal(step_to(t, 3 * MS), 0);
	assert_int_equal(t->pulses, 1);
	/* mode 2, count 2: first expiry as programmed, then the 200 us floor */
	out(t, 0x43, 0x34);
	out(t, 0x40, 2);
	out(t, 0x40, 0);
	assert_int_equal(t->f.armed, 3 * MS + 1676);
	assert_int_equal(step_to(t, 3 * MS + 1676), 3 * MS + 1676 + PIT_MIN_PERIOD_NS);
	/* mode 5 (hardware-triggered strobe) has no timer */
	out(t, 0x43, 0x3a);
	out(t, 0x40, 0);
	out(t, 0x40, 1);
	assert_int_equal(t->f.armed, 0);
}

static void test_readback_latch(void **state)
{
	struct t *t = *state;

	program_1khz(t);
	t->f.now = 500000;                 /* 596 clocks: count 597 */
	out(t, 0x43, 0xc2);                /* read-back count and status of ch 0 */
	t->f.now = 700000;                 /* the latch holds while counting goes on */
	assert_int_equal(in(t, 0x40), 0x34);   /* status: out 0, word, mode 2 */
	assert_int_equal(in(t, 0x40), 597 & 0xff);
	assert_int_equal(in(t, 0x40), 597 >> 8);
	/* unlatched, it counts: 835 clocks at 700 us → 358 */
	assert_int_equal(rd16(t, 0x40), 358);
	/* a counter latch command; a second one before reading is ignored */
	out(t, 0x43, 0x00);
	t->f.now = 800000;
	out(t, 0x43, 0x00);
	assert_int_equal(rd16(t, 0x40), 358);
	/* status only (bit 5 set): the count is not latched */
	out(t, 0x43, 0xe2);
	assert_int_equal(in(t, 0x40), 0x34);
	assert_int_equal(rd16(t, 0x40), 1193 - 954);
	/* port 0x43 reads nothing */
	uint8_t v = 0x5a;
	assert_int_equal(pit_read(t->pit, 0x43, &v, 1), 0);
	assert_int_equal(v, 0x5a);
}

static void test_lobyte_hibyte(void **state)
{
	struct t *t = *state;
	struct kvm_pit_state2 s;

	out(t, 0x43, 0x90);                /* ch 2, LSB only, mode 0 */
	out(t, 0x42, 0x55);
	pit_get_state(t->pit, &s);
	assert_int_equal(s.channels[2].count, 0x55);
	assert_int_equal(in(t, 0x42), 0x55);
	assert_int_equal(in(t, 0x42), 0x55);   /* LSB mode reads LSB every time */
	out(t, 0x43, 0xa0);                /* ch 2, MSB only */
	out(t, 0x42, 0x12);
	pit_get_state(t->pit, &s);
	assert_int_equal(s.channels[2].count, 0x1200);
	assert_int_equal(in(t, 0x42), 0x12);
	out(t, 0x43, 0xb0);                /* word: LSB then MSB */
	out(t, 0x42, 0x34);
	out(t, 0x42, 0x12);
	assert_int_equal(in(t, 0x42), 0x34);
	assert_int_equal(in(t, 0x42), 0x12);
	/* a word write uses only the low byte; a wide read zero-extends */
	uint32_t w = 0xffff0102, r = 0xffffffff;
	out(t, 0x43, 0x90);
	assert_int_equal(pit_write(t->pit, 0x42, &w, 4), 0);
	assert_int_equal(pit_read(t->pit, 0x42, &r, 4), 0);
	assert_int_equal(r, 0x02);
}

static void test_state_keeps_phase(void **state)
{
	struct t *t = *state;
	struct kvm_pit_state2 s, s2;
	struct fake_env f2;
	struct pit *p2;
	uint8_t lo, hi;

	t->f.now = 1000;
	program_1khz(t);
	step_to(t, 1000 + 2 * MS + MS / 2);
	assert_int_equal(pit_get_state(t->pit, &s), 0);
	assert_int_equal(s.channels[0].count, 1193);
	assert_int_equal(s.channels[0].count_load_time, 1000);

	/* restore on a second PIT sharing the clock: same next deadline, same count */
	fake_env_init(&f2);
	f2.now = t->f.now;
	assert_int_equal(pit_create(&f2.env, NULL, 0, &p2), 0);
	assert_int_equal(pit_set_state(p2, &s), 0);
	assert_ptr_equal(f2.armed_dev, p2);
	assert_int_equal(f2.armed, 1000 + 3 * P1193);
	assert_int_equal(pit_get_state(p2, &s2), 0);
	assert_memory_equal(&s, &s2, sizeof(s));
	out(t, 0x43, 0x00);
	lo = in(t, 0x40);
	hi = in(t, 0x40);
	uint8_t v = 0x00;
	assert_int_equal(pit_write(p2, 0x43, &v, 1), 0);
	assert_int_equal(pit_read(p2, 0x40, &v, 1), 0);
	assert_int_equal(v, lo);
	assert_int_equal(pit_read(p2, 0x40, &v, 1), 0);
	assert_int_equal(v, hi);
	/* restored later: the next target on the old grid after now */
	f2.now = 1000 + 7 * MS;
	assert_int_equal(pit_set_state(p2, &s), 0);
	assert_int_equal(f2.armed, 1000 + 8 * P1193);
	/* HPET legacy hands IRQ0 to the HPET: disarmed */
	s.flags |= KVM_PIT_FLAGS_HPET_LEGACY;
	assert_int_equal(pit_set_state(p2, &s), 0);
	assert_int_equal(f2.armed, 0);
	/* a load time in the future is clamped to now */
	s.flags = 0;
	s.channels[0].count_load_time = (int64_t)(f2.now + 50 * MS);
	assert_int_equal(pit_set_state(p2, &s), 0);
	assert_int_equal(f2.armed, f2.now + P1193);
	pit_destroy(p2);
}

static void test_gate_port61(void **state)
{
	struct t *t = *state;
	struct fake_env f2;
	struct pit *p2;
	uint8_t v;

	/* channel 2 mode 0, count 100 (83809.6 ns): OUT rises at terminal count */
	out(t, 0x43, 0xb0);
	out(t, 0x42, 100);
	out(t, 0x42, 0);
	assert_int_equal(in(t, 0x61) & 0x23, 0x00);
	out(t, 0x61, 0x03);                /* gate on, speaker data on */
	t->f.now = 83810;
	assert_int_equal(in(t, 0x61) & 0x23, 0x23);
	/* mode 2: a rising gate restarts the count */
	out(t, 0x61, 0x00);
	out(t, 0x43, 0xb4);
	out(t, 0x42, 100);
	out(t, 0x42, 0);
	t->f.now += 50000;                 /* 59 clocks later */
	assert_int_equal(in(t, 0x42), 41);
	in(t, 0x42);
	out(t, 0x61, 0x01);
	assert_int_equal(in(t, 0x42), 100);
	in(t, 0x42);
	/* the refresh toggle follows the clock */
	t->f.now = 1u << 14;
	assert_int_equal(in(t, 0x61) & 0x10, 0x10);
	/* without KVM_PIT_SPEAKER_DUMMY port 0x61 is not the PIT's */
	fake_env_init(&f2);
	assert_int_equal(pit_create(&f2.env, NULL, 0, &p2), 0);
	assert_int_equal(pit_read(p2, 0x61, &v, 1), -ENOENT);
	pit_destroy(p2);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_reset_state), T(test_mode2_arms_1ms), T(test_three_steps_three_pulses),
		T(test_jump_reinject), T(test_jump_no_reinject), T(test_one_shot_and_floor),
		T(test_readback_latch), T(test_lobyte_hibyte), T(test_state_keeps_phase),
		T(test_gate_port61),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
