/* SPDX-License-Identifier: MIT */
/*
 * Exit statistics, as KVM's per-vCPU binary stats and kvm_stat show them:
 * every vCPU counts its backend exits by reason (lock-free, its runner is
 * the only writer) and the daemon-wide registry lists the live vCPUs and
 * keeps the totals of dead ones, for the status file and cused-stat.
 * With a trace file every exit is also written there with its time.
 */
#ifndef CUSED_KVM_STATS_H
#define CUSED_KVM_STATS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

struct tramp_exit;

enum vcpu_stat {
	VS_IO, VS_MMIO, VS_NPF, VS_RDMSR, VS_WRMSR, VS_CPUID, VS_HLT, VS_IRQ_WINDOW,
	VS_KICKED, VS_SHUTDOWN, VS_DEBUG, VS_INTERNAL, VS_FAIL_ENTRY, VS_OTHER,
	VS_EXITS,               /* all of the above */
	VS_IRQ_INJECTED,        /* KVM_INTERRUPT and, with an irqchip, every delivered vector */
	VS_HALT_WAKEUP,         /* a halted vCPU woken (irqchip) */
	VS_SIGNAL,              /* KVM_RUN ended by the client's signal (KVM_EXIT_INTR) */
	VS_NR
};

struct stats_registry;

/*
 * Its own allocation, shared by the vCPU and the vCPU's binary stats fds
 * (statsfd.c): a stats fd may outlive the vCPU and then reads its last
 * counts, never anything of another vCPU.
 */
struct vcpu_stats {
	struct vcpu_stats *next;
	struct stats_registry *reg;
	atomic_int refs;
	pid_t pid;              /* creator's thread: KVM's "kvm-<pid>/vcpu-<id>" */
	const void *vm;         /* identity only, never dereferenced */
	unsigned vm_serial;     /* stable name of that VM while it has vCPUs */
	uint32_t vcpu_id;
	_Atomic uint64_t n[VS_NR];
};

struct stats_registry {
	pthread_mutex_t lock;
	struct vcpu_stats *live;
	unsigned next_vm_serial;
	uint64_t dead[VS_NR];   /* counters of destroyed vCPUs */
	FILE *trace;            /* cused --trace: one line per exit, or NULL */
};

/* names as printed in the status file ("io", "mmio", ...) */
extern const char *const vcpu_stat_names[VS_NR];

void stats_registry_init(struct stats_registry *reg, FILE *trace);
/* a zeroed block with one reference, or NULL (out of memory) */
struct vcpu_stats *stats_alloc(void);
/* one more reference (a stats fd reading s) */
void stats_get(struct vcpu_stats *s);
/* drop a reference; the last frees s (which must be unregistered by then) */
void stats_put(struct vcpu_stats *s);
/* list a new vCPU of `vm` (s fresh from stats_alloc) */
void stats_register(struct stats_registry *reg, struct vcpu_stats *s, const void *vm,
		    uint32_t vcpu_id);
/* unlist it and fold its counters into the totals; s stays allocated */
void stats_unregister(struct vcpu_stats *s);
/* count one backend exit (and trace it); only the vCPU's runner, which is
 * the only writer of the exit counters (VS_IO .. VS_EXITS) */
void stats_exit(struct vcpu_stats *s, const struct tramp_exit *ex);
/* count an event from any thread (VS_IRQ_INJECTED, VS_HALT_WAKEUP) */
static inline void stats_inc(struct vcpu_stats *s, enum vcpu_stat which)
{
	atomic_fetch_add_explicit(&s->n[which], 1, memory_order_relaxed);
}
/*
 * The status-file lines: "exits NAME N ..." (daemon lifetime, dead and live
 * vCPUs) then "vcpu VM ID NAME N ..." per live vCPU.  Returns the length
 * snprintf would have written.
 */
int stats_format(struct stats_registry *reg, char *buf, size_t size);

#endif
