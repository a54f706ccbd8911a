/* SPDX-License-Identifier: MIT */
/*
 * The KVM_RUN doorbell's wait protocol (include/cused/dbwait.h) and its
 * adaptive spin (include/cused/spin.h), with real threads and futexes.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include "cused/dbwait.h"
#include "cused/spin.h"

#define ROUNDS 20000

/* a doorbell reduced to its words: req/done as in struct cused_doorbell */
struct bell {
	uint32_t req, done;
	uint32_t req_waiters, done_waiters;
	int timeouts;          /* sleeps that ended by their timeout: lost wakes */
	bool spin;
};

static const struct timespec lost_tmo = { 0, 200 * 1000 * 1000 };

struct look {
	uint32_t *word;
	uint32_t seen;
};

static bool moved(void *arg)
{
	struct look *l = arg;

	return __atomic_load_n(l->word, __ATOMIC_ACQUIRE) != l->seen;
}

/* wait as both sides of the doorbell do: spin (or not), then sleep */
static void wait_change(struct bell *b, uint32_t *word, uint32_t seen, uint32_t *waiters,
			struct cused_spin *s)
{
	struct look l = { word, seen };
	uint32_t cur;

	if (b->spin)
		cused_spin_until(s, moved, &l, NULL);
	while ((cur = __atomic_load_n(word, __ATOMIC_SEQ_CST)) == seen)
		if (cused_db_sleep(word, cur, waiters, &lost_tmo) == -ETIMEDOUT)
			__atomic_add_fetch(&b->timeouts, 1, __ATOMIC_RELAXED);
	if (b->spin)
		cused_spin_answered(s, cused_now_ns(), 0);
}

static void *daemon_side(void *arg)
{
	struct bell *b = arg;
	struct cused_spin s;
	uint32_t seen = 0;

	cused_spin_init(&s);
	for (int i = 0; i < ROUNDS; i++) {
		wait_change(b, &b->req, seen, &b->req_waiters, &s);
		seen = __atomic_load_n(&b->req, __ATOMIC_ACQUIRE);
		cused_db_post(&b->done, seen, &b->done_waiters);
	}
	return NULL;
}

/* the client bumps req, the daemon answers in done: no hand-off may be lost */
static void ping_pong(bool spin)
{
	struct bell b = { .spin = spin };
	struct cused_spin s;
	pthread_t t;

	cused_spin_init(&s);
	assert_int_equal(pthread_create(&t, NULL, daemon_side, &b), 0);
	for (int i = 0; i < ROUNDS; i++) {
		uint32_t seq = __atomic_add_fetch(&b.req, 1, __ATOMIC_SEQ_CST);

		cused_db_wake_waiters(&b.req, &b.req_waiters);
		wait_change(&b, &b.done, seq - 1, &b.done_waiters, &s);
		assert_int_equal(__atomic_load_n(&b.done, __ATOMIC_ACQUIRE), seq);
	}
	pthread_join(t, NULL);
	assert_int_equal(b.timeouts, 0);
	assert_int_equal(b.req_waiters, 0);
	assert_int_equal(b.done_waiters, 0);
}

static void test_ping_pong_sleeping(void **state)
{
	(void)state;
	ping_pong(false);
}

/* spins that end either way, and sleeps after them, lose nothing either */
static void test_ping_pong_spinning(void **state)
{
	(void)state;
	ping_pong(true);
}

struct sleeper {
	struct bell *b;
	struct timespec tmo;
	int r;
	uint64_t ns;
};

static void *sleep_once(void *arg)
{
	struct sleeper *z = arg;
	uint64_t t0 = cused_now_ns();

	z->r = cused_db_sleep(&z->b->done, 0, &z->b->done_waiters, &z->tmo);
	z->ns = cused_now_ns() - t0;
	return NULL;
}

/*
 * Two processes may wait on one vCPU's doorbell: one leaving (here by its
 * timeout) must not hide the other from the poster, as a flag would.
 */
