/* SPDX-License-Identifier: MIT */
/*
 * The 8254 PIT (ports 0x40-0x43) and the speaker/gate port 0x61, mirroring
 * Linux arch/x86/kvm/i8254.c.  State is struct kvm_pit_state2, so
 * KVM_GET/SET_PIT2 is a copy.  Counters are derived from each channel's
 * count_load_time on the irq_env clock (1193182 Hz), never ticked.  Only
 * channel 0 has a timer: its expiries become pulses on IRQ0 through
 * pit_env.pulse, which the wiring turns into routing_set_irq(GSI 0,
 * IRQ_SRC_PIT, 1) then (…, 0), as KVM's pit_do_work() does.
 *
 * Reinject mode (KVM_REINJECT_CONTROL, on at create as in KVM): every expiry
 * is counted and the next pulse waits for the guest's ack of the previous
 * one (pit_irq_ack(), from the PIC/IOAPIC ack notifiers of GSI 0).  With
 * reinject off, expiries missed by a late tick collapse into one pulse.
 */
#ifndef CUSED_IRQ_PIT_H
#define CUSED_IRQ_PIT_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "cused/irq/irq.h"

#define PIT_FREQ_HZ        1193182u
#define PIT_BASE_PORT      0x40
#define PIT_SPEAKER_PORT   0x61
/* KVM's min_timer_period_us default: a guest cannot program a faster periodic timer */
#define PIT_MIN_PERIOD_NS  200000ull

/* where channel 0's output goes; called without the PIT lock held */
struct pit_env {
	void (*pulse)(void *ctx);   /* one IRQ0 edge: raise then lower GSI 0 */
	void *ctx;
};

struct pit;

/*
 * Allocate and reset (all channels mode 0xff, count 0x10000, gate 1 except
 * channel 2), reinject on.  flags is struct kvm_pit_config.flags: with
 * KVM_PIT_SPEAKER_DUMMY port 0x61 is served; KVM ignores other bits and so
 * do we.  env (now_ns, arm) and penv must outlive the PIT.  0 or -ENOMEM.
 */
int pit_create(const struct irq_env *env, const struct pit_env *penv, uint32_t flags,
	       struct pit **out);
/* cancel its deadline (env->arm(.., 0)) and free; the caller has stopped every
 * other entry point, a pit_tick() in progress included (the timer loop's job) */
void pit_destroy(struct pit *pit);
/* KVM kvm_pit_reset(); disarms channel 0 */
void pit_reset(struct pit *pit);

/*
 * Guest port I/O: 0x40-0x43, and 0x61 if created with KVM_PIT_SPEAKER_DUMMY.
 * -ENOENT for any other port; otherwise 0.  As in KVM, a write uses its low
 * byte whatever len is, and a read returns one byte zero-extended to len
 * (at most 4); reading 0x43 returns 0 and leaves *data untouched.
 * Loading channel 0's count re-arms through env->arm.
 */
int pit_read(struct pit *pit, uint64_t port, void *data, unsigned len);
int pit_write(struct pit *pit, uint64_t port, const void *data, unsigned len);

/*
 * Timer callback for channel 0: pulse IRQ0 for what expired by now_ns
 * (subject to reinject) and return the next absolute deadline, 0 = none.
 * Periodic deadlines advance from the previous target.  A call before the
 * deadline (a stale firing) does nothing and returns the deadline.
 */
uint64_t pit_tick(struct pit *pit, uint64_t now_ns);

/* GSI 0 was acknowledged by the guest (PIC or IOAPIC ack notifier); may pulse */
void pit_irq_ack(struct pit *pit);
/* GSI 0 was masked/unmasked; unmasking drops the reinject backlog (KVM pit_mask_notifer) */
void pit_irq_mask(struct pit *pit, bool masked);
/* KVM_REINJECT_CONTROL */
void pit_set_reinject(struct pit *pit, bool reinject);

/* KVM_GET_PIT2 (reserved zeroed) */
int pit_get_state(struct pit *pit, struct kvm_pit_state2 *s);
/*
 * KVM_SET_PIT2: copy, recompute, re-arm.  Unlike KVM (which restarts
 * channel 0 from now), the phase is kept: counts and the next deadline
 * follow the restored count_load_time (clamped to now if in the future), so
 * a save/restore on the same clock is invisible to the guest.  A one-shot
 * whose deadline already passed is not fired again.
 */
int pit_set_state(struct pit *pit, const struct kvm_pit_state2 *s);
/* KVM_GET/SET_PIT (no flags): the flags keep their value */
int pit_get_state1(struct pit *pit, struct kvm_pit_state *s);
int pit_set_state1(struct pit *pit, const struct kvm_pit_state *s);

#endif
