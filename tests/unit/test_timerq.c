/* SPDX-License-Identifier: MIT */
/*
 * The deadline loop (cused/irq/timerq.c): no timer slack on its thread, a
 * tick fired early by the device's consumer (timerq_fire_due), and an
 * earlier deadline armed while the thread sleeps for a later one.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <sys/prctl.h>
#include <cmocka.h>
#include "cused/irq/timerq.h"

struct dev {
	_Atomic int ticks;
	long slack;             /* the ticking thread's timer slack */
	pthread_t thread;       /* who ticked last */
	uint64_t at;            /* now of the last tick */
	uint64_t next;          /* what the tick returns */
};

static uint64_t tick(void *p, uint64_t now)
{
	struct dev *d = p;

	d->slack = prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0);
	d->thread = pthread_self();
	d->at = now;
	d->ticks++;
	return d->next;
}

static void wait_ticks(struct dev *d, int n)
{
	for (int i = 0; i < 5000 && d->ticks < n; i++)
		nanosleep(&(struct timespec){ 0, 100000 }, NULL);
}

static void test_slack(void **state)
{
	struct timerq *tq;
	struct dev d = { 0 };

	(void)state;
	assert_int_equal(timerq_create(&tq), 0);
	assert_int_equal(timerq_arm(tq, &d, tick, timerq_now_ns() + 1000000), 0);
	wait_ticks(&d, 1);
	assert_int_equal(d.ticks, 1);
	/* the default 50 us would make every LAPIC deadline late */
	assert_int_equal(d.slack, TIMERQ_SLACK_NS);
	assert_false(pthread_equal(d.thread, pthread_self()));
	timerq_cancel_sync(tq, &d);
	timerq_destroy(tq);
}

static void test_fire_due(void **state)
{
	struct timerq *tq;
	struct dev d = { 0 }, other = { 0 };
	uint64_t dl;

	(void)state;
	assert_int_equal(timerq_create(&tq), 0);
	/* nothing armed: nothing to fire, no deadline */
	assert_int_equal(timerq_fire_due(tq, &d, timerq_now_ns()), 0);
	assert_int_equal(d.ticks, 0);
	dl = timerq_now_ns() + 2000000000ull;
	assert_int_equal(timerq_arm(tq, &d, tick, dl), 0);
	/* not due yet: the deadline comes back, no tick */
	assert_int_equal(timerq_fire_due(tq, &d, dl - 1), dl);
	assert_int_equal(d.ticks, 0);
	/* due: ticked here, at the caller's now, and re-armed from its answer */
	d.next = dl + 1000000000ull;
	assert_int_equal(timerq_fire_due(tq, &d, dl), dl + 1000000000ull);
	assert_int_equal(d.ticks, 1);
	assert_true(pthread_equal(d.thread, pthread_self()));
	assert_int_equal(d.at, dl);
	/* a tick that returns 0 leaves nothing armed */
	d.next = 0;
	assert_int_equal(timerq_fire_due(tq, &d, dl + 1000000000ull), 0);
	assert_int_equal(d.ticks, 2);
	assert_int_equal(timerq_fire_due(tq, &d, UINT64_MAX), 0);
	assert_int_equal(d.ticks, 2);
	/* another device's deadline is not ours to fire */
	assert_int_equal(timerq_arm(tq, &other, tick, dl), 0);
	assert_int_equal(timerq_fire_due(tq, &d, dl), 0);
	assert_int_equal(other.ticks, 0);
	timerq_cancel_sync(tq, &other);
	timerq_cancel_sync(tq, &d);
	timerq_destroy(tq);
}

static void test_earlier_deadline(void **state)
{
	struct timerq *tq;
	struct dev late = { 0 }, soon = { 0 };
	uint64_t t0;

	(void)state;
	assert_int_equal(timerq_create(&tq), 0);
	/* the thread goes to sleep for a deadline 10 s away ... */
	assert_int_equal(timerq_arm(tq, &late, tick, timerq_now_ns() + 10000000000ull), 0);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	/* ... and an earlier one must still wake it */
	t0 = timerq_now_ns();
	assert_int_equal(timerq_arm(tq, &soon, tick, t0 + 1000000), 0);
	wait_ticks(&soon, 1);
	assert_int_equal(soon.ticks, 1);
	assert_true(soon.at >= t0 + 1000000);
	assert_int_equal(late.ticks, 0);
	/* a later deadline than the one it sleeps for is found when it wakes */
	assert_int_equal(timerq_arm(tq, &late, tick, timerq_now_ns() + 2000000), 0);
	assert_int_equal(timerq_arm(tq, &soon, tick, timerq_now_ns() + 4000000), 0);
	wait_ticks(&soon, 2);
	wait_ticks(&late, 1);
	assert_int_equal(soon.ticks, 2);
	assert_int_equal(late.ticks, 1);
	timerq_cancel_sync(tq, &late);
	timerq_cancel_sync(tq, &soon);
	timerq_destroy(tq);
}

static void test_lazy(void **state)
{
	struct timerq *tq;
	struct dev d = { 0 };

	(void)state;
	assert_int_equal(timerq_create(&tq), 0);
	nanosleep(&(struct timespec){ 0, 10000000 }, NULL);   /* the thread sleeps, unarmed */
	/* a lazy arm leaves the thread asleep past the deadline ... */
	assert_int_equal(timerq_arm_lazy(tq, &d, tick, timerq_now_ns() + 1000000), 0);
	nanosleep(&(struct timespec){ 0, 30000000 }, NULL);
	assert_int_equal(d.ticks, 0);
	/* ... until the caller hands it over */
	timerq_sync(tq);
	wait_ticks(&d, 1);
	assert_int_equal(d.ticks, 1);
	assert_false(pthread_equal(d.thread, pthread_self()));
	/* or fires it itself */
	assert_int_equal(timerq_arm_lazy(tq, &d, tick, timerq_now_ns() + 1000), 0);
	nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_int_equal(timerq_fire_due(tq, &d, timerq_now_ns()), 0);
	assert_int_equal(d.ticks, 2);
	assert_true(pthread_equal(d.thread, pthread_self()));
	timerq_cancel_sync(tq, &d);
	timerq_destroy(tq);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_slack), cmocka_unit_test(test_fire_due),
		cmocka_unit_test(test_earlier_deadline), cmocka_unit_test(test_lazy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
