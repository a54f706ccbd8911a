/* SPDX-License-Identifier: MIT */
/*
 * Posting from other threads (cused/irq/lapic_irq.c lapic_post/lapic_sync,
 * KVM's PIR and __kvm_apic_update_irr): N threads post while a runner syncs,
 * accepts and EOIs; no interrupt may be lost.  Each poster owns one vector
 * and posts it again only once the runner has taken the previous one, so a
 * lost post would hang its thread: the runner gives up after a time limit.
 * A burst phase then checks that concurrent posts of many vectors all land,
 * and a ticker thread races lapic_timer_tick() against the runner's timer
 * programming (run under -Db_sanitize=thread for the data-race check).
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <time.h>
#include "lapic_fixture.h"

#define NPOST 4
#define ROUNDS 20000

struct shared {
	struct lapic *l;
	atomic_uint taken[NPOST];      /* runner: times it accepted poster i's vector */
	atomic_uint refused_kick;      /* posts of a fresh bit that said "no kick" */
	atomic_bool stop;
	unsigned id;
};

struct poster {
	struct shared *s;
	unsigned id;
};

static uint8_t vec_of(unsigned id)
{
	return (uint8_t)(0x40 + id * 0x21);        /* distinct classes and IRR words */
}

static void *poster(void *arg)
{
	struct poster *p = arg;

	for (unsigned r = 0; r < ROUNDS && !atomic_load(&p->s->stop); r++) {
		if (!lapic_post(p->s->l, vec_of(p->id), false))
			atomic_fetch_add(&p->s->refused_kick, 1);
		while (atomic_load(&p->s->taken[p->id]) <= r && !atomic_load(&p->s->stop))
			sched_yield();
	}
	return NULL;
}

static uint64_t mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec;
}

static void test_ping_pong_no_loss(void **state)
{
	struct shared s = { 0 };
	struct poster p[NPOST];
	pthread_t th[NPOST];
	struct tenv te;
	uint64_t t0 = mono_s();
	unsigned done = 0;

	(void)state;
	tenv_init(&te);
	s.l = mk_lapic(&te, &(struct lapic_config){ .vcpu_id = 0 });
	sw_enable(s.l);
	for (unsigned i = 0; i < NPOST; i++) {
		p[i] = (struct poster){ &s, i };
		assert_int_equal(pthread_create(&th[i], NULL, poster, &p[i]), 0);
	}
	while (done < NPOST * ROUNDS) {
		int v;

		lapic_sync(s.l);
		while ((v = lapic_pending_intr(s.l)) >= 0) {
			lapic_intr_accepted(s.l, v);
			assert_int_equal(lapic_eoi(s.l), v);
			for (unsigned i = 0; i < NPOST; i++)
				if (vec_of(i) == v)
					atomic_fetch_add(&s.taken[i], 1);
			done++;
		}
		if (mono_s() - t0 > 60) {
			atomic_store(&s.stop, true);
			break;
		}
		sched_yield();
	}
	for (unsigned i = 0; i < NPOST; i++)
		pthread_join(th[i], NULL);
	assert_false(atomic_load(&s.stop));
	for (unsigned i = 0; i < NPOST; i++)
		assert_int_equal(atomic_load(&s.taken[i]), ROUNDS);
	/* every post found its bit consumed, so every post asked for a kick */
	assert_int_equal(atomic_load(&s.refused_kick), 0);
	lapic_destroy(s.l);
}

struct burst {
	struct lapic *l;
	unsigned id;
};

/* poster i posts vectors 32+i, 32+i+NPOST, ... with their trigger mode by parity */
static void *burster(void *arg)
{
	struct burst *b = arg;

	for (unsigned v = 32 + b->id; v < 256; v += NPOST)
		lapic_post(b->l, (uint8_t)v, v & 1);
	return NULL;
}

