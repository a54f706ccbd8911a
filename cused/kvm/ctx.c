/* SPDX-License-Identifier: MIT */
#include <cpuid.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vcpu.h"
#include "cused/kvm/statsfd.h"
#include "cused/x86/cpuid.h"
#include "cused/util/log.h"

int ctx_init(struct cused_ctx *ctx, const struct tramp_ops *ops)
{
	struct kvm_cpuid2 *host;
	unsigned a, b, c, d;
	int r;

	*ctx = (struct cused_ctx){
		.ops = ops,
		.limits = { CUSED_DEFAULT_MAX_VMS_PER_UID, CUSED_DEFAULT_MAX_VCPUS_PER_UID,
			    CUSED_DEFAULT_MAX_LOG_GIB_PER_UID << 18 },
		.dev_gid = (gid_t)-1,
		.halt_poll = halt_poll_defaults(),
	};
	pthread_mutex_init(&ctx->lock, NULL);
	stats_registry_init(&ctx->stats, NULL);
	r = ops->init(&ctx->be);
	if (r)
		return r;
	ops->caps(ctx->be, &ctx->caps);

	host = calloc(1, sizeof(*host) + CUSED_MAX_CPUID_ENTRIES * sizeof(host->entries[0]));
	ctx->supported_cpuid = calloc(1, sizeof(*host) +
				      CUSED_MAX_CPUID_ENTRIES * sizeof(host->entries[0]));
	if (!host || !ctx->supported_cpuid) {
		r = -ENOMEM;
		goto out;
	}
	r = ops->host_cpuid(ctx->be, host, CUSED_MAX_CPUID_ENTRIES);
	if (!r)
		r = cpuid_supported(host, ctx->supported_cpuid, CUSED_MAX_CPUID_ENTRIES);
	if (!r && __get_cpuid(1, &a, &b, &c, &d))
		cpuid_offer_native(ctx->supported_cpuid, c);
	if (r)
		log_err("cannot compute supported CPUID: %d", r);
out:
	free(host);
	if (r)
		ctx_fini(ctx);
	return r;
}

void ctx_fini(struct cused_ctx *ctx)
{
	free(ctx->supported_cpuid);
	ctx->supported_cpuid = NULL;
	if (ctx->be)
		ctx->ops->fini(ctx->be);
	ctx->be = NULL;
}

int ctx_park(struct cused_ctx *ctx, enum obj_kind kind, void *obj,
	     struct cused_handle *creator, uid_t uid, uint64_t *token)
{
	struct pending_obj *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	/* unguessable, so one client cannot bind another client's VM */
	if (getrandom(&p->token, sizeof(p->token), 0) != sizeof(p->token)) {
		free(p);
		return -EAGAIN;
	}
	p->kind = kind;
	p->obj = obj;
	p->creator = creator;
	p->uid = uid;
	pthread_mutex_lock(&ctx->lock);
	p->next = ctx->pending;
	ctx->pending = p;
	pthread_mutex_unlock(&ctx->lock);
	*token = p->token;
	return 0;
}

