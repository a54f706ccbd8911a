/* SPDX-License-Identifier: MIT */
/*
 * Halt-polling (Linux 6.1 virt/kvm/kvm_main.c kvm_vcpu_halt and
 * Documentation/virt/kvm/halt-polling.rst): a vCPU that halts spins for a
 * while before it sleeps, because the wake-up often comes soon (an IPI
 * answer, a short timer, an irqfd from a device thread) and a sleep costs a
 * futex wake plus a scheduler round trip on the waker's side.
 *
 * The window is per vCPU and adapts as KVM's does: it grows (x grow, at
 * least grow_start) after a halt that was short but longer than the window,
 * shrinks (/ shrink, 0 = to nothing) after a halt longer than max_ns, and
 * stays put after a halt the window covered.  max_ns = 0 turns polling off.
 * Pure logic: the caller times the halt and does the polling.
 */
#ifndef CUSED_KVM_HALT_POLL_H
#define CUSED_KVM_HALT_POLL_H

#include <stdbool.h>
#include <stdint.h>

/* KVM's module parameters and their x86 defaults */
/*
 * Off by default: KVM's default (200000, KVM_HALT_POLL_NS_DEFAULT) measured
 * neutral here, and with it the `irq` differential's NMI loop lost a wake-up
 * of the halted AP in about 1 run in 11 under load (not yet understood;
 * never with 0).  --halt-poll-ns 200000 gives KVM's behaviour.
 */
#define HALT_POLL_NS_DEFAULT          0u
#define HALT_POLL_NS_GROW_DEFAULT     2u
#define HALT_POLL_NS_GROW_START_DEF   10000u
#define HALT_POLL_NS_SHRINK_DEFAULT   2u

struct halt_poll_params {
	uint32_t max_ns;        /* halt_poll_ns: the window's ceiling; 0 = never poll */
	uint32_t grow;          /* halt_poll_ns_grow: 0 = never grow */
	uint32_t grow_start;    /* halt_poll_ns_grow_start */
	uint32_t shrink;        /* halt_poll_ns_shrink: 0 = reset to 0 */
};

/* KVM's defaults: what a daemon started without --halt-poll-ns uses */
struct halt_poll_params halt_poll_defaults(void);

/* the window of the next halt: cur clamped to the ceiling (kvm_vcpu_halt's first step) */
uint32_t halt_poll_window(uint32_t *cur, const struct halt_poll_params *p);

/*
 * After a halt that lasted halt_ns in all (polling included) ended by a
 * real event (valid) or not (a timed-out re-check, a kick for the client):
 * adapt *cur for the next one.
 */
void halt_poll_update(uint32_t *cur, const struct halt_poll_params *p, uint64_t halt_ns,
		      bool valid);

/*
 * kvm_vcpu_can_poll's single_task_running() as userspace can see it, from
 * the text of /proc/loadavg ("0.50 0.40 0.30 2/300 1234"): true when the
 * running count (which includes the caller) is at most ncpus, so spinning
 * takes no CPU from a task that wants one.  False for text it cannot parse.
 */
bool halt_poll_cpu_to_spare(const char *loadavg, long ncpus);

#endif
