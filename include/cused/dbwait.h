/* SPDX-License-Identifier: MIT */
/*
 * The sleeping half of the KVM_RUN doorbell (struct cused_doorbell), used by
 * both libcused and the daemon: a sequence word the poster stores and a
 * waiter count the sleeper raises around its FUTEX_WAIT, so the poster makes
 * the wake system call only when someone may be asleep.
 *
 * The lost-wakeup argument (Dekker): the sleeper raises the count, then
 * reads the word; the poster stores the word, then reads the count; all four
 * are sequentially consistent.  So either the sleeper sees the new word and
 * does not sleep, or the poster sees the count and wakes.  A wake that comes
 * before the sleeper is in FUTEX_WAIT is not lost either: FUTEX_WAIT
 * compares the word with the value the sleeper saw and returns EAGAIN.  A
 * count, not a flag: two processes may share one vCPU fd (only one of them
 * holds the shim's run_lock) and one leaving must not hide the other.
 */
#ifndef CUSED_DBWAIT_H
#define CUSED_DBWAIT_H

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>
#include <linux/futex.h>
#include <sys/syscall.h>

/* shared (not PRIVATE) futex: the word lives in another process's mapping too */
static inline long cused_futex(uint32_t *uaddr, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, uaddr, op, val, ts, NULL, 0);
}

/* *word was just changed (sequentially consistent): wake its sleepers, if any */
static inline void cused_db_wake_waiters(uint32_t *word, uint32_t *waiters)
{
	if (__atomic_load_n(waiters, __ATOMIC_SEQ_CST))
		cused_futex(word, FUTEX_WAKE, INT_MAX, NULL);
}

/* store val in *word and wake its sleepers, if *waiters says there may be any */
static inline void cused_db_post(uint32_t *word, uint32_t val, uint32_t *waiters)
{
	__atomic_store_n(word, val, __ATOMIC_SEQ_CST);
	cused_db_wake_waiters(word, waiters);
}

/* wake *word's sleepers whatever *waiters says (the word changed elsewhere) */
static inline void cused_db_wake(uint32_t *word)
{
	cused_futex(word, FUTEX_WAKE, INT_MAX, NULL);
}

/*
 * Sleep while *word == seen, at most tmo (NULL: no limit).  Returns 0 when
 * woken or the word had already changed (the caller looks again; wakes may
 * be spurious), else -errno of FUTEX_WAIT: -EINTR for a signal, -ETIMEDOUT.
 */
static inline int cused_db_sleep(uint32_t *word, uint32_t seen, uint32_t *waiters,
				 const struct timespec *tmo)
{
	int r = 0;

	__atomic_add_fetch(waiters, 1, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(word, __ATOMIC_SEQ_CST) == seen &&
	    cused_futex(word, FUTEX_WAIT, seen, tmo) < 0 && errno != EAGAIN)
		r = -errno;
	__atomic_sub_fetch(waiters, 1, __ATOMIC_SEQ_CST);
	return r;
}

#endif
