/* SPDX-License-Identifier: MIT */
/*
 * The LAPIC timer: one-shot, periodic and TSC-deadline modes on the env's
 * clock.  Mirrors Linux arch/x86/kvm/lapic.c: update_divide_count,
 * apic_update_lvtt, set_target_expiration, update_target_expiration,
 * advance_periodic_target_expiration, start_sw_period, start_sw_tscdeadline,
 * apic_get_tmcct, apic_timer_fn/apic_timer_expired and
 * kvm_inject_apic_timer_irqs, without the hrtimer: the daemon's timer loop
 * is asked for deadlines through env->arm and calls lapic_timer_tick().
 *
 * TMCCT is derived from the target expiration, never ticked.  Expiry only
 * sets timer_pending and kicks; the runner injects LVTT in lapic_sync().
 * tlock covers l->t against the tick (see lapic_priv.h): the tick moves
 * target, armed and tscdeadline of a periodic timer, so the runner reads
 * those under tlock too.
 */
#include "cused/irq/lapic_priv.h"

static uint64_t now_ns(struct lapic *l)
{
	return l->env.now_ns ? l->env.now_ns(l->env.ctx) : 0;
}

static void arm(struct lapic *l, uint64_t deadline)
{
	l->t.armed = deadline;
	if (l->env.arm)
		l->env.arm(l->env.ctx, l, deadline);
}

static uint64_t ns_to_cycles(struct lapic *l, uint64_t ns)
{
	return (uint64_t)((unsigned __int128)ns * l->tsc_khz / 1000000);
}

static uint64_t guest_tsc(struct lapic *l, uint64_t now)
{
	int64_t dns = (int64_t)(now - l->tsc_ns_ref);

	return l->tsc_ref + (uint64_t)(int64_t)((__int128)dns * l->tsc_khz / 1000000);
}

void lapic_set_tsc_clock(struct lapic *l, uint32_t tsc_khz, uint64_t ns_ref, uint64_t tsc_ref)
{
	l->tsc_khz = tsc_khz;
	l->tsc_ns_ref = ns_ref;
	l->tsc_ref = tsc_ref;
}

void lp_timer_init(struct lapic *l)
{
	pthread_mutex_init(&l->tlock, NULL);
}

void lp_timer_fini(struct lapic *l)
{
	pthread_mutex_destroy(&l->tlock);
}

static bool periodic(const struct lapic *l)
{
	return l->t.mode == APIC_LVT_TIMER_PERIODIC;
}

static bool oneshot(const struct lapic *l)
{
	return l->t.mode == APIC_LVT_TIMER_ONESHOT;
}

/* cancel_apic_timer() */
void lp_timer_cancel(struct lapic *l)
{
	pthread_mutex_lock(&l->tlock);
	if (l->t.armed)
		arm(l, 0);
	atomic_store(&l->timer_pending, 0);
	pthread_mutex_unlock(&l->tlock);
}

/* update_divide_count(): TDCR bits 3,1:0 encode 2, 4, ... 128, 1 */
void lp_timer_update_divide(struct lapic *l)
{
	uint32_t d = reg_get(l, APIC_TDCR) & 0xf;
	uint32_t sh = ((d & 3) | ((d & 8) >> 1)) + 1;

	l->t.divide_count = 1u << (sh & 7);
}

/* limit_periodic_timer_frequency(): the guest may not ask for a tiny period */
static void limit_period(struct lapic *l)
{
	uint64_t floor = (uint64_t)l->cfg.min_timer_period_us * 1000;

	if (periodic(l) && l->t.period && l->t.period < floor)
		l->t.period = floor;
}

static uint64_t tmict_to_ns(struct lapic *l, uint32_t count)
{
	return (uint64_t)count * l->cfg.apic_bus_cycle_ns * l->t.divide_count;
}

