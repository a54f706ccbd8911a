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
#include <time.h>
#include "cused/irq/timerq.h"
#include "cused/util/log.h"

struct tq_ent {
	void *dev;
	timerq_tick_fn fn;
	uint64_t deadline;      /* 0: slot holds only the generation */
	uint64_t gen;           /* bumped by every arm/cancel */
};

struct timerq {
	pthread_mutex_t lock;   /* everything below */
	pthread_cond_t cond;    /* the thread's sleep; also cancel_sync's wait */
	struct tq_ent *ents;
	unsigned n, cap;
	void *running;          /* device whose tick is in progress, or NULL */
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

static void *timerq_main(void *arg)
{
	struct timerq *tq = arg;

	pthread_mutex_lock(&tq->lock);
	while (!tq->stop) {
		struct tq_ent *e = earliest(tq);
		uint64_t now = timerq_now_ns(), next, gen;
		timerq_tick_fn fn;
		void *dev;

		if (!e) {
			pthread_cond_wait(&tq->cond, &tq->lock);
			continue;
		}
		if (e->deadline > now) {
			struct timespec ts = { .tv_sec = e->deadline / 1000000000ull,
					       .tv_nsec = e->deadline % 1000000000ull };

			pthread_cond_timedwait(&tq->cond, &tq->lock, &ts);
			continue;
		}
		dev = e->dev;
		fn = e->fn;
		gen = e->gen;
		e->deadline = 0;
		tq->running = dev;
		/* the tick takes the device's lock, which may be waiting for ours */
		pthread_mutex_unlock(&tq->lock);
		next = fn(dev, now);
		pthread_mutex_lock(&tq->lock);
		tq->running = NULL;
		e = find(tq, dev);
		/* an arm or cancel during the tick has the last word */
		if (e && e->gen == gen && next)
			e->deadline = next;
		pthread_cond_broadcast(&tq->cond);
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

int timerq_arm(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns)
{
	struct tq_ent *e;
	int r = 0;

	pthread_mutex_lock(&tq->lock);
	e = deadline_ns ? find_or_add(tq, dev) : find(tq, dev);
	if (e) {
		e->fn = fn;
		e->deadline = deadline_ns;
		e->gen++;
		pthread_cond_broadcast(&tq->cond);
	} else if (deadline_ns) {
		r = -ENOMEM;
		log_warn("timerq: no memory to arm a device timer; its deadline is lost");
	}
	pthread_mutex_unlock(&tq->lock);
	return r;
}

void timerq_cancel_sync(struct timerq *tq, void *dev)
{
	struct tq_ent *e;

	pthread_mutex_lock(&tq->lock);
	while (tq->running == dev)
		pthread_cond_wait(&tq->cond, &tq->lock);
	e = find(tq, dev);
	if (e)
		*e = tq->ents[--tq->n];
	pthread_mutex_unlock(&tq->lock);
}
