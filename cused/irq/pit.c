/* SPDX-License-Identifier: MIT */
/*
 * 8254 PIT and port 0x61; mirrors Linux arch/x86/kvm/i8254.c (pit_get_count,
 * pit_get_out, pit_latch_*, pit_ioport_read/write, speaker_ioport_*,
 * pit_load_count/create_pit_timer, pit_timer_fn/pit_do_work/kvm_pit_ack_irq,
 * kvm_vm_ioctl_get/set_pit2).
 *
 * Locking: one cmutex over the state and the timer/reinject fields.  The
 * timer thread calls pit_tick(); like KVM's pit_timer_fn it only counts
 * expiries and decides whether to pulse; the pulse (which goes through the
 * routing into the PIC and IOAPIC) happens after the unlock.  Every
 * count load and KVM_SET_PIT2 goes through one recalc_locked(), KVM's
 * create_pit_timer(), so a restore cannot drift from a guest write.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cused/irq/pit.h"
#include "cused/util/cmutex.h"
#include "cused/util/log.h"
#include "cused/util/ratelimit.h"

_Static_assert(sizeof(struct kvm_pit_channel_state) == 24, "kvm_pit_channel_state layout");
_Static_assert(sizeof(struct kvm_pit_state2) == 3 * 24 + 40, "kvm_pit_state2 layout");

#define NSEC_PER_SEC 1000000000ull

/* read_state/write_state/count_latched values (KVM RW_STATE_*) */
enum { RW_LSB = 1, RW_MSB = 2, RW_WORD0 = 3, RW_WORD1 = 4 };

struct pit {
	struct cmutex lock;        /* covers every field up to "immutable" */
	/* architectural: the KVM_GET/SET_PIT2 format */
	struct kvm_pit_state2 s;
	/* derived for channel 0: recalc_locked() */
	uint64_t deadline;         /* next expiry (env clock), 0 = disarmed */
	uint64_t period;           /* ns between periodic expiries, floored */
	bool periodic;
	/* reinject (KVM ps->reinject, pending, irq_ack) */
	bool reinject;
	bool irq_ack;              /* the last pulse was acknowledged */
	uint32_t pending;          /* expiries not yet acknowledged */
	unsigned misuse_logs;      /* ratelimit_ok() counter */
	/* immutable after create */
	const struct irq_env *env;
	struct pit_env penv;
	bool speaker;              /* KVM_PIT_SPEAKER_DUMMY: serve port 0x61 */
};

static uint64_t now_ns(struct pit *pit)
{
	return pit->env->now_ns(pit->env->ctx);
}

/* PIT input clocks since the channel's count was loaded */
static uint64_t ticks_since_load(const struct kvm_pit_channel_state *c, uint64_t now)
{
	uint64_t load = c->count_load_time > 0 ? (uint64_t)c->count_load_time : 0;
	uint64_t t = now > load ? now - load : 0;

	return (uint64_t)((unsigned __int128)t * PIT_FREQ_HZ / NSEC_PER_SEC);
}

static uint64_t ticks_to_ns(uint64_t ticks)
{
	return (uint64_t)((unsigned __int128)ticks * NSEC_PER_SEC / PIT_FREQ_HZ);
}

/* KVM pit_get_count() */
static unsigned get_count(const struct kvm_pit_channel_state *c, uint64_t now)
{
	uint64_t d = ticks_since_load(c, now), n = c->count ? c->count : 0x10000;

	switch (c->mode) {
	case 0: case 1: case 4: case 5:
		return (unsigned)((n - d) & 0xffff);
	case 3:
		return (unsigned)(n - (2 * d) % n);   /* approximate for odd counts, as KVM */
	default:
		return (unsigned)(n - d % n);
	}
}

/* KVM pit_get_out() */
static bool get_out(const struct kvm_pit_channel_state *c, uint64_t now)
{
	uint64_t d = ticks_since_load(c, now), n = c->count ? c->count : 0x10000;

	switch (c->mode) {
	case 1:
		return d < n;
	case 2:
		return d % n == 0 && d != 0;
	case 3:
		return d % n < (n + 1) / 2;
	case 4: case 5:
		return d == n;
	default:   /* mode 0 and anything a restore put there */
		return d >= n;
	}
}

static void reset_reinject_locked(struct pit *pit)
{
	pit->pending = 0;
	pit->irq_ack = true;
}

/*
 * KVM create_pit_timer()/destroy_pit_timer() from channel 0's mode, count
 * and count_load_time; re-arms through env->arm.
 */
