/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include "cused/kvm/statsfd.h"
#include "cused/kvm/handle.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vcpu.h"
#include "cused/shim_abi.h"
#include "cused/util/log.h"

long statsfd_create(struct cused_handle *h, struct ioctl_req *rq)
{
	struct cused_create *out = req_out(rq, sizeof(*out));
	int kind = atomic_load(&h->kind);
	struct statsfd *s;
	uint64_t token;
	int r;

	if (!out)
		return -EFAULT;
	/* KVM without binary stats: the VM / vCPU ioctl is unknown */
	if ((kind != H_VM && kind != H_VCPU) || !h->ctx->stats_reads)
		return -ENOTTY;
	r = ctx_charge_stats(h->ctx, rq->uid);
	if (r)
		return refuse(r, "KVM_GET_STATS_FD: uid %u already has %u stats fds",
			      (unsigned)rq->uid, CUSED_MAX_STATS_FDS_PER_UID);
	s = calloc(1, sizeof(*s));
	if (!s) {
		ctx_uncharge_stats(h->ctx, rq->uid);
		return -ENOMEM;
	}
	s->ctx = h->ctx;
	s->uid = rq->uid;
	/* KVM names them after the creating task (kvm_create_vm, kvm_vm_ioctl_create_vcpu) */
	if (kind == H_VM) {
		snprintf(s->id, sizeof(s->id), "kvm-%d", (int)h->vm->pid);
	} else {
		s->vcpu = h->vcpu->stats;
		stats_get(s->vcpu);
		snprintf(s->id, sizeof(s->id), "kvm-%d/vcpu-%u", (int)s->vcpu->pid, h->vcpu->id);
	}
	r = ctx_park(h->ctx, OBJ_STATS, s, h, rq->uid, &token);
	if (r) {
		statsfd_put(s);
		return r;
	}
	out->arg = 0;
	out->token = token;
	return 0;
}

void statsfd_put(struct statsfd *s)
{
	if (!s)
		return;
	stats_put(s->vcpu);
	ctx_uncharge_stats(s->ctx, s->uid);
	free(s);
}

size_t statsfd_read(const struct statsfd *s, void *buf, size_t size, uint64_t off)
{
	const struct binstats_layout *l = s->vcpu ? &binstats_vcpu : &binstats_vm;
	uint64_t n[VS_NR], data[256];

	if (l->data_size > sizeof(data))
		return 0;
	/* each read is a snapshot of the counters now, as KVM reads its live ones */
	if (s->vcpu) {
		for (int i = 0; i < VS_NR; i++)
			n[i] = atomic_load_explicit(&s->vcpu->n[i], memory_order_relaxed);
		binstats_vcpu_data(n, data);
	} else {
		binstats_vm_data(data);
	}
	return binstats_read(l, s->id, data, buf, size, off);
}
