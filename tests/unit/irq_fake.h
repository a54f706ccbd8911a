/* SPDX-License-Identifier: MIT */
/*
 * A fake struct irq_env for the device-model tests: a settable clock, and a
 * record of every deadline armed and every message delivered.  No test sleeps.
 * Header-only so each test program includes its own copy.
 */
#ifndef CUSED_TESTS_IRQ_FAKE_H
#define CUSED_TESTS_IRQ_FAKE_H

#include <string.h>
#include "cused/irq/irq.h"

#define FAKE_MAX_MSGS 256

struct fake_env {
	struct irq_env env;
	uint64_t now;                        /* what now_ns answers */
	void *armed_dev;                     /* last device that armed */
	uint64_t armed;                      /* its last deadline (0 = cancelled) */
	unsigned narms;                      /* arm calls so far */
	struct irq_msg msgs[FAKE_MAX_MSGS];  /* delivered, in order (first FAKE_MAX_MSGS) */
	unsigned nmsgs;                      /* deliver calls so far */
	int deliver_result;                  /* what deliver returns (default 1) */
};

static inline uint64_t fake_now_ns(void *ctx)
{
	return ((struct fake_env *)ctx)->now;
}

static inline void fake_arm(void *ctx, void *dev, uint64_t deadline_ns)
{
	struct fake_env *f = ctx;

	f->armed_dev = dev;
	f->armed = deadline_ns;
	f->narms++;
}

static inline int fake_deliver(void *ctx, const struct irq_msg *m)
{
	struct fake_env *f = ctx;

	if (f->nmsgs < FAKE_MAX_MSGS)
		f->msgs[f->nmsgs] = *m;
	f->nmsgs++;
	return f->deliver_result;
}

static inline void fake_env_init(struct fake_env *f)
{
	memset(f, 0, sizeof(*f));
	f->deliver_result = 1;
	f->env = (struct irq_env){ .now_ns = fake_now_ns, .arm = fake_arm,
				   .deliver = fake_deliver, .ctx = f };
}

#endif
