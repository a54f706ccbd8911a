/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include "cused/kvm/handle.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vm_evfd.h"
#include "cused/kvm/statsfd.h"
#include "cused/shim_abi.h"
#include "cused/util/log.h"

struct cused_handle *handle_open(struct cused_ctx *ctx)
{
	struct cused_handle *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	h->ctx = ctx;
	atomic_init(&h->kind, H_SYSTEM);
	pthread_mutex_lock(&ctx->lock);
	h->next = ctx->handles;
	if (h->next)
		h->next->pprev = &h->next;
	h->pprev = &ctx->handles;
	ctx->handles = h;
	pthread_mutex_unlock(&ctx->lock);
	return h;
}

static void unlink_locked(struct cused_handle *h)
{
	*h->pprev = h->next;
	if (h->next)
		h->next->pprev = h->pprev;
}

static void release_unlinked(struct cused_handle *h);

void handle_release(struct cused_handle *h)
{
	pthread_mutex_lock(&h->ctx->lock);
	unlink_locked(h);
	pthread_mutex_unlock(&h->ctx->lock);
	release_unlinked(h);
}

void handle_release_all(struct cused_ctx *ctx)
{
	struct cused_handle *h;

	for (;;) {
		pthread_mutex_lock(&ctx->lock);
		h = ctx->handles;
		if (h)
			unlink_locked(h);
		pthread_mutex_unlock(&ctx->lock);
		if (!h)
			return;
		release_unlinked(h);
	}
}

static void release_unlinked(struct cused_handle *h)
{
	/* objects created on this handle but never bound die with it */
	ctx_drop_parked(h->ctx, h);
	switch (atomic_load(&h->kind)) {
	case H_VM:
		vm_put(h->vm);
		break;
	case H_VCPU:
		vcpu_put(h->vcpu);
		break;
	case H_STATS:
		statsfd_put(h->stats);
		break;
	}
	free(h);
}

long handle_create_vcpu(struct cused_handle *h, struct ioctl_req *rq)
{
	const struct cused_create *in = req_in(rq, sizeof(*in));
	struct cused_create *out = req_out(rq, sizeof(*out));
	struct vcpu *v;
	uint64_t token;
	int r;

	if (!in || !out)
		return -EFAULT;
	r = vcpu_create(h->vm, in->arg, &v);
	if (r)
		return r;
	v->stats->pid = rq->pid;
	r = ctx_park(h->ctx, OBJ_VCPU, v, h, rq->uid, &token);
	if (r) {
		vcpu_put(v);
		return r;
	}
	out->token = token;
	out->arg = in->arg;
	return 0;
}

static long handle_create_vm(struct cused_handle *h, struct ioctl_req *rq)
{
	const struct cused_create *in = req_in(rq, sizeof(*in));
	struct cused_create *out = req_out(rq, sizeof(*out));
	struct vm *vm;
	uint64_t token;
	int r;

	if (!in || !out)
		return -EFAULT;
	r = vm_create(h->ctx, rq->uid, in->arg, &vm);
	if (r)
		return r;
	vm->pid = rq->pid;
	r = ctx_park(h->ctx, OBJ_VM, vm, h, rq->uid, &token);
	if (r) {
		vm_put(vm);
		return r;
	}
	out->token = token;
	out->arg = in->arg;
	return 0;
}

/* the bind itself, with the handle already in H_BINDING; 0 or -errno */
static long bind_claimed(struct cused_handle *h, const struct cused_bind *b,
			 struct ioctl_req *rq)
{
	void *obj;
	int r;

