/* SPDX-License-Identifier: MIT */
/*
 * One VM's deadline loop (timerq.h).  A VM has at most a few dozen timed
 * devices (one LAPIC per vCPU, the PIT, the IOAPIC), so the queue is a
 * flat array scanned for the minimum: the heap STYLE.md asks for would buy
 * nothing at this size.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include "cused/irq/timerq.h"
#include "cused/util/log.h"

struct tq_ent {
	void *dev;
	timerq_tick_fn fn;
	uint64_t deadline;      /* 0: slot holds only the generation */
	uint64_t gen;           /* bumped by every arm/cancel */
	bool running;           /* its tick is in progress (thread or timerq_fire_due) */
};

struct timerq {
	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t cond;    /* the thread's sleep; also cancel_sync's wait */
	struct tq_ent *ents;
	unsigned n, cap;
	uint64_t sleep_until;   /* the thread sleeps until then (UINT64_MAX: unarmed), 0 awake */
	unsigned cancelling;    /* callers waiting in timerq_cancel_sync */
	bool stop;
	pthread_t thread;
};

uint64_t timerq_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static struct tq_ent *find(struct timerq *tq, void *dev)
{
	for (unsigned i = 0; i < tq->n; i++)
		if (tq->ents[i].dev == dev)
			return &tq->ents[i];
	return NULL;
}

static struct tq_ent *find_or_add(struct timerq *tq, void *dev)
{
	struct tq_ent *e = find(tq, dev);

	if (e)
		return e;
	if (tq->n == tq->cap) {
		unsigned cap = tq->cap ? tq->cap * 2 : 16;
		struct tq_ent *n = realloc(tq->ents, cap * sizeof(*n));

		if (!n)
			return NULL;
		tq->ents = n;
		tq->cap = cap;
	}
	e = &tq->ents[tq->n++];
	*e = (struct tq_ent){ .dev = dev };
	return e;
}

static struct tq_ent *earliest(struct timerq *tq)
{
	struct tq_ent *best = NULL;

	for (unsigned i = 0; i < tq->n; i++) {
		struct tq_ent *e = &tq->ents[i];

		if (e->deadline && (!best || e->deadline < best->deadline))
			best = e;
	}
	return best;
}

/* run e's tick, which is due at now, in the caller; lock held, dropped around the tick */
static void fire_locked(struct timerq *tq, struct tq_ent *e, uint64_t now)
{
	void *dev = e->dev;
	timerq_tick_fn fn = e->fn;
	uint64_t gen = e->gen, next;

	e->deadline = 0;
	e->running = true;
	/* the tick takes the device's lock, which may be waiting for ours */
	pthread_mutex_unlock(&tq->lock);
	next = fn(dev, now);
	pthread_mutex_lock(&tq->lock);
	/* cancel_sync waits for running: the entry is still there, maybe moved */
	e = find(tq, dev);
	e->running = false;
	/* an arm or cancel during the tick has the last word */
	if (e->gen == gen && next)
		e->deadline = next;
	/* for cancel_sync, or for a thread that would sleep past the new deadline */
	if (tq->cancelling || (e->deadline && e->deadline < tq->sleep_until))
		pthread_cond_broadcast(&tq->cond);
}

static void *timerq_main(void *arg)
{
	struct timerq *tq = arg;

	/*
	 * The default 50 us of timer slack would let every deadline fire up to
	 * 50 us late; KVM's LAPIC hrtimers have none.  The sleep is absolute on
	 * CLOCK_MONOTONIC, so this is all it takes to wake on time.
	 */
	if (prctl(PR_SET_TIMERSLACK, TIMERQ_SLACK_NS, 0, 0, 0))
		log_warn("timerq: cannot set the timer slack: %d; deadlines may fire late", -errno);
	pthread_mutex_lock(&tq->lock);
	while (!tq->stop) {
		struct tq_ent *e = earliest(tq);
		uint64_t now = timerq_now_ns();

		if (!e) {
			tq->sleep_until = UINT64_MAX;
			pthread_cond_wait(&tq->cond, &tq->lock);
			tq->sleep_until = 0;
			continue;
		}
		if (e->deadline > now) {
			struct timespec ts = { .tv_sec = e->deadline / 1000000000ull,
					       .tv_nsec = e->deadline % 1000000000ull };

			tq->sleep_until = e->deadline;
			pthread_cond_timedwait(&tq->cond, &tq->lock, &ts);
			tq->sleep_until = 0;
			continue;
		}
		fire_locked(tq, e, now);
	}
	pthread_mutex_unlock(&tq->lock);
	return NULL;
}

