/* SPDX-License-Identifier: MIT */
/*
 * A vCPU: its backend context, the kvm_run area shared with the client, the
 * thread that serves KVM_RUN through the doorbell, and the per-vCPU state the
 * daemon owns (MSR values, CPUID table, debug controls).
 */
#ifndef CUSED_KVM_VCPU_H
#define CUSED_KVM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "cused/kvm/vm.h"
#include "cused/shim_abi.h"
#include "cused/spin.h"
#include "cused/x86/msr.h"
#include "cused/x86/decode.h"

struct vcpu {
	struct vm *vm;             /* holds a reference */
	uint32_t id;
	/* KVM's vcpu->mutex: one ioctl or one KVM_RUN at a time */
	pthread_mutex_t lock;
	struct tramp_vcpu *tv;

	void *shared;              /* kvm_run + PIO page + doorbell, CUSED_VCPU_MMAP_SIZE */
	struct kvm_run *run;
	struct cused_doorbell *db;

	pthread_t runner;
	bool runner_started;
	uint32_t runner_seen;      /* req_seq the runner starts from */
	struct cused_spin spin;    /* runner's adaptive spin on req_seq */
	atomic_bool dying;
	atomic_bool kicked;        /* a kick arrived: the current or next run returns -EINTR */

	struct tramp_exit last;    /* exit the client is handling */
	bool complete_pending;     /* last must be retired before the next entry */
	bool mmio_emulating;       /* last MMIO came from TX_NPF: the daemon retires it */
	struct x86_insn mmio_insn;

	struct msr_file msrs;
	struct kvm_cpuid2 *cpuid;
	bool irq_window_requested;
	struct vcpu_irq *irq;      /* LAPIC runner state; NULL without an irqchip (vcpu_irq.c) */
};

int vcpu_create(struct vm *vm, uint64_t id, struct vcpu **out);
void vcpu_put(struct vcpu *v);
/* map the client's kvm_run memfd (or private memory if run_fd < 0) and start serving it */
int vcpu_attach_run(struct vcpu *v, pid_t pid, int run_fd);
long vcpu_ioctl(struct vcpu *v, struct ioctl_req *rq);

/* KVM_RUN semantics; caller holds v->lock */
int vcpu_run(struct vcpu *v);
void vcpu_kick(struct vcpu *v);

/* doorbell thread (doorbell.c) */
int vcpu_runner_start(struct vcpu *v);
void vcpu_runner_stop(struct vcpu *v);

/* field access used by the ioctl handlers and the MSR table */
int vcpu_read_field(struct vcpu *v, uint32_t id, uint64_t *val);
/* the MSR table's access to this vCPU's field-backed MSRs */
struct msr_io vcpu_msr_io(struct vcpu *v);
int vcpu_write_field(struct vcpu *v, uint32_t id, uint64_t val);

#endif