	r = ctx_claim(h->ctx, b->token, b->kind, rq->uid, &obj);
	if (r == -EACCES)
		return refuse(r, "CUSED_IOC_BIND: uid %u may not bind an object another uid "
			      "created", (unsigned)rq->uid);
	if (r)
		return refuse(r, "CUSED_IOC_BIND: no pending object for that token");
	if (b->kind == CUSED_BIND_STATS) {
		h->stats = obj;
		atomic_store(&h->kind, H_STATS);
		return 0;
	}
	if (b->kind == CUSED_BIND_VM) {
		/* run_fd of a VM bind: the coalesced MMIO ring (shim_abi.h) */
		r = vm_attach_ring(obj, rq->pid, b->run_fd);
		if (r) {
			vm_put(obj);
			return r;
		}
		h->vm = obj;
		atomic_store(&h->kind, H_VM);
		return 0;
	}
	r = vcpu_attach_run(obj, rq->pid, b->run_fd);
	if (r) {
		vcpu_put(obj);
		return r;
	}
	h->vcpu = obj;
	atomic_store(&h->kind, H_VCPU);
	return 0;
}

static long handle_bind(struct cused_handle *h, struct ioctl_req *rq)
{
	const struct cused_bind *b = req_in(rq, sizeof(*b));
	int expect = H_SYSTEM;
	long r;

	if (!b)
		return -EFAULT;
	if (b->kind != CUSED_BIND_VM && b->kind != CUSED_BIND_VCPU && b->kind != CUSED_BIND_STATS)
		return refuse(-EINVAL, "CUSED_IOC_BIND: bad kind %u", b->kind);
	/*
	 * Two BINDs racing on one handle: only the one that moves it out of
	 * H_SYSTEM may claim an object, so the other never takes a token out of
	 * the parked list and nothing is overwritten (and leaked).
	 */
	if (!atomic_compare_exchange_strong(&h->kind, &expect, H_BINDING))
		return refuse(-EBUSY, "CUSED_IOC_BIND: handle is already bound or binding");
	r = bind_claimed(h, b, rq);
	if (r)
		atomic_store(&h->kind, H_SYSTEM);
	return r;
}

long handle_ioctl(struct cused_handle *h, struct ioctl_req *rq)
{
	int kind = atomic_load(&h->kind);

	if (rq->cmd == CUSED_IOC_VERSION)
		return CUSED_SHIM_VERSION;
	/* on any handle, so a second bind is EBUSY however late it comes */
	if (rq->cmd == CUSED_IOC_BIND)
		return handle_bind(h, rq);
	if ((kind == H_VM || kind == H_VCPU) && rq->cmd == CUSED_IOC_STATS_FD)
		return statsfd_create(h, rq);
	/* the fd must be made in the client: as for KVM_CREATE_VM */
	if ((kind == H_VM || kind == H_VCPU) && rq->cmd == KVM_GET_STATS_FD)
		return refuse(-EOPNOTSUPP, "pid %d: KVM_GET_STATS_FD needs the libcused shim: "
			      "run the client as `cused-run CMD...`", rq->pid);
	switch (kind) {
	case H_SYSTEM:
		if (rq->cmd == CUSED_IOC_CREATE)
			return handle_create_vm(h, rq);
		return system_ioctl(h, rq);
	case H_VM:
		return vm_ioctl(h->vm, h, rq);
	case H_VCPU:
		return vcpu_ioctl(h->vcpu, rq);
	case H_BINDING:
		return refuse(-EBUSY, "ioctl %#x on a handle being bound", rq->cmd);
	case H_STATS:
		/* KVM's stats file has no ioctl */
		return -ENOTTY;
	}
	return -EBADF;
}

long handle_read(struct cused_handle *h, void *buf, size_t size, uint64_t off)
{
	/* the device, VM and vCPU files have no read, as KVM's (EINVAL) */
	if (atomic_load(&h->kind) != H_STATS)
		return -EINVAL;
	return (long)statsfd_read(h->stats, buf, size, off);
}

void handle_interrupt(struct cused_handle *h, struct ioctl_req *rq)
{
	/* only vCPU ioctls wait; the others just see the flag */
	if (atomic_load(&h->kind) == H_VCPU)
		vcpu_interrupt(h->vcpu, rq);
	else
		atomic_store(&rq->interrupted, true);
}
