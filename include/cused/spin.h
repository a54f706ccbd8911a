/* SPDX-License-Identifier: MIT */
/*
 * Adaptive spin for the KVM_RUN doorbell, used by both libcused and the
 * daemon.  Spinning saves the wake-up latency of a sleeping peer when a CPU
 * is free for each side; on an oversubscribed machine a spinner that gets
 * preempted is never woken by its peer and a hand-off can cost a scheduler
 * tick.  So the budget doubles while spins succeed and halves when they
 * fail, down to pure futex sleeping, with an occasional probe to find out
 * whether spinning pays again.
 *
 * Off unless CUSED_SPIN=1: on the 2-core development machine every spin
 * variant measured slower than sleeping at once (scripts/bench/exit-roundtrip:
 * a fixed 40 us spin ~100 us/exit, adaptive 17-70 us, futex only 14-38 us),
 * because client, daemon and everything else share the two cores.  It is
 * meant for hosts with idle cores to give each side.
 */
#ifndef CUSED_SPIN_H
#define CUSED_SPIN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#define CUSED_SPIN_MAX_NS 40000u
#define CUSED_SPIN_PROBE_NS 2000u
#define CUSED_SPIN_PROBE_EVERY 256u

struct cused_spin {
	uint32_t budget_ns;
	uint32_t idle_waits;   /* waits since the budget dropped to zero */
	bool off;              /* always sleep (the default) */
};

/* CUSED_SPIN=1 in the environment (client's and daemon's) turns spinning on */
static inline void cused_spin_init(struct cused_spin *s)
{
	const char *e = getenv("CUSED_SPIN");

	*s = (struct cused_spin){ .off = !(e && e[0] == '1') };
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

/* the wait ended during the spin (hit) or needed the futex (miss) */
static inline void cused_spin_learn(struct cused_spin *s, uint32_t spun_ns, bool hit)
{
	if (hit) {
		uint32_t b = (s->budget_ns ? s->budget_ns : spun_ns) * 2;

		s->budget_ns = b > CUSED_SPIN_MAX_NS ? CUSED_SPIN_MAX_NS :
			       b < CUSED_SPIN_PROBE_NS ? CUSED_SPIN_PROBE_NS : b;
	} else {
		s->budget_ns /= 2;
		if (s->budget_ns < CUSED_SPIN_PROBE_NS)
			s->budget_ns = 0;
	}
}

#endif
