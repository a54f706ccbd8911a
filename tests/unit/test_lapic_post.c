/* SPDX-License-Identifier: MIT */
/*
 * Posting from other threads (cused/irq/lapic_irq.c lapic_post/lapic_sync,
 * KVM's PIR and __kvm_apic_update_irr): N threads post while a runner syncs,
 * accepts and EOIs; no interrupt may be lost.  Each poster owns one vector
 * and posts it again only once the runner has taken the previous one, so a
 * lost post would hang its thread: the runner gives up after a time limit.
 * A burst phase then checks that concurrent posts of many vectors all land.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong_no_loss),
		cmocka_unit_test(test_burst_all_land),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