static void recalc_locked(struct pit *pit, uint64_t now)
{
	const struct kvm_pit_channel_state *c = &pit->s.channels[0];
	uint64_t interval, load;

	cmutex_assert_held(&pit->lock);
	pit->deadline = 0;
	switch (c->mode) {
	case 0: case 1: case 4:
		pit->periodic = false;
		break;
	case 2: case 3:
		pit->periodic = true;
		break;
	default:
		goto arm;
	}
	/* with the HPET in legacy mode the HPET drives IRQ0, not the PIT */
	if (pit->s.flags & KVM_PIT_FLAGS_HPET_LEGACY)
		goto arm;
	interval = ticks_to_ns(c->count);
	pit->period = interval;
	if (pit->periodic && pit->period < PIT_MIN_PERIOD_NS) {
		if (ratelimit_ok(&pit->misuse_logs))
			log_debug("pit: period %llu ns raised to %llu ns",
				  (unsigned long long)pit->period, PIT_MIN_PERIOD_NS);
		pit->period = PIT_MIN_PERIOD_NS;
	}
	reset_reinject_locked(pit);
	load = c->count_load_time > 0 ? (uint64_t)c->count_load_time : 0;
	/* the first expiry uses the programmed interval, later ones the
	 * floored period, as KVM's hrtimer does */
	pit->deadline = load + interval;
	if (pit->deadline <= now) {
		if (pit->periodic)
			pit->deadline += ((now - pit->deadline) / pit->period + 1) * pit->period;
		else
			pit->deadline = 0;   /* a restored one-shot that already fired */
	}
arm:
	pit->env->arm(pit->env->ctx, pit, pit->deadline);
}

/* KVM pit_load_count(): 0 means 0x10000 */
static void load_count_locked(struct pit *pit, unsigned ch, uint32_t val, uint64_t now)
{
	struct kvm_pit_channel_state *c = &pit->s.channels[ch];

	c->count = val ? val : 0x10000;
	c->count_load_time = (int64_t)now;
	if (ch == 0)
		recalc_locked(pit, now);
}

static void latch_count_locked(struct pit *pit, unsigned ch, uint64_t now)
{
	struct kvm_pit_channel_state *c = &pit->s.channels[ch];

	if (!c->count_latched) {
		c->latched_count = (uint16_t)get_count(c, now);
		c->count_latched = c->rw_mode;
	}
}

static void latch_status_locked(struct pit *pit, unsigned ch, uint64_t now)
{
	struct kvm_pit_channel_state *c = &pit->s.channels[ch];

	if (!c->status_latched) {
		/* NULL COUNT (bit 6) is not modelled, as in KVM */
		c->status = (uint8_t)(get_out(c, now) << 7 | c->rw_mode << 4 | c->mode << 1 | c->bcd);
		c->status_latched = 1;
	}
}

static void control_write_locked(struct pit *pit, uint8_t val, uint64_t now)
{
	unsigned ch = val >> 6, access;
	struct kvm_pit_channel_state *c;

	if (ch == 3) {   /* read-back: bit 5 clear latches counts, bit 4 clear statuses */
		for (ch = 0; ch < 3; ch++) {
			if (!(val & (2u << ch)))
				continue;
			if (!(val & 0x20))
				latch_count_locked(pit, ch, now);
			if (!(val & 0x10))
				latch_status_locked(pit, ch, now);
		}
		return;
	}
	c = &pit->s.channels[ch];
	access = (val >> 4) & 3;
	if (access == 0) {   /* counter latch command */
		latch_count_locked(pit, ch, now);
		return;
	}
	c->rw_mode = access;
	c->read_state = access;
	c->write_state = access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;   /* modes 6 and 7 are 2 and 3 */
	c->bcd = val & 1;
}

static void count_write_locked(struct pit *pit, unsigned ch, uint8_t val, uint64_t now)
{
	struct kvm_pit_channel_state *c = &pit->s.channels[ch];

	switch (c->write_state) {
	default:
	case RW_LSB:
		load_count_locked(pit, ch, val, now);
		break;
	case RW_MSB:
		load_count_locked(pit, ch, (uint32_t)val << 8, now);
		break;
	case RW_WORD0:
		c->write_latch = val;
		c->write_state = RW_WORD1;
		break;
	case RW_WORD1:
		load_count_locked(pit, ch, c->write_latch | (uint32_t)val << 8, now);
		c->write_state = RW_WORD0;
		break;
	}
}

