/* SPDX-License-Identifier: MIT */
/*
 * Daemon-wide state, passed explicitly to every handler: the backend, the
 * CPUID/MSR answers computed once at start-up, and the table of objects that
 * were created but not yet bound to a handle (see include/cused/shim_abi.h).
 */
#ifndef CUSED_KVM_CTX_H
#define CUSED_KVM_CTX_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include "cused/tramp/backend.h"
#include "cused/kvm/halt_poll.h"
#include "cused/kvm/limits.h"
#include "cused/kvm/stats.h"

struct cused_handle;
struct vcpu;

enum obj_kind { OBJ_VM = 1, OBJ_VCPU = 2, OBJ_STATS = 3 };   /* == CUSED_BIND_* */

/*
 * FUSE worker threads, and how many of them KVM_RUNs through FUSE (which
 * last as long as the guest runs, or wait for another KVM_RUN) may hold.
 * The rest always serve short requests, among them the INTERRUPT that
 * frees a killed client: without the reserve, enough blocked KVM_RUNs
 * would wedge the daemon for everyone.  The shim's KVM_RUN never uses
 * FUSE (doorbell), so only clients that bypass it meet the cap.
 */
#define CUSED_MAX_WORKERS 64
#define CUSED_MAX_FUSE_RUNS (CUSED_MAX_WORKERS - 16)

struct pending_obj {
	struct pending_obj *next;
	uint64_t token;
	enum obj_kind kind;
	void *obj;                    /* struct vm *, struct vcpu * (one reference) or struct statsfd * */
	struct cused_handle *creator; /* dropped with its creator if never bound */
	uid_t uid;                    /* only this uid may bind it */
};

struct cused_ctx {
	const struct tramp_ops *ops;
	struct tramp_backend *be;
	struct tramp_caps caps;
	struct kvm_cpuid2 *supported_cpuid;   /* daemon policy applied */

	struct cused_limits limits;           /* set once before serving */
	struct halt_poll_params halt_poll;    /* set once before serving (halt_poll.h) */
	gid_t dev_gid;                        /* may open the device; -1: root only */
	/*
	 * The frontend hands reads their file offset, so KVM_GET_STATS_FD
	 * files can be served: FUSE does, CUSE reads always come at offset 0.
	 * Set once before serving; without it the cap is 0 and the ioctl ENOTTY.
	 */
	bool stats_reads;

	pthread_mutex_t lock;                 /* pending list, vCPU list and counters */
	struct pending_obj *pending;
	unsigned nr_vms, nr_vcpus;
	unsigned nr_stats;                    /* stats fds, parked or bound (statsfd.h) */
	struct uid_table uids;                /* per-uid counts against limits */
	struct vcpu *vcpus;                   /* every live vCPU, for ctx_shutdown */
	struct cused_handle *handles;         /* every open handle (handle.c) */
	atomic_bool stopping;                 /* shutting down: every wait gives up */
	atomic_uint fuse_runs;                /* KVM_RUNs in FUSE workers now */
	struct stats_registry stats;          /* per-vCPU exit counters, trace */
};

int ctx_init(struct cused_ctx *ctx, const struct tramp_ops *ops);
void ctx_fini(struct cused_ctx *ctx);

/* park a new object under a fresh token for uid; the token is returned in *token */
int ctx_park(struct cused_ctx *ctx, enum obj_kind kind, void *obj,
	     struct cused_handle *creator, uid_t uid, uint64_t *token);
/*
 * Take a parked object out for uid: -ENOENT if the token is unknown, -EINVAL
 * on kind mismatch, -EACCES if another uid parked it (it stays parked).
 */
int ctx_claim(struct cused_ctx *ctx, uint64_t token, enum obj_kind kind, uid_t uid,
	      void **obj);
/* drop everything a handle parked and never bound */
void ctx_drop_parked(struct cused_ctx *ctx, struct cused_handle *creator);

/*
 * Charge a new VM / vCPU to uid (limits.h); 0 or -ENOMEM over the uid's cap.
 * The status counters follow.  ctx_uncharge when the object is freed.
 */
int ctx_charge(struct cused_ctx *ctx, uid_t uid, unsigned dvms, unsigned dvcpus);
void ctx_uncharge(struct cused_ctx *ctx, uid_t uid, unsigned dvms, unsigned dvcpus);
/* the same for pages of dirty-logging slots (limits.h); 0 or -ENOMEM */
int ctx_charge_log(struct cused_ctx *ctx, uid_t uid, uint64_t pages);
void ctx_uncharge_log(struct cused_ctx *ctx, uid_t uid, uint64_t pages);
/* eventfds the daemon holds for uid's VMs (limits.h); 0 or -ENOMEM */
int ctx_charge_fds(struct cused_ctx *ctx, uid_t uid, unsigned n);
void ctx_uncharge_fds(struct cused_ctx *ctx, uid_t uid, unsigned n);
/* a stats fd of uid (limits.h, statsfd.h); 0 or -ENOMEM */
int ctx_charge_stats(struct cused_ctx *ctx, uid_t uid);
void ctx_uncharge_stats(struct cused_ctx *ctx, uid_t uid);
/* stats fds alive now, for the status file */
unsigned ctx_nr_stats(struct cused_ctx *ctx);
/* a vCPU joins / leaves the list ctx_shutdown walks */
void ctx_add_vcpu(struct cused_ctx *ctx, struct vcpu *v);
void ctx_del_vcpu(struct cused_ctx *ctx, struct vcpu *v);
/*
 * SIGTERM: from now on every wait in the daemon gives up and every guest
 * leaves, so the FUSE loop can join its workers.  Any thread, idempotent.
 */
void ctx_shutdown(struct cused_ctx *ctx);
void ctx_status(struct cused_ctx *ctx, unsigned *vms, unsigned *vcpus);

#endif
