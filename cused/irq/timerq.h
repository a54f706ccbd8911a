/* SPDX-License-Identifier: MIT */
/*
 * The deadline loop of one VM's interrupt devices (STYLE.md §3 "Timer
 * loop"): one thread sleeping until the earliest armed deadline, calling
 * that device's tick function, and re-arming it from the deadline the tick
 * returns.  Devices reach it through their irq_env.arm hook.
 *
 * Every arm or cancel of a device bumps its generation; a tick that was
 * already running when that happened has its returned deadline dropped
 * (bhyve's callout_pending/callout_active check), so a device reprogrammed
 * during its own tick keeps the new deadline.  timerq_cancel_sync() waits
 * out a tick in progress: after it returns the device may be freed.
 *
 * A device's own consumer may fire it early instead (timerq_fire_due: a
 * halted vCPU whose LAPIC timer is due runs the tick itself rather than
 * wait for this thread to be scheduled); a tick runs in one place at a time.
 *
 * Lock order: the queue lock is taken under device locks (arm from a
 * device's register write) and is never held while a tick runs.
 */
#ifndef CUSED_IRQ_TIMERQ_H
#define CUSED_IRQ_TIMERQ_H

#include <stdint.h>

struct timerq;

/* the timer thread's timer slack (PR_SET_TIMERSLACK): 1 ns, i.e. none */
#define TIMERQ_SLACK_NS 1

/* fire what is due for dev at now_ns; the next absolute deadline, 0 = none */
typedef uint64_t (*timerq_tick_fn)(void *dev, uint64_t now_ns);

/* CLOCK_MONOTONIC in ns: the clock every deadline here is on */
uint64_t timerq_now_ns(void);

/* start the thread; 0, -ENOMEM or -errno of pthread_create */
int timerq_create(struct timerq **out);
/* stop and join the thread; every device must have been cancelled */
void timerq_destroy(struct timerq *tq);

/*
 * Any thread, device locks allowed.  Tick dev with fn at deadline_ns
 * (replaces its earlier deadline); 0 cancels without waiting.  -ENOMEM when
 * the queue cannot grow (the deadline is then lost and logged).
 */
int timerq_arm(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns);
/*
 * timerq_arm without waking the thread: for a deadline the caller will fire
 * itself (timerq_fire_due) or hand over with timerq_sync before it stops
 * looking.  Until then the thread may sleep past it.
 */
int timerq_arm_lazy(struct timerq *tq, void *dev, timerq_tick_fn fn, uint64_t deadline_ns);
/* any thread: wake the thread if it sleeps past the earliest deadline (after lazy arms) */
void timerq_sync(struct timerq *tq);
/*
 * Any thread, no device lock held (the tick takes them), not from a tick.
 * If dev's deadline is at or before now and no tick of it is running, run
 * the tick here as the thread would.  Returns dev's armed deadline after
 * that, 0 if none (or a tick of it is running elsewhere).
 */
uint64_t timerq_fire_due(struct timerq *tq, void *dev, uint64_t now);
/*
 * Cancel dev and wait until no tick of it is running.  Call with no device
 * lock held (the tick takes them).  Not from the timer thread itself.
 */
void timerq_cancel_sync(struct timerq *tq, void *dev);

#endif
