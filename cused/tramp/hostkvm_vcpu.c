/* SPDX-License-Identifier: MIT */
/*
 * hostkvm vCPUs: one host vCPU each; the ops that map one-to-one onto a host
 * ioctl, and run().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

int hk_vcpu_create(struct tramp_vm *vm, uint32_t id, struct tramp_vcpu **out)
{
	struct tramp_vcpu *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	v->vm = vm;
	v->id = id;
	v->fd = ioctl(vm->fd, KVM_CREATE_VCPU, (unsigned long)id);
	if (v->fd < 0) {
		r = refuse(-errno, "hostkvm: host KVM_CREATE_VCPU %u: %d", id, -errno);
		free(v);
		return r;
	}
	v->run = mmap(NULL, vm->be->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED) {
		r = refuse(-errno, "hostkvm: mmap of host kvm_run for vCPU %u: %d", id, -errno);
		close(v->fd);
		free(v);
		return r;
	}
	atomic_init(&v->in_run, false);
	hk_state_invalidate(&v->st);
	*out = v;
	return 0;
}

/* the caller has kicked and joined any thread that was in run() */
void hk_vcpu_destroy(struct tramp_vcpu *v)
{
	if (!v)
		return;
	munmap(v->run, v->vm->be->run_size);
	close(v->fd);
	free(v);
}

int hk_get_fpu(struct tramp_vcpu *v, struct kvm_fpu *fpu)
{
	return tramp_ioctl(v->fd, KVM_GET_FPU, fpu);
}

int hk_set_fpu(struct tramp_vcpu *v, const struct kvm_fpu *fpu)
{
	return tramp_ioctl(v->fd, KVM_SET_FPU, (void *)fpu);
}

int hk_set_cpuid(struct tramp_vcpu *v, const struct kvm_cpuid2 *cpuid)
{
	return tramp_ioctl(v->fd, KVM_SET_CPUID2, (void *)cpuid);
}

int hk_set_debug(struct tramp_vcpu *v, const struct kvm_guest_debug *dbg)
{
	int r;

	/* the host rewrites DR7 and RFLAGS.TF under guest debugging */
	r = hk_state_flush(v);
	if (r)
		return r;
	r = tramp_ioctl(v->fd, KVM_SET_GUEST_DEBUG, (void *)dbg);
	hk_state_invalidate(&v->st);
	if (!r)
		v->debug_control = dbg->control;
	return r;
}

int hk_inject_irq(struct tramp_vcpu *v, uint32_t vector)
{
	struct kvm_interrupt irq = { .irq = vector };
	int r;

	if (vector > 255)
		return -EINVAL;
	/*
	 * Cached event state written back later would overwrite what the host
	 * queues now, so write it first and forget it after.
	 */
	r = hk_state_flush(v);
	if (r)
		return r;
	r = tramp_ioctl(v->fd, KVM_INTERRUPT, &irq);
	hk_state_invalidate(&v->st);
	return r;
}

/* KVM_NMI works without a host irqchip; the host waits for the NMI window itself */
int hk_request_irq_window(struct tramp_vcpu *v, bool on)
{
	v->run->request_interrupt_window = on;
	return 0;
}

int hk_run(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	int r, err = 0;

	r = hk_state_flush(v);
	if (r)
		return refuse(r, "hostkvm: vCPU %u: writing back state failed: %d", v->id, r);
	hk_kick_prepare_thread(v);
	v->runner = pthread_self();
	/* seq_cst: pairs with kick() storing immediate_exit, then loading in_run */
	atomic_store(&v->in_run, true);
	r = ioctl(v->fd, KVM_RUN, 0);
	if (r < 0)
		err = errno;
	atomic_store(&v->in_run, false);
	v->host_retire_pending = false;
	/* whatever happened, the host may have changed every register */
	hk_state_invalidate(&v->st);
	if (r < 0 && err != EINTR)
		return refuse(-err, "hostkvm: vCPU %u: host KVM_RUN: %d", v->id, -err);
	hk_exit_translate(v, r, err, ex);
	return 0;
}