/* apic_update_lvtt(): switching into or out of TSC-deadline stops the timer */
void lp_timer_update_lvtt(struct lapic *l)
{
	uint32_t mode = reg_get(l, APIC_LVTT) & l->timer_mode_mask;

	if (mode == l->t.mode)
		return;
	pthread_mutex_lock(&l->tlock);
	if ((l->t.mode == APIC_LVT_TIMER_TSCDEADLINE) != (mode == APIC_LVT_TIMER_TSCDEADLINE)) {
		if (l->t.armed)
			arm(l, 0);
		atomic_store(&l->timer_pending, 0);
		reg_set(l, APIC_TMICT, 0);
		l->t.period = 0;
		l->t.tscdeadline = 0;
	}
	l->t.mode = mode;
	limit_period(l);
	pthread_mutex_unlock(&l->tlock);
}

/* apic_timer_expired(): count it once and let the runner inject it */
static bool expire(struct lapic *l)
{
	if (atomic_load(&l->timer_pending))
		return false;
	atomic_store(&l->timer_pending, 1);
	return true;
}

/* advance_periodic_target_expiration(): from the previous target, never into the past */
static void advance_periodic(struct lapic *l, uint64_t now)
{
	l->t.target += l->t.period;
	/* after a long stop, restart from now rather than replaying missed periods */
	if (l->t.target < now)
		l->t.target = now;
	l->t.tscdeadline = guest_tsc(l, now) + ns_to_cycles(l, l->t.target - now);
}

/* set_target_expiration(): false when the count is 0 (timer stopped) */
static bool set_target(struct lapic *l, unsigned count_reg, uint64_t now)
{
	uint64_t deadline;

	l->t.period = tmict_to_ns(l, reg_get(l, APIC_TMICT));
	if (!l->t.period) {
		l->t.tscdeadline = 0;
		return false;
	}
	limit_period(l);
	deadline = l->t.period;
	if (count_reg != APIC_TMICT) {
		/* a restore resumes from the saved current count */
		deadline = tmict_to_ns(l, reg_get(l, count_reg));
		if (!deadline)
			deadline = periodic(l) ? l->t.period : 0;
		else if (deadline > l->t.period) {
			reg_set(l, count_reg, 0);
			deadline = l->t.period;
		}
	}
	l->t.tscdeadline = guest_tsc(l, now) + ns_to_cycles(l, deadline);
	l->t.target = now + deadline;
	return true;
}

/* start_sw_period() / start_sw_tscdeadline(), tlock held; returns "kick needed" */
static bool restart_locked(struct lapic *l, uint64_t now)
{
	bool fired = false;

	if (periodic(l) || oneshot(l)) {
		if (!l->t.period)
			return false;
		if (now >= l->t.target) {
			fired = expire(l);
			if (oneshot(l)) {
				if (l->t.armed)
					arm(l, 0);
				return fired;
			}
			advance_periodic(l, now);
		}
		arm(l, l->t.target);
		return fired;
	}
	if (!l->t.tscdeadline || !l->tsc_khz)
		return false;
	{
		uint64_t tsc = guest_tsc(l, now);

		if (l->t.tscdeadline > tsc) {
			uint64_t ns = (uint64_t)((__int128)(l->t.tscdeadline - tsc) * 1000000 / l->tsc_khz);

			l->t.target = now + ns;
			arm(l, l->t.target);
			return false;
		}
	}
	if (l->t.armed)
		arm(l, 0);
	return expire(l);
}

static void kick_self(struct lapic *l)
{
	if (l->env.kick)
		l->env.kick(l->env.ctx, l);
}

/* __start_apic_timer(); count_reg is TMICT for a guest write, TMCCT for a restore */
void lp_timer_start(struct lapic *l, unsigned count_reg)
{
	uint64_t now = now_ns(l);
	bool fired = false;

	pthread_mutex_lock(&l->tlock);
	atomic_store(&l->timer_pending, 0);
	if (!((periodic(l) || oneshot(l)) && !set_target(l, count_reg, now)))
		fired = restart_locked(l, now);
	pthread_mutex_unlock(&l->tlock);
	if (fired)
		kick_self(l);
}

void lp_timer_write_tmict(struct lapic *l, uint32_t val)
{
	if (l->t.mode == APIC_LVT_TIMER_TSCDEADLINE)
		return;
	lp_timer_cancel(l);
	reg_set(l, APIC_TMICT, val);
	lp_timer_start(l, APIC_TMICT);
}