static void test_second_sleeper_still_woken(void **state)
{
	struct bell b = { 0 };
	struct sleeper quick = { .b = &b, .tmo = { 0, 20 * 1000 * 1000 } };
	struct sleeper slow = { .b = &b, .tmo = { 5, 0 } };
	pthread_t tq, ts;

	(void)state;
	assert_int_equal(pthread_create(&ts, NULL, sleep_once, &slow), 0);
	assert_int_equal(pthread_create(&tq, NULL, sleep_once, &quick), 0);
	pthread_join(tq, NULL);
	assert_int_equal(quick.r, -ETIMEDOUT);
	/* the slow one is (about to be) asleep and counted */
	while (!__atomic_load_n(&b.done_waiters, __ATOMIC_SEQ_CST))
		;
	cused_db_post(&b.done, 1, &b.done_waiters);
	pthread_join(ts, NULL);
	assert_int_equal(slow.r, 0);
	assert_true(slow.ns < 4ull * 1000 * 1000 * 1000);
	assert_int_equal(b.done_waiters, 0);
}

/* a word that already moved is not slept on */
static void test_sleep_on_changed_word_returns(void **state)
{
	uint32_t word = 5, waiters = 0;

	(void)state;
	assert_int_equal(cused_db_sleep(&word, 4, &waiters, &lost_tmo), 0);
	assert_int_equal(waiters, 0);
}

static bool at_once_never(void *arg)
{
	(void)arg;
	return false;
}

/* a wait that took `took` to be answered; woke after `wake` more if it slept (wake > 0) */
static void answered_after(struct cused_spin *s, uint64_t took, uint64_t wake, bool spun_out)
{
	s->gapped = false;
	s->spun_out = spun_out;
	s->start_ns = 1000000;
	cused_spin_answered(s, s->start_ns + took, wake ? s->start_ns + took + wake : 0);
}

static void test_learn(void **state)
{
	struct cused_spin s;

	(void)state;
	unsetenv("CUSED_SPIN");
	cused_spin_init(&s);
	assert_false(s.off);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS);
	assert_int_equal(cused_spin_cap(&s), CUSED_SPIN_MAX_NS);
	/* spins that run out halve it, down to none */
	answered_after(&s, CUSED_SPIN_MAX_NS + 1, CUSED_SPIN_MAX_NS / 2, true);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS / 2);
	for (int i = 0; i < 16; i++)
		answered_after(&s, 10 * CUSED_SPIN_MAX_NS, CUSED_SPIN_MAX_NS / 2, true);
	assert_int_equal(s.budget_ns, 0);
	/* a quick answer slept through with no spin brings it back: twice its time */
	answered_after(&s, 7000, CUSED_SPIN_MAX_NS / 2, false);
	assert_int_equal(s.budget_ns, 14000);
	/* an answer while spinning doubles it, up to the cap */
	answered_after(&s, 1000, 0, false);
	assert_int_equal(s.budget_ns, 28000);
	answered_after(&s, 1000, 0, false);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS);
	/* a slow answer slept through with no spin teaches nothing but the wake-up */
	s.budget_ns = 0;
	answered_after(&s, 2 * CUSED_SPIN_MAX_NS, CUSED_SPIN_MAX_NS / 2, false);
	assert_int_equal(s.budget_ns, 0);
	/* cheap wake-ups (a busy machine) lower the cap toward twice their cost */
	for (int i = 0; i < 64; i++)
		answered_after(&s, 1000, 2000, true);
	assert_true(s.wake_ns < 2100);
	assert_true(cused_spin_cap(&s) < 4200 + CUSED_SPIN_FLOOR_NS);
	answered_after(&s, 100, 0, false);
	assert_true(s.budget_ns <= cused_spin_cap(&s));
	/* expensive ones raise it again, never above the bound */
	for (int i = 0; i < 64; i++)
		answered_after(&s, 1000, 10 * CUSED_SPIN_MAX_NS, true);
	assert_int_equal(cused_spin_cap(&s), CUSED_SPIN_MAX_NS);
	/* an answer posted before the wait began (the poster's clock) took 0 */
	s.budget_ns = 0;
	s.gapped = s.spun_out = false;
	s.start_ns = 1000000;
	cused_spin_answered(&s, 10, 0);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MIN_NS);
	/* a wait whose spin saw a gap learns nothing from its answer */
	s.budget_ns = 4000;
	s.gapped = true;
	cused_spin_answered(&s, s.start_ns + 1000, 0);
	assert_int_equal(s.budget_ns, 4000);

	setenv("CUSED_SPIN", "0", 1);
	cused_spin_init(&s);
	assert_true(s.off);
	answered_after(&s, 1000, 0, false);
	assert_int_equal(cused_spin_until(&s, at_once_never, NULL, NULL), CUSED_SPIN_TIMEOUT);
	unsetenv("CUSED_SPIN");
}

