/* SPDX-License-Identifier: MIT */
/*
 * A mutex that knows its owner, so that a `_locked` helper can assert that
 * its caller holds the lock (NVMM's OS_ASSERT(os_mtx_owned()), STYLE.md §3).
 * The device models of cused/irq/ take one each.
 */
#ifndef CUSED_UTIL_CMUTEX_H
#define CUSED_UTIL_CMUTEX_H

#include <assert.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

struct cmutex {
	pthread_mutex_t m;
	_Atomic uintptr_t owner;     /* pthread_self() of the holder, 0 when free */
};

/* init/destroy: the mutex must be unlocked when destroyed */
void cmutex_init(struct cmutex *c);
void cmutex_destroy(struct cmutex *c);
/* lock/unlock; not recursive (a second lock by the holder deadlocks) */
void cmutex_lock(struct cmutex *c);
void cmutex_unlock(struct cmutex *c);
/* true when the calling thread holds c */
bool cmutex_held(const struct cmutex *c);

/* for `_locked` helpers: a programming error, never client or guest input */
#define cmutex_assert_held(c) assert(cmutex_held(c))

#endif