/* APIC_TDCR write: a running count keeps its progress, rescaled to the new divider */
void lp_timer_write_tdcr(struct lapic *l, uint32_t val)
{
	uint32_t old_div = l->t.divide_count;
	uint64_t now, rem;
	bool fired;

	reg_set(l, APIC_TDCR, val & 0xb);
	lp_timer_update_divide(l);
	if (l->t.divide_count == old_div || !l->t.period)
		return;
	now = now_ns(l);
	pthread_mutex_lock(&l->tlock);
	/* update_target_expiration() */
	l->t.period = tmict_to_ns(l, reg_get(l, APIC_TMICT));
	limit_period(l);
	rem = l->t.target > now ? l->t.target - now : 0;
	rem = (uint64_t)((__int128)rem * l->t.divide_count / old_div);
	l->t.target = now + rem;
	l->t.tscdeadline = guest_tsc(l, now) + ns_to_cycles(l, rem);
	if (l->t.armed)
		arm(l, 0);
	/* restart_apic_timer(): an undelivered one-shot expiry is not re-armed */
	fired = (periodic(l) || !atomic_load(&l->timer_pending)) && restart_locked(l, now);
	pthread_mutex_unlock(&l->tlock);
	if (fired)
		kick_self(l);
}

/* apic_get_tmcct(): what is left of the current period, in bus cycles */
uint32_t lp_timer_tmcct(struct lapic *l)
{
	uint64_t now, rem;

	if (!reg_get(l, APIC_TMICT) || !l->t.period)
		return 0;
	now = now_ns(l);
	pthread_mutex_lock(&l->tlock);
	rem = l->t.target > now ? l->t.target - now : 0;
	pthread_mutex_unlock(&l->tlock);
	rem %= l->t.period;
	return (uint32_t)(rem / ((uint64_t)l->cfg.apic_bus_cycle_ns * l->t.divide_count));
}

/* kvm_inject_apic_timer_irqs(): runner, from lapic_sync() */
void lp_timer_inject(struct lapic *l)
{
	if (!atomic_exchange(&l->timer_pending, 0))
		return;
	lp_local_deliver(l, APIC_LVTT);
	pthread_mutex_lock(&l->tlock);
	if (l->t.mode == APIC_LVT_TIMER_TSCDEADLINE) {
		l->t.tscdeadline = 0;
	} else if (oneshot(l)) {
		l->t.tscdeadline = 0;
		l->t.target = 0;
	}
	pthread_mutex_unlock(&l->tlock);
}

uint64_t lapic_timer_deadline(struct lapic *l)
{
	uint64_t d;

	pthread_mutex_lock(&l->tlock);
	d = l->t.armed;
	pthread_mutex_unlock(&l->tlock);
	return d;
}

uint64_t lapic_timer_tick(struct lapic *l, uint64_t now)
{
	uint64_t next = 0;
	bool fired = false;

	pthread_mutex_lock(&l->tlock);
	if (l->t.armed && now >= l->t.armed) {
		fired = expire(l);
		if (periodic(l) && l->t.period) {
			advance_periodic(l, now);
			l->t.armed = l->t.target;
		} else {
			l->t.armed = 0;
		}
	}
	next = l->t.armed;
	pthread_mutex_unlock(&l->tlock);
	if (fired)
		kick_self(l);
	return next;
}

void lapic_set_tscdeadline(struct lapic *l, uint64_t tsc)
{
	if (!lp_hw_enabled(l) || l->t.mode != APIC_LVT_TIMER_TSCDEADLINE)
		return;
	lp_timer_cancel(l);
	pthread_mutex_lock(&l->tlock);
	l->t.tscdeadline = tsc;
	pthread_mutex_unlock(&l->tlock);
	lp_timer_start(l, APIC_TMICT);
}

uint64_t lapic_get_tscdeadline(struct lapic *l)
{
	uint64_t v;

	if (!lp_hw_enabled(l) || l->t.mode != APIC_LVT_TIMER_TSCDEADLINE)
		return 0;
	pthread_mutex_lock(&l->tlock);
	v = l->t.tscdeadline;
	pthread_mutex_unlock(&l->tlock);
	return v;
}
