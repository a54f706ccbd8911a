/* SPDX-License-Identifier: MIT */
/*
 * Spin-then-sleep for the KVM_RUN doorbell, used by both libcused and the
 * daemon (the sleeping half is dbwait.h).  A futex hand-off to a peer whose
 * CPU went idle pays that CPU's wake-up; spinning does not, as long as each
 * side has a CPU.  So each waiter spins for a bounded, adaptive budget first.
 *
 * Measured on the 2-core development VM (AMD EPYC guest, PVM host kernel),
 * 2026-11-26, two threads handing a word back and forth, one of them busy
 * 10 us per round as the daemon is in KVM_RUN (scratch program, load 2-3):
 * futex hand-offs 45-57 us of overhead per round trip (two wakes of a
 * halted vCPU, ~25 us each), spinning 2-3 us.  The cost of a sleep is thus
 * ~25 us on an idle host, and spinning up to twice that is at most about
 * twice the best choice: CUSED_SPIN_MAX_NS.  (scripts/bench/run pio with a
 * 20, 50 and 100 us bound at load 5-7: 18.9-21.0 us per exit, no difference
 * beyond the noise; the base futex-only doorbell 25-33 us.)  Under load the
 * same hand-off by futex costs 3-10 us (the woken thread's CPU is busy, not
 * halted), and spinning without the brakes below made exits 3-5x slower
 * than sleeping (93-133 us against 20-48 us at load 6-17): a spinner holds
 * the CPU its peer is queued on.
 *
 * How long to spin is learned per waiter from what each wait shows (the
 * poster stamps its post next to the word, so a waiter knows when its answer
 * came even if it slept through it):
 *  - a sleep through an answer measures what sleeping costs (wake_ns, an
 *    average); spinning more than twice that, plus CUSED_SPIN_FLOOR_NS,
 *    cannot pay, so it caps the budget.  On an idle machine that is the
 *    bound; on a loaded one a woken thread runs within a few microseconds
 *    and the spin shrinks to about one host exit;
 *  - an answer while spinning doubles the budget (at least twice its time),
 *    up to the cap; a spin that runs out halves it, down to none; with none
 *    an answer that came within the cap brings it back;
 *  - a gap in the spin loop longer than CUSED_SPIN_GAP_NS means this thread
 *    did not run (preempted, an interrupt, a signal handler): the spin stops
 *    at once and the budget halves, so a thread preempted again and again
 *    stops spinning;
 *  - each side publishes the CPU it runs on; a spin stops as soon as its
 *    peer's CPU is its own (the peer is queued behind the spinner).
 * CUSED_SPIN=0 in the environment never spins (futex only).
 */
#ifndef CUSED_SPIN_H
#define CUSED_SPIN_H

#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define CUSED_SPIN_MAX_NS 50000u      /* ~2x a sleeping peer's wake-up, above */
#define CUSED_SPIN_FLOOR_NS 10000u    /* a host exit on this machine: cused_spin_cap */
#define CUSED_SPIN_MIN_NS 2000u       /* below this the budget is 0: sleep at once */
/* longer than a loop turn plus a host tick; a signal handler takes >= 4 us here */
#define CUSED_SPIN_GAP_NS 3000u

struct cused_spin {
	uint32_t budget_ns;
	uint32_t wake_ns;      /* average cost of a sleep: answer posted -> thread back */
	bool off;              /* CUSED_SPIN=0: always sleep */
	bool gapped;           /* this wait's spin saw its thread stopped */
	bool spun_out;         /* this wait spun its whole budget */
	uint64_t start_ns;     /* this wait began */
};

enum cused_spin_end {
	CUSED_SPIN_READY,      /* the answer came while spinning (or was there) */
	CUSED_SPIN_TIMEOUT,    /* budget spent (or zero): sleep now */
	CUSED_SPIN_GAP,        /* this thread stopped running for a while: sleep now */
	CUSED_SPIN_SHARED,     /* the peer last ran on this CPU: sleep now */
};

/* 1 + this thread's CPU, for the peer's cused_spin_until (glibc reads it from rseq) */
static inline uint32_t cused_spin_cpu(void)
{
	int c = sched_getcpu();

	return c < 0 ? 0 : (uint32_t)c + 1;
}

/* spinning is on unless CUSED_SPIN=0 in the environment */
static inline void cused_spin_init(struct cused_spin *s)
{
	const char *e = getenv("CUSED_SPIN");

	*s = (struct cused_spin){ .budget_ns = CUSED_SPIN_MAX_NS, .wake_ns = CUSED_SPIN_MAX_NS / 2,
				  .off = e && e[0] == '0' };
}