int ctx_claim(struct cused_ctx *ctx, uint64_t token, enum obj_kind kind, uid_t uid,
	      void **obj)
{
	struct pending_obj **pp, *p;
	int r = -ENOENT;

	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->pending; (p = *pp); pp = &p->next) {
		if (p->token != token)
			continue;
		if (p->kind != kind) {
			r = -EINVAL;
			break;
		}
		/* a leaked token must not hand one user's VM to another */
		if (p->uid != uid) {
			r = -EACCES;
			break;
		}
		*pp = p->next;
		*obj = p->obj;
		free(p);
		r = 0;
		break;
	}
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void ctx_drop_parked(struct cused_ctx *ctx, struct cused_handle *creator)
{
	struct pending_obj **pp, *p, *dead = NULL;

	pthread_mutex_lock(&ctx->lock);
	for (pp = &ctx->pending; (p = *pp);) {
		if (p->creator == creator) {
			*pp = p->next;
			p->next = dead;
			dead = p;
		} else {
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	/* release outside the lock: destroying a VM takes other locks */
	while ((p = dead)) {
		dead = p->next;
		if (p->kind == OBJ_VM)
			vm_put(p->obj);
		else if (p->kind == OBJ_STATS)
			statsfd_put(p->obj);
		else
			vcpu_put(p->obj);
		free(p);
	}
}

int ctx_charge(struct cused_ctx *ctx, uid_t uid, unsigned dvms, unsigned dvcpus)
{
	int r;

	pthread_mutex_lock(&ctx->lock);
	r = uid_charge(&ctx->uids, &ctx->limits, uid, dvms, dvcpus);
	if (!r) {
		ctx->nr_vms += dvms;
		ctx->nr_vcpus += dvcpus;
	}
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void ctx_uncharge(struct cused_ctx *ctx, uid_t uid, unsigned dvms, unsigned dvcpus)
{
	pthread_mutex_lock(&ctx->lock);
	uid_uncharge(&ctx->uids, uid, dvms, dvcpus);
	ctx->nr_vms -= dvms;
	ctx->nr_vcpus -= dvcpus;
	pthread_mutex_unlock(&ctx->lock);
}

void ctx_status(struct cused_ctx *ctx, unsigned *vms, unsigned *vcpus)
{
	pthread_mutex_lock(&ctx->lock);
	*vms = ctx->nr_vms;
	*vcpus = ctx->nr_vcpus;
	pthread_mutex_unlock(&ctx->lock);
}

int ctx_charge_log(struct cused_ctx *ctx, uid_t uid, uint64_t pages)
{
	int r;

	pthread_mutex_lock(&ctx->lock);
	r = uid_charge_log(&ctx->uids, &ctx->limits, uid, pages);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void ctx_uncharge_log(struct cused_ctx *ctx, uid_t uid, uint64_t pages)
{
	pthread_mutex_lock(&ctx->lock);
	uid_uncharge_log(&ctx->uids, uid, pages);
	pthread_mutex_unlock(&ctx->lock);
}

int ctx_charge_fds(struct cused_ctx *ctx, uid_t uid, unsigned n)
{
	int r;

	pthread_mutex_lock(&ctx->lock);
	r = uid_charge_fds(&ctx->uids, uid, n);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void ctx_uncharge_fds(struct cused_ctx *ctx, uid_t uid, unsigned n)
{
	pthread_mutex_lock(&ctx->lock);
	uid_uncharge_fds(&ctx->uids, uid, n);
	pthread_mutex_unlock(&ctx->lock);
}

int ctx_charge_stats(struct cused_ctx *ctx, uid_t uid)
{
	int r;

	pthread_mutex_lock(&ctx->lock);
	r = uid_charge_stats(&ctx->uids, uid);
	if (!r)
		ctx->nr_stats++;
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void ctx_uncharge_stats(struct cused_ctx *ctx, uid_t uid)
{
	pthread_mutex_lock(&ctx->lock);
	uid_uncharge_stats(&ctx->uids, uid);
	ctx->nr_stats--;
	pthread_mutex_unlock(&ctx->lock);
}

unsigned ctx_nr_stats(struct cused_ctx *ctx)
{
	unsigned n;

	pthread_mutex_lock(&ctx->lock);
	n = ctx->nr_stats;
	pthread_mutex_unlock(&ctx->lock);
	return n;
}

void ctx_add_vcpu(struct cused_ctx *ctx, struct vcpu *v)
{
	pthread_mutex_lock(&ctx->lock);
	v->ctx_next = ctx->vcpus;
	if (ctx->vcpus)
		ctx->vcpus->ctx_pprev = &v->ctx_next;
	v->ctx_pprev = &ctx->vcpus;
	ctx->vcpus = v;
	/* one created after ctx_shutdown walked the list sees ctx->stopping itself */
	pthread_mutex_unlock(&ctx->lock);
}

void ctx_del_vcpu(struct cused_ctx *ctx, struct vcpu *v)
{
	pthread_mutex_lock(&ctx->lock);
	*v->ctx_pprev = v->ctx_next;
	if (v->ctx_next)
		v->ctx_next->ctx_pprev = v->ctx_pprev;
	pthread_mutex_unlock(&ctx->lock);
}

void ctx_shutdown(struct cused_ctx *ctx)
{
	atomic_store(&ctx->stopping, true);
	/* under the lock: a vCPU on the list is not freed while we kick it */
	pthread_mutex_lock(&ctx->lock);
	for (struct vcpu *v = ctx->vcpus; v; v = v->ctx_next)
		vcpu_abort(v);
	pthread_mutex_unlock(&ctx->lock);
}
