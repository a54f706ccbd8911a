/* SPDX-License-Identifier: MIT */
/*
 * Daemon-wide state, passed explicitly to every handler: the backend, the
 * CPUID/MSR answers computed once at start-up, and the table of objects that
 * were created but not yet bound to a handle (see include/cused/shim_abi.h).
 */
#ifndef CUSED_KVM_CTX_H
#define CUSED_KVM_CTX_H

#include <pthread.h>
#include <stdint.h>
#include "cused/tramp/backend.h"
#include "cused/kvm/stats.h"

struct cused_handle;

enum obj_kind { OBJ_VM = 1, OBJ_VCPU = 2 };   /* == CUSED_BIND_* */

struct pending_obj {
	struct pending_obj *next;
	uint64_t token;
	enum obj_kind kind;
	void *obj;                    /* struct vm * or struct vcpu *, one reference */
	struct cused_handle *creator; /* dropped with its creator if never bound */
};

struct cused_ctx {
	const struct tramp_ops *ops;
	struct tramp_backend *be;
	struct tramp_caps caps;
	struct kvm_cpuid2 *supported_cpuid;   /* daemon policy applied */

	pthread_mutex_t lock;                 /* pending list and counters */
	struct pending_obj *pending;
	unsigned nr_vms, nr_vcpus;
	struct stats_registry stats;          /* per-vCPU exit counters, trace */
};

int ctx_init(struct cused_ctx *ctx, const struct tramp_ops *ops);
void ctx_fini(struct cused_ctx *ctx);

/* park a new object under a fresh token; the token is returned in *token */
int ctx_park(struct cused_ctx *ctx, enum obj_kind kind, void *obj,
	     struct cused_handle *creator, uint64_t *token);
/* take a parked object out; -ENOENT if the token is unknown, -EINVAL on kind mismatch */
int ctx_claim(struct cused_ctx *ctx, uint64_t token, enum obj_kind kind, void **obj);
/* drop everything a handle parked and never bound */
void ctx_drop_parked(struct cused_ctx *ctx, struct cused_handle *creator);

void ctx_count(struct cused_ctx *ctx, int dvms, int dvcpus);
void ctx_status(struct cused_ctx *ctx, unsigned *vms, unsigned *vcpus);

#endif
