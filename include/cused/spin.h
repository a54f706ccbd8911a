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
 * ~25 us on an idle host and spinning up to about that long is at most twice
 * the best choice; CUSED_SPIN_MAX_NS is that bound (scripts/bench/run pio:
 * 20 us spin vs 50 us vs 100 us, see README "Performance").
 *
 * Under load spinning must not hold a CPU others need, nor wait for a peer
 * that is not running.  Three brakes:
 *  - a spin that ends without its answer halves the budget, one that ends
 *    with it doubles the budget (at least twice what it waited), so the
 *    budget follows how long the peer takes and drops to pure sleeping
 *    when the peer is slow or preempted; at zero it probes now and then;
 *  - a gap in the spin loop longer than CUSED_SPIN_GAP_NS means this thread
 *    did not run (preempted, an interrupt, a signal handler): the spin stops
 *    at once, counts as a miss, and the caller learns of it (the client must
 *    treat it as a possible signal: see cused/shim/run.c);
 *  - CUSED_SPIN=0 in the environment never spins (futex only).
 */
#ifndef CUSED_SPIN_H
#define CUSED_SPIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define CUSED_SPIN_MAX_NS 50000u      /* ~2x a sleeping peer's wake-up, above */
#define CUSED_SPIN_MIN_NS 2000u       /* below this the budget is 0: sleep at once */
#define CUSED_SPIN_PROBE_NS (CUSED_SPIN_MAX_NS / 2)
#define CUSED_SPIN_PROBE_EVERY 64u    /* waits between probes at budget 0 */
/* longer than a loop turn plus a host tick; a signal handler takes >= 4 us here */
#define CUSED_SPIN_GAP_NS 3000u

struct cused_spin {
	uint32_t budget_ns;
	uint32_t idle_waits;   /* waits since the budget dropped to zero */
	bool off;              /* CUSED_SPIN=0: always sleep */
};

enum cused_spin_end {
	CUSED_SPIN_READY,      /* the answer came while spinning (or was there) */
	CUSED_SPIN_TIMEOUT,    /* budget spent (or zero): sleep now */
	CUSED_SPIN_GAP,        /* this thread stopped running for a while: sleep now */
};

/* spinning is on unless CUSED_SPIN=0 in the environment */
static inline void cused_spin_init(struct cused_spin *s)
{
	const char *e = getenv("CUSED_SPIN");

	*s = (struct cused_spin){ .budget_ns = CUSED_SPIN_MAX_NS, .off = e && e[0] == '0' };
}

static inline uint64_t cused_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* how long to spin before this wait */
static inline uint32_t cused_spin_budget(struct cused_spin *s)
{
	if (s->off)
		return 0;
	if (s->budget_ns)
		return s->budget_ns;
	if (++s->idle_waits % CUSED_SPIN_PROBE_EVERY == 0)
		return CUSED_SPIN_PROBE_NS;
	return 0;
}

/* the wait ended during the spin after waited_ns (hit), or did not (miss) */
static inline void cused_spin_learn(struct cused_spin *s, uint64_t waited_ns, bool hit)
{
	uint64_t b;

	if (hit) {
		b = (uint64_t)(s->budget_ns ? s->budget_ns : CUSED_SPIN_PROBE_NS) * 2;
		if (b < 2 * waited_ns)
			b = 2 * waited_ns;
		s->budget_ns = b > CUSED_SPIN_MAX_NS ? CUSED_SPIN_MAX_NS : (uint32_t)b;
		s->idle_waits = 0;
	} else {
		s->budget_ns /= 2;
		if (s->budget_ns < CUSED_SPIN_MIN_NS)
			s->budget_ns = 0;
	}
}

/*
 * Spin until ready(arg), for at most this wait's budget.  ready is called
 * once at least, first thing; it must be cheap and free of system calls.
 */
static inline enum cused_spin_end cused_spin_until(struct cused_spin *s,
						   bool (*ready)(void *), void *arg)
{
	uint32_t budget;
	uint64_t start, last, now;

	if (ready(arg))
		return CUSED_SPIN_READY;
	budget = cused_spin_budget(s);
	if (!budget)
		return CUSED_SPIN_TIMEOUT;
	start = last = cused_now_ns();
	for (;;) {
		__builtin_ia32_pause();
		if (ready(arg)) {
			cused_spin_learn(s, cused_now_ns() - start, true);
			return CUSED_SPIN_READY;
		}
		now = cused_now_ns();
		if (now - last > CUSED_SPIN_GAP_NS) {
			cused_spin_learn(s, now - start, false);
			return CUSED_SPIN_GAP;
		}
		if (now - start >= budget) {
			cused_spin_learn(s, now - start, false);
			return CUSED_SPIN_TIMEOUT;
		}
		last = now;
	}
}

#endif