static uint8_t count_read_locked(struct pit *pit, unsigned ch, uint64_t now)
{
	struct kvm_pit_channel_state *c = &pit->s.channels[ch];
	unsigned v;

	if (c->status_latched) {
		c->status_latched = 0;
		return c->status;
	}
	if (c->count_latched) {
		switch (c->count_latched) {
		default:
		case RW_LSB:
			c->count_latched = 0;
			return c->latched_count & 0xff;
		case RW_MSB:
			c->count_latched = 0;
			return c->latched_count >> 8;
		case RW_WORD0:
			c->count_latched = RW_MSB;
			return c->latched_count & 0xff;
		}
	}
	v = get_count(c, now);
	switch (c->read_state) {
	default:
	case RW_LSB:
		return v & 0xff;
	case RW_MSB:
		return (v >> 8) & 0xff;
	case RW_WORD0:
		c->read_state = RW_WORD1;
		return v & 0xff;
	case RW_WORD1:
		c->read_state = RW_WORD0;
		return (v >> 8) & 0xff;
	}
}

/* KVM pit_set_gate(): a rising gate restarts modes 1, 2, 3 and 5 */
static void set_gate_locked(struct pit *pit, unsigned ch, uint8_t val, uint64_t now)
{
	struct kvm_pit_channel_state *c = &pit->s.channels[ch];

	switch (c->mode) {
	case 1: case 2: case 3: case 5:
		if (c->gate < val)
			c->count_load_time = (int64_t)now;
		break;
	}
	c->gate = val;
}

int pit_write(struct pit *pit, uint64_t port, const void *data, unsigned len)
{
	uint8_t val;
	uint64_t now;

	if (!(port >= PIT_BASE_PORT && port < PIT_BASE_PORT + 4) &&
	    !(port == PIT_SPEAKER_PORT && pit->speaker))
		return -ENOENT;
	if (len == 0)
		return 0;
	val = *(const uint8_t *)data;
	now = now_ns(pit);
	cmutex_lock(&pit->lock);
	if (port == PIT_SPEAKER_PORT) {
		if (val & 2)
			pit->s.flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
		else
			pit->s.flags &= ~KVM_PIT_FLAGS_SPEAKER_DATA_ON;
		set_gate_locked(pit, 2, val & 1, now);
	} else if (port == PIT_BASE_PORT + 3) {
		control_write_locked(pit, val, now);
	} else {
		count_write_locked(pit, (unsigned)(port - PIT_BASE_PORT), val, now);
	}
	cmutex_unlock(&pit->lock);
	return 0;
}

