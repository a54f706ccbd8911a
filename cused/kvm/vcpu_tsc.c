/* SPDX-License-Identifier: MIT */
/* A vCPU's TSC offset; see vcpu_tsc.h */
#include <errno.h>
#include <x86intrin.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_tsc.h"
#include "cused/util/log.h"

/* how far the backend's offset may be from the one asked for and still be "applied" */
#define HW_FOLLOWS_SLACK (1LL << 24)

/* the offset RDTSC really gets: exact from the backend, else timed through CUSED_F_TSC */
static int hw_offset(struct vcpu *v, int64_t *off)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	uint64_t t0, t1, tsc;
	int r;

	if (ops->get_tsc_offset && !ops->get_tsc_offset(v->tv, off))
		return 0;
	t0 = __rdtsc();
	r = vcpu_read_field(v, CUSED_F_TSC, &tsc);
	t1 = __rdtsc();
	if (!r)
		*off = (int64_t)(tsc - (t0 + (t1 - t0) / 2));
	return r;
}

/* l1_off is the daemon's from now on; the backend follows if it can */
static int set_l1(struct vcpu *v, int64_t off)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	int r = -ENOTTY;

	v->tsc.l1_off = off;
	if (ops->set_tsc_offset)
		r = ops->set_tsc_offset(v->tv, off);
	if (r)
		r = vcpu_write_field(v, CUSED_F_TSC, __rdtsc() + (uint64_t)off);
	if (!r)
		r = hw_offset(v, &v->tsc.hw_off);
	/* tsc_timestamp of the pvclock page is in the guest's TSC */
	v->tsc.clock_stale = true;
	return r;
}

int vcpu_tsc_init(struct vcpu *v)
{
	int64_t d;
	int r = vcpu_tsc_host_write(v, 0);

	if (r)
		return r;
	d = v->tsc.hw_off - v->tsc.l1_off;
	v->tsc.hw_follows = d > -HW_FOLLOWS_SLACK && d < HW_FOLLOWS_SLACK;
	if (!v->tsc.hw_follows)
		log_info("vcpu %u: the backend keeps the guest's RDTSC on the host TSC: "
			 "TSC offsets reach IA32_TSC only", v->id);
	return 0;
}

uint64_t vcpu_tsc_read(struct vcpu *v)
{
	return __rdtsc() + (uint64_t)v->tsc.l1_off;
}

int vcpu_tsc_write(struct vcpu *v, uint64_t val)
{
	return set_l1(v, (int64_t)(val - __rdtsc()));
}

int vcpu_tsc_host_write(struct vcpu *v, uint64_t val)
{
	struct vm *vm = v->vm;
	struct kvmclock_sample s;
	int64_t off;

	pthread_mutex_lock(&vm->lock);
	kvmclock_sample(&vm->misc.clock, &s);
	off = tsc_sync_write(&vm->misc.tsc_sync, vm->misc.clock.khz, val, s.host_tsc, s.ns);
	pthread_mutex_unlock(&vm->lock);
	return set_l1(v, off);
}

/* kvm_vcpu_ioctl_device_attr: only KVM_VCPU_TSC_CTRL / KVM_VCPU_TSC_OFFSET */
long vcpu_tsc_attr_ioctl(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_device_attr *a = req_in(rq, sizeof(*a));
	struct vm *vm = v->vm;
	struct kvmclock_sample s;
	uint64_t off;

	if (!a)
		return -EFAULT;
	if (a->group != KVM_VCPU_TSC_CTRL)
		return refuse(-ENXIO, "vCPU device attr: group %u", a->group);
	/* a backend whose RDTSC ignores offsets cannot honour the attribute */
	if (a->attr != KVM_VCPU_TSC_OFFSET || !v->tsc.hw_follows)
		return refuse(-ENXIO, "vCPU device attr: TSC attr %llu%s",
			      (unsigned long long)a->attr,
			      v->tsc.hw_follows ? "" : " (backend cannot offset RDTSC)");
	switch (rq->cmd) {
	case KVM_HAS_DEVICE_ATTR:
		return 0;
	case KVM_GET_DEVICE_ATTR:
		off = (uint64_t)v->tsc.l1_off;
		return client_write(rq, a->addr, &off, sizeof(off)) ? -EFAULT : 0;
	default:
		if (client_read(rq, a->addr, &off, sizeof(off)))
			return -EFAULT;
		pthread_mutex_lock(&vm->lock);
		kvmclock_sample(&vm->misc.clock, &s);
		tsc_sync_set_offset(&vm->misc.tsc_sync, vm->misc.clock.khz, (int64_t)off,
				    s.host_tsc, s.ns);
		pthread_mutex_unlock(&vm->lock);
		return set_l1(v, (int64_t)off);
	}
}