int timerq_create(struct timerq **out)
{
	struct timerq *tq = calloc(1, sizeof(*tq));
	pthread_condattr_t ca;
	int r;

	if (!tq)
		return -ENOMEM;
	pthread_mutex_init(&tq->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&tq->cond, &ca);
	pthread_condattr_destroy(&ca);
	r = -pthread_create(&tq->thread, NULL, timerq_main, tq);
	if (r) {
		pthread_cond_destroy(&tq->cond);
		pthread_mutex_destroy(&tq->lock);
		free(tq);
		return r;
	}
	pthread_setname_np(tq->thread, "timerq");
	*out = tq;
	return 0;
}

void timerq_destroy(struct timerq *tq)
{
	if (!tq)
		return;
	pthread_mutex_lock(&tq->lock);
	tq->stop = true;
	pthread_cond_broadcast(&tq->cond);
	pthread_mutex_unlock(&tq->lock);
	pthread_join(tq->thread, NULL);
	pthread_cond_destroy(&tq->cond);
	pthread_mutex_destroy(&tq->lock);
	free(tq->ents);
	free(tq);
}

static int arm(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns, bool wake);

int timerq_arm(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns)
{
	return arm(tq, dev, fn, deadline_ns, true);
}

int timerq_arm_lazy(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns)
{
	return arm(tq, dev, fn, deadline_ns, false);
}

void timerq_sync(struct timerq *tq)
{
	struct tq_ent *e;

	pthread_mutex_lock(&tq->lock);
	e = earliest(tq);
	if (e && e->deadline < tq->sleep_until)
		pthread_cond_broadcast(&tq->cond);
	pthread_mutex_unlock(&tq->lock);
}

static int arm(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns, bool wake)
{
	struct tq_ent *e;
	int r = 0;

	pthread_mutex_lock(&tq->lock);
	e = deadline_ns ? find_or_add(tq, dev) : find(tq, dev);
	if (e) {
		e->fn = fn;
		e->deadline = deadline_ns;
		e->gen++;
		/*
		 * Wake the thread only if it would sleep past the new deadline:
		 * a cancel or a later deadline is found when it wakes anyway, and
		 * a futex wake per LAPIC timer write is what the MMIO exit can
		 * least afford.
		 */
		if (wake && deadline_ns && deadline_ns < tq->sleep_until)
			pthread_cond_broadcast(&tq->cond);
	} else if (deadline_ns) {
		r = -ENOMEM;
		log_warn("timerq: no memory to arm a device timer; its deadline is lost");
	}
	pthread_mutex_unlock(&tq->lock);
	return r;
}

uint64_t timerq_fire_due(struct timerq *tq, void *dev, uint64_t now)
{
	struct tq_ent *e;
	uint64_t d = 0;

	pthread_mutex_lock(&tq->lock);
	e = find(tq, dev);
	if (e && !e->running && e->deadline && e->deadline <= now) {
		fire_locked(tq, e, now);
		e = find(tq, dev);
	}
	/* a tick running elsewhere re-arms when it is done: nothing to wait for yet */
	if (e && !e->running)
		d = e->deadline;
	pthread_mutex_unlock(&tq->lock);
	return d;
}

void timerq_cancel_sync(struct timerq *tq, void *dev)
{
	struct tq_ent *e;

	pthread_mutex_lock(&tq->lock);
	tq->cancelling++;
	while ((e = find(tq, dev)) && e->running)
		pthread_cond_wait(&tq->cond, &tq->lock);
	tq->cancelling--;
	if (e)
		*e = tq->ents[--tq->n];
	pthread_mutex_unlock(&tq->lock);
}