int pit_read(struct pit *pit, uint64_t port, void *data, unsigned len)
{
	uint32_t v;
	uint64_t now;

	if (!(port >= PIT_BASE_PORT && port < PIT_BASE_PORT + 4) &&
	    !(port == PIT_SPEAKER_PORT && pit->speaker))
		return -ENOENT;
	if (port == PIT_BASE_PORT + 3)
		return 0;   /* the control word is write-only */
	now = now_ns(pit);
	cmutex_lock(&pit->lock);
	if (port == PIT_SPEAKER_PORT) {
		/* the DRAM refresh bit toggles about every 15 us; KVM uses 2^14 ns */
		v = !!(pit->s.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1 |
		    (pit->s.channels[2].gate & 1) |
		    get_out(&pit->s.channels[2], now) << 5 |
		    ((now >> 14) & 1) << 4;
	} else {
		v = count_read_locked(pit, (unsigned)(port - PIT_BASE_PORT), now);
	}
	cmutex_unlock(&pit->lock);
	memcpy(data, &v, len < 4 ? len : 4);
	return 0;
}

uint64_t pit_tick(struct pit *pit, uint64_t now)
{
	bool fire = false;
	uint64_t n = 1, next;

	cmutex_lock(&pit->lock);
	if (!pit->deadline || now < pit->deadline) {
		next = pit->deadline;
		cmutex_unlock(&pit->lock);
		return next;
	}
	if (pit->periodic) {
		/* advance from the previous target, counting what was missed */
		n += (now - pit->deadline) / pit->period;
		pit->deadline += n * pit->period;
	} else {
		pit->deadline = 0;
	}
	if (pit->reinject) {
		pit->pending = n > UINT32_MAX - pit->pending ? UINT32_MAX : pit->pending + (uint32_t)n;
		if (pit->irq_ack) {
			pit->irq_ack = false;
			fire = true;
		}
	} else {
		fire = true;   /* missed expiries collapse into this one */
	}
	next = pit->deadline;
	cmutex_unlock(&pit->lock);
	if (fire && pit->penv.pulse)
		pit->penv.pulse(pit->penv.ctx);
	return next;
}

void pit_irq_ack(struct pit *pit)
{
	bool fire = false;

	cmutex_lock(&pit->lock);
	/* KVM registers the ack notifier only while reinjecting */
	if (pit->reinject) {
		pit->irq_ack = true;
		if (pit->pending > 0 && --pit->pending > 0) {
			pit->irq_ack = false;
			fire = true;
		}
	}
	cmutex_unlock(&pit->lock);
	if (fire && pit->penv.pulse)
		pit->penv.pulse(pit->penv.ctx);
}

void pit_irq_mask(struct pit *pit, bool masked)
{
	cmutex_lock(&pit->lock);
	if (pit->reinject && !masked)
		reset_reinject_locked(pit);
	cmutex_unlock(&pit->lock);
}

void pit_set_reinject(struct pit *pit, bool reinject)
{
	cmutex_lock(&pit->lock);
	if (pit->reinject != reinject) {
		if (reinject)
			reset_reinject_locked(pit);
		pit->reinject = reinject;
	}
	cmutex_unlock(&pit->lock);
}

static void reset_locked(struct pit *pit, uint64_t now)
{
	pit->s.flags = 0;
	for (unsigned ch = 0; ch < 3; ch++) {
		pit->s.channels[ch].mode = 0xff;
		pit->s.channels[ch].gate = ch != 2;
		load_count_locked(pit, ch, 0, now);
	}
	reset_reinject_locked(pit);
}

void pit_reset(struct pit *pit)
{
	uint64_t now = now_ns(pit);

	cmutex_lock(&pit->lock);
	reset_locked(pit, now);
	cmutex_unlock(&pit->lock);
}

int pit_create(const struct irq_env *env, const struct pit_env *penv, uint32_t flags,
	       struct pit **out)
{
	struct pit *pit = calloc(1, sizeof(*pit));

	if (!pit)
		return -ENOMEM;
	cmutex_init(&pit->lock);
	pit->env = env;
	if (penv)
		pit->penv = *penv;
	pit->speaker = flags & KVM_PIT_SPEAKER_DUMMY;
	pit->reinject = true;
	pit_reset(pit);
	*out = pit;
	return 0;
}

void pit_destroy(struct pit *pit)
{
	if (!pit)
		return;
	pit->env->arm(pit->env->ctx, pit, 0);
	cmutex_destroy(&pit->lock);
	free(pit);
}

int pit_get_state(struct pit *pit, struct kvm_pit_state2 *s)
{
	cmutex_lock(&pit->lock);
	*s = pit->s;
	cmutex_unlock(&pit->lock);
	memset(s->reserved, 0, sizeof(s->reserved));
	return 0;
}

/* copy channels in, keep their phase, recompute channel 0 */
static void load_channels_locked(struct pit *pit, const struct kvm_pit_channel_state *ch,
				 uint64_t now)
{
	memcpy(pit->s.channels, ch, sizeof(pit->s.channels));
	for (unsigned i = 0; i < 3; i++) {
		struct kvm_pit_channel_state *c = &pit->s.channels[i];

		if (!c->count)
			c->count = 0x10000;
		if (c->count_load_time < 0)
			c->count_load_time = 0;
		if ((uint64_t)c->count_load_time > now)
			c->count_load_time = (int64_t)now;
	}
	recalc_locked(pit, now);
}

int pit_set_state(struct pit *pit, const struct kvm_pit_state2 *s)
{
	uint64_t now = now_ns(pit);

	cmutex_lock(&pit->lock);
	/* setting HPET_LEGACY stops channel 0's timer: recalc sees the flag */
	pit->s.flags = s->flags;
	load_channels_locked(pit, s->channels, now);
	cmutex_unlock(&pit->lock);
	return 0;
}

int pit_get_state1(struct pit *pit, struct kvm_pit_state *s)
{
	cmutex_lock(&pit->lock);
	memcpy(s->channels, pit->s.channels, sizeof(s->channels));
	cmutex_unlock(&pit->lock);
	return 0;
}

int pit_set_state1(struct pit *pit, const struct kvm_pit_state *s)
{
	uint64_t now = now_ns(pit);

	cmutex_lock(&pit->lock);
	load_channels_locked(pit, s->channels, now);
	cmutex_unlock(&pit->lock);
	return 0;
}