static bool never(void *arg)
{
	(*(int *)arg)++;
	return false;
}

static bool at_once(void *arg)
{
	(*(int *)arg)++;
	return true;
}

/* the second look sleeps 5 ms: the spin sees its thread stopped */
static bool stalls(void *arg)
{
	if ((*(int *)arg)++ == 1)
		usleep(5000);
	return false;
}

static void test_spin_until(void **state)
{
	struct cused_spin s;
	uint64_t t0;
	int n = 0;

	(void)state;
	unsetenv("CUSED_SPIN");
	cused_spin_init(&s);
	assert_int_equal(cused_spin_until(&s, at_once, &n, NULL), CUSED_SPIN_READY);
	assert_int_equal(n, 1);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS);

	n = 0;
	s.budget_ns = 20000;
	t0 = cused_now_ns();
	/* never ready: spins its budget (unless a gap ends it first) */
	switch (cused_spin_until(&s, never, &n, NULL)) {
	case CUSED_SPIN_TIMEOUT:
		assert_true(cused_now_ns() - t0 >= 20000);
		assert_true(s.spun_out);
		assert_int_equal(s.budget_ns, 20000);
		cused_spin_answered(&s, cused_now_ns(), cused_now_ns());
		assert_int_equal(s.budget_ns, 10000);
		break;
	case CUSED_SPIN_GAP:
		assert_int_equal(s.budget_ns, 10000);
		break;
	default:
		fail();
	}
	assert_true(n > 1);

	/* a stop of its own thread: the spin ends, the budget halves, the answer is ignored */
	n = 0;
	s.budget_ns = CUSED_SPIN_MAX_NS;
	assert_int_equal(cused_spin_until(&s, stalls, &n, NULL), CUSED_SPIN_GAP);
	assert_int_equal(n, 2);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS / 2);
	cused_spin_answered(&s, cused_now_ns(), 0);
	assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS / 2);

	/* the peer last ran on this CPU: no spin (pinned, so "this CPU" holds still) */
	{
		cpu_set_t all, one;
		uint32_t peer;

		assert_int_equal(sched_getaffinity(0, sizeof(all), &all), 0);
		CPU_ZERO(&one);
		CPU_SET(sched_getcpu(), &one);
		assert_int_equal(sched_setaffinity(0, sizeof(one), &one), 0);
		peer = cused_spin_cpu();
		assert_true(peer > 0);
		n = 0;
		s.budget_ns = CUSED_SPIN_MAX_NS;
		assert_int_equal(cused_spin_until(&s, never, &n, &peer), CUSED_SPIN_SHARED);
		assert_int_equal(n, 1);
		/* says nothing about the answer's time: nothing learned */
		assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS);
		cused_spin_answered(&s, cused_now_ns(), cused_now_ns());
		assert_int_equal(s.budget_ns, CUSED_SPIN_MAX_NS);
		/* another CPU: it spins */
		peer = peer + 1;
		n = 0;
		assert_int_not_equal(cused_spin_until(&s, never, &n, &peer), CUSED_SPIN_SHARED);
		assert_true(n > 1);
		sched_setaffinity(0, sizeof(all), &all);
	}

	/* budget 0: one look, no spin */
	n = 0;
	s.budget_ns = 0;
	assert_int_equal(cused_spin_until(&s, never, &n, NULL), CUSED_SPIN_TIMEOUT);
	assert_int_equal(n, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ping_pong_sleeping),
		cmocka_unit_test(test_ping_pong_spinning),
		cmocka_unit_test(test_second_sleeper_still_woken),
		cmocka_unit_test(test_sleep_on_changed_word_returns),
		cmocka_unit_test(test_learn),
		cmocka_unit_test(test_spin_until),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