static void test_burst_all_land(void **state)
{
	struct burst b[NPOST];
	pthread_t th[NPOST];
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &(struct lapic_config){ .vcpu_id = 0 });
	sw_enable(l);
	for (unsigned i = 0; i < NPOST; i++) {
		b[i] = (struct burst){ l, i };
		assert_int_equal(pthread_create(&th[i], NULL, burster, &b[i]), 0);
	}
	/* the runner syncs concurrently with the posters */
	for (unsigned k = 0; k < 1000; k++)
		lapic_sync(l);
	for (unsigned i = 0; i < NPOST; i++)
		pthread_join(th[i], NULL);
	lapic_sync(l);
	for (unsigned w = 1; w < 8; w++) {
		assert_int_equal(lapic_reg(l, 0x200 + w * 0x10), 0xffffffff);
		assert_int_equal(lapic_reg(l, 0x180 + w * 0x10), 0xaaaaaaaa);
	}
	/* and they come out highest first */
	for (int v = 255; v >= 32; v--) {
		assert_int_equal(lapic_pending_intr(l), v);
		lapic_intr_accepted(l, v);
		lapic_eoi(l);
	}
	assert_int_equal(lapic_pending_intr(l), -1);
	lapic_destroy(l);
}

/* a timer thread ticks while the runner reprograms, reads TMCCT and injects */
struct tick_env {
	struct irq_env env;
	_Atomic uint64_t now;
	atomic_uint kicks;
	atomic_bool stop;
	struct lapic *l;
};

static uint64_t te_now(void *ctx)
{
	return atomic_load(&((struct tick_env *)ctx)->now);
}

static void te_arm(void *ctx, void *dev, uint64_t d)
{
	(void)ctx, (void)dev, (void)d;
}

static void te_kick(void *ctx, void *dev)
{
	(void)dev;
	atomic_fetch_add(&((struct tick_env *)ctx)->kicks, 1);
}

static void *ticker(void *arg)
{
	struct tick_env *e = arg;

	while (!atomic_load(&e->stop))
		lapic_timer_tick(e->l, atomic_fetch_add(&e->now, 997));
	return NULL;
}

static void test_timer_tick_races_runner(void **state)
{
	struct tick_env e = { .env = { .now_ns = te_now, .arm = te_arm, .kick = te_kick } };
	unsigned got = 0;
	pthread_t th;

	(void)state;
	e.env.ctx = &e;
	assert_int_equal(lapic_create(&(struct lapic_config){ .vcpu_id = 0,
		.caps = { .tsc_deadline = true } }, &e.env, &e.l), 0);
	lapic_set_tsc_clock(e.l, 1000000, 0, 0);
	wr(e.l, 0xf0, 0x1ff);
	wr(e.l, 0x3e0, 0xb);
	assert_int_equal(pthread_create(&th, NULL, ticker, &e), 0);
	for (unsigned k = 0; k < 20000; k++) {
		static const uint32_t mode[] = { 0x20, 0x20020, 0x40020 };
		int v;

		if (k % 97 == 0)
			wr(e.l, 0x320, mode[(k / 97) % 3]);
		if (k % 50 == 0)
			wr(e.l, 0x380, 2000 + k % 1000);
		if (k % 7 == 0)
			lapic_set_tscdeadline(e.l, atomic_load(&e.now) + 5000);
		if (k % 11 == 0)
			wr(e.l, 0x3e0, k & 0xb);
		(void)rd(e.l, 0x390);
		lapic_sync(e.l);
		while ((v = lapic_pending_intr(e.l)) >= 0) {
			lapic_intr_accepted(e.l, v);
			lapic_eoi(e.l);
			got++;
		}
		sched_yield();
	}
	atomic_store(&e.stop, true);
	pthread_join(th, NULL);
	assert_true(got > 0);
	assert_true(atomic_load(&e.kicks) > 0);
	lapic_destroy(e.l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong_no_loss),
		cmocka_unit_test(test_burst_all_land),
		cmocka_unit_test(test_timer_tick_races_runner),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
