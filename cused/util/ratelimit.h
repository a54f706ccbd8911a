/* SPDX-License-Identifier: MIT */
/*
 * Rate limit for messages a guest can trigger in a loop (KVM's
 * printk_ratelimit() in picdev_write): the first RATELIMIT_BURST, then one
 * in RATELIMIT_EVERY.  The counter lives in the device, under its lock.
 */
#ifndef CUSED_UTIL_RATELIMIT_H
#define CUSED_UTIL_RATELIMIT_H

#include <stdbool.h>

#define RATELIMIT_BURST 10u
#define RATELIMIT_EVERY 4096u

/* true when this occurrence may be logged; *count is the device's counter */
static inline bool ratelimit_ok(unsigned *count)
{
	unsigned n = (*count)++;

	return n < RATELIMIT_BURST || n % RATELIMIT_EVERY == 0;
}

#endif