static inline uint64_t cused_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/*
 * Spinning longer than twice what a sleep costs cannot pay, in CPU time.
 * In latency it can: a wait of a host exit (~10 us here) spun through beats
 * one slept through plus even a cheap wake-up; CUSED_SPIN_FLOOR_NS allows
 * that much whatever a sleep costs.
 */
static inline uint32_t cused_spin_cap(const struct cused_spin *s)
{
	uint64_t c = 2ull * s->wake_ns + CUSED_SPIN_FLOOR_NS;

	return c > CUSED_SPIN_MAX_NS ? CUSED_SPIN_MAX_NS : (uint32_t)c;
}

static inline void cused_spin_halve(struct cused_spin *s)
{
	s->budget_ns /= 2;
	if (s->budget_ns < CUSED_SPIN_MIN_NS)
		s->budget_ns = 0;
}

/*
 * The wait that the last cused_spin_until began is over.  answer_ns: when
 * the answer was posted (the poster's cused_now_ns(); the waiter's own clock
 * if the poster keeps none); woke_ns: when this thread came back from
 * sleeping, 0 if it did not sleep.  Learns the next budget.
 */
static inline void cused_spin_answered(struct cused_spin *s, uint64_t answer_ns, uint64_t woke_ns)
{
	uint64_t took = answer_ns > s->start_ns ? answer_ns - s->start_ns : 0;
	uint64_t b;

	if (s->off)
		return;
	/* a sleep through an answer that came after it began measures a wake-up */
	if (woke_ns && answer_ns > s->start_ns && woke_ns >= answer_ns) {
		uint64_t w = woke_ns - answer_ns;

		if (w > 4 * CUSED_SPIN_MAX_NS)
			w = 4 * CUSED_SPIN_MAX_NS;
		s->wake_ns = (uint32_t)((7ull * s->wake_ns + w) / 8);
	}
	if (s->gapped)
		return;                  /* halved already */
	if (s->spun_out) {
		cused_spin_halve(s);     /* the answer was not worth the spin */
		return;
	}
	if (woke_ns && s->budget_ns)
		return;                  /* slept after a spin cut short: nothing learned */
	/* answered while spinning, or after a sleep with no spin at all */
	if (took > cused_spin_cap(s))
		return;
	b = 2 * (uint64_t)(s->budget_ns > took ? s->budget_ns : took);
	if (b < CUSED_SPIN_MIN_NS)
		b = CUSED_SPIN_MIN_NS;
	s->budget_ns = b > cused_spin_cap(s) ? cused_spin_cap(s) : (uint32_t)b;
}

/*
 * Begin a wait: spin until ready(arg), for at most the budget.  ready is
 * called once at least, first thing; it must be cheap and free of system
 * calls.  peer_cpu (or NULL): where the thread that will answer publishes
 * cused_spin_cpu(); the spin stops when that is this thread's CPU.  Call
 * cused_spin_answered once the wait is over.
 */
static inline enum cused_spin_end cused_spin_until(struct cused_spin *s,
						   bool (*ready)(void *), void *arg,
						   const uint32_t *peer_cpu)
{
	uint64_t last, now;
	uint32_t budget, me;

	s->gapped = s->spun_out = false;
	s->start_ns = last = cused_now_ns();
	if (ready(arg))
		return CUSED_SPIN_READY;
	budget = s->budget_ns < cused_spin_cap(s) ? s->budget_ns : cused_spin_cap(s);
	if (s->off || !budget)
		return CUSED_SPIN_TIMEOUT;
	me = peer_cpu ? cused_spin_cpu() : 0;
	for (;;) {
		/* the peer went to (or waits for) this CPU: the spin holds it off */
		if (me && __atomic_load_n(peer_cpu, __ATOMIC_RELAXED) == me) {
			s->gapped = true;    /* says nothing about how long answers take */
			return CUSED_SPIN_SHARED;
		}
		__builtin_ia32_pause();
		if (ready(arg))
			return CUSED_SPIN_READY;
		now = cused_now_ns();
		if (now - last > CUSED_SPIN_GAP_NS) {
			s->gapped = true;
			cused_spin_halve(s);
			return CUSED_SPIN_GAP;
		}
		if (now - s->start_ns >= budget) {
			s->spun_out = true;
			return CUSED_SPIN_TIMEOUT;
		}
		last = now;
	}
}

#endif
