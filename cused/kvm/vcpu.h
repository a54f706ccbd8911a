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
#include "cused/kvm/vcpu_state.h"
#include "cused/kvm/vcpu_tsc.h"
#include "cused/shim_abi.h"
#include "cused/spin.h"
#include "cused/x86/msr.h"
#include "cused/x86/hyperv_msr.h"
#include "cused/x86/decode.h"

/*
 * KVM's vcpu->mutex: one ioctl or one KVM_RUN at a time.  Unlike a plain
 * mutex no wait on it depends on the guest: an ioctl that finds KVM_RUN
 * holding it kicks the runner out of the guest, the runner steps aside
 * (vcpu_yield) and re-enters the guest without returning to its client.
 * Every wait also ends on the waiter's FUSE interrupt and on shutdown.
 */
struct vcpu_mutex {
	pthread_mutex_t m;
	pthread_cond_t cv;
	bool held;
	bool running;              /* the holder is KVM_RUN: a kick frees the lock */
	bool yielded;              /* that KVM_RUN stepped aside; it gets the lock back first */
	unsigned waiters;          /* ioctls waiting; KVM_RUN steps aside for them */
	struct ioctl_req *run_rq;  /* the FUSE KVM_RUN holding it; NULL for the doorbell's */
};

struct vcpu {
	struct vm *vm;             /* holds a reference */
	uint32_t id;
	struct vcpu_mutex lock;
	struct vcpu *ctx_next, **ctx_pprev;  /* ctx->vcpus, for shutdown */
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
	struct vcpu_misc misc;     /* vcpu_state.c */
	struct vcpu_tsc tsc;       /* TSC offset and kvmclock page (vcpu_tsc.c, kvmclock.c) */
	struct vcpu_stats *stats;  /* exits by reason (stats.h); shared with stats fds */
	struct vcpu_irq *irq;      /* LAPIC runner state; NULL without an irqchip (vcpu_irq.c) */
	struct hv_vcpu hv;         /* Hyper-V (vcpu_hyperv.c) */
};

int vcpu_create(struct vm *vm, uint64_t id, struct vcpu **out);
void vcpu_put(struct vcpu *v);
/* map the client's kvm_run memfd (or private memory if run_fd < 0) and start serving it */
int vcpu_attach_run(struct vcpu *v, pid_t pid, int run_fd);
long vcpu_ioctl(struct vcpu *v, struct ioctl_req *rq);

/* one vCPU ioctl with v->lock already held (KVM_RUN's sync-regs use it) */
long vcpu_ioctl_locked(struct vcpu *v, struct ioctl_req *rq);

/* vcpu_sync.c: KVM_CAP_SYNC_REGS around KVM_RUN; caller holds v->lock */
uint32_t vcpu_sync_regs_offered(const struct cused_ctx *ctx);
/* before the run: 0, or -EINVAL (bad bits, or a dirty struct was rejected) */
int vcpu_sync_regs_in(struct vcpu *v);
/* after the run, whatever its result: store the structs kvm_valid_regs asks for */
void vcpu_sync_regs_out(struct vcpu *v);

/*
 * vcpu_msr_exit.c: KVM_CAP_X86_USER_SPACE_MSR.  to_user: given the MSR
 * table's result r for the access in ex, fill kvm_run for the client and
 * return true if the VM asked for that reason; from_user: the client's
 * answer into ex before the backend retires the instruction.
 */
bool vcpu_msr_to_user(struct vcpu *v, struct tramp_exit *ex, int r);
void vcpu_msr_from_user(struct vcpu *v, struct tramp_exit *ex);
/*
 * vcpu.c: the CPUID bits KVM derives from vCPU state (cpuid_runtime_mwait),
 * after KVM_SET_CPUID2 (always) or an MSR write that made them stale
 */
void vcpu_cpuid_runtime(struct vcpu *v, bool always);
/*
 * vcpu_cpuid.c: every state-derived CPUID bit (__kvm_update_cpuid_runtime:
 * OSXSAVE, APIC, OSPKE, MWAIT) of table c (the vCPU's own or one a client
 * passes in) from the vCPU's current state; c may be NULL
 */
void vcpu_cpuid_state(struct vcpu *v, struct kvm_cpuid2 *c);
/*
 * vcpu_hypercall.c, for TX_HYPERCALL: KVM's answer in RAX, RIP past the
 * instruction (0 or -errno from the backend)
 */
int vcpu_hypercall(struct vcpu *v);
/*
 * For TX_UD: VMCALL/VMMCALL patched to the silicon's hypercall instruction
 * (re-executed on the next entry) under KVM_X86_QUIRK_FIX_HYPERCALL_INSN,
 * else the #UD queued for the guest.  0 or -errno from the backend.
 */
int vcpu_hypercall_ud(struct vcpu *v);

/*
 * vcpu_vapic.c: KVM_TPR_ACCESS_REPORTING and KVM_SET_VAPIC_ADDR (only their
 * "off" states); false: not one of them, *ret untouched
 */
bool vcpu_vapic_ioctl(struct vcpu *v, struct ioctl_req *rq, long *ret);

/* KVM_RUN semantics; caller holds v->lock (vcpu_lock_run); rq is NULL for the doorbell */
int vcpu_run(struct vcpu *v, struct ioctl_req *rq);
void vcpu_kick(struct vcpu *v);

/* vcpu_lock.c: struct vcpu_mutex.  Waits return -EINTR when rq was
 * interrupted (or, rq NULL, the vCPU is dying) and -EIO on shutdown. */
int vcpu_lock(struct vcpu *v, struct ioctl_req *rq);       /* any ioctl but KVM_RUN */
int vcpu_lock_run(struct vcpu *v, struct ioctl_req *rq);   /* KVM_RUN: never kicks */
void vcpu_unlock(struct vcpu *v);
/* KVM_RUN out of the guest after a kick: let waiting ioctls through, then go on */
void vcpu_yield(struct vcpu *v);
/* rq's caller took a signal: end its wait for the lock or its FUSE KVM_RUN */
void vcpu_interrupt(struct vcpu *v, struct ioctl_req *rq);
/* ctx->stopping is set: end every wait on v and take its guest out */
void vcpu_abort(struct vcpu *v);
void vcpu_mutex_init(struct vcpu_mutex *l);
void vcpu_mutex_destroy(struct vcpu_mutex *l);

/* doorbell thread (doorbell.c) */
int vcpu_runner_start(struct vcpu *v);
void vcpu_runner_stop(struct vcpu *v);
/* get the runner out of its wait for a request (dying / stopping changed) */
void vcpu_runner_wake(struct vcpu *v);

/* field access used by the ioctl handlers and the MSR table */
int vcpu_read_field(struct vcpu *v, uint32_t id, uint64_t *val);
/* the MSR table's access to this vCPU's field-backed MSRs */
struct msr_io vcpu_msr_io(struct vcpu *v);
int vcpu_write_field(struct vcpu *v, uint32_t id, uint64_t val);

#endif
