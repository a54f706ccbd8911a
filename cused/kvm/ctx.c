/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vcpu.h"
#include "cused/x86/cpuid.h"
#include "cused/util/log.h"

int ctx_init(struct cused_ctx *ctx, const struct tramp_ops *ops)
{
	struct kvm_cpuid2 *host;
	int r;

	*ctx = (struct cused_ctx){ .ops = ops };
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
	     struct cused_handle *creator, uint64_t *token)
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
	pthread_mutex_lock(&ctx->lock);
	p->next = ctx->pending;
	ctx->pending = p;
	pthread_mutex_unlock(&ctx->lock);
	*token = p->token;
	return 0;
}

int ctx_claim(struct cused_ctx *ctx, uint64_t token, enum obj_kind kind, void **obj)
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
		else
			vcpu_put(p->obj);
		free(p);
	}
}

void ctx_count(struct cused_ctx *ctx, int dvms, int dvcpus)
{
	pthread_mutex_lock(&ctx->lock);
	ctx->nr_vms += dvms;
	ctx->nr_vcpus += dvcpus;
	pthread_mutex_unlock(&ctx->lock);
}

void ctx_status(struct cused_ctx *ctx, unsigned *vms, unsigned *vcpus)
{
	pthread_mutex_lock(&ctx->lock);
	*vms = ctx->nr_vms;
	*vcpus = ctx->nr_vcpus;
	pthread_mutex_unlock(&ctx->lock);
}
