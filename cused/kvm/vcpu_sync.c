/* SPDX-License-Identifier: MIT */
/*
 * KVM_CAP_SYNC_REGS: kvm_run->s.regs carries regs, sregs and events across
 * KVM_RUN.  The kvm_run page is shared with the client, who may write it at
 * any time, so every struct is copied out of it before it is looked at, and
 * the setters are the ioctl handlers themselves (same validation).
 * Rules as Linux 6.1 kvm_arch_vcpu_ioctl_run: bad bits in kvm_valid_regs or
 * kvm_dirty_regs fail the run with EINVAL; a rejected dirty struct fails it
 * with EINVAL; the valid structs are stored on the way out, whatever the
 * run's result.
 */
#include <errno.h>
#include <string.h>
#include "cused/kvm/vcpu.h"
#include "cused/util/log.h"

static int no_mem(void *ctx, uint64_t uaddr, void *buf, size_t len)
{
	return -EFAULT;
}

static int no_mem_w(void *ctx, uint64_t uaddr, const void *buf, size_t len)
{
	return -EFAULT;
}

static const struct client_mem nomem = { .read = no_mem, .write = no_mem_w };

uint32_t vcpu_sync_regs_offered(const struct cused_ctx *ctx)
{
	return KVM_SYNC_X86_REGS | KVM_SYNC_X86_SREGS |
	       (ctx->caps.vcpu_events ? KVM_SYNC_X86_EVENTS : 0);
}

static long call(struct vcpu *v, unsigned cmd, const void *in, void *out, size_t len)
{
	struct ioctl_req rq = {
		.cmd = cmd, .in = in, .in_len = in ? len : 0, .out = out,
		.out_len = out ? len : 0, .mem = &nomem,
	};

	return vcpu_ioctl_locked(v, &rq);
}

int vcpu_sync_regs_in(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_sync_regs s;
	uint64_t valid, dirty, offered = vcpu_sync_regs_offered(v->vm->ctx);

	if (!run)
		return 0;
	valid = __atomic_load_n(&run->kvm_valid_regs, __ATOMIC_RELAXED);
	dirty = __atomic_load_n(&run->kvm_dirty_regs, __ATOMIC_RELAXED);
	if ((valid | dirty) & ~offered)
		return refuse(-EINVAL, "vcpu %u: KVM_RUN: kvm_valid_regs %#llx / kvm_dirty_regs "
			      "%#llx outside %#llx", v->id, (unsigned long long)valid,
			      (unsigned long long)dirty, (unsigned long long)offered);
	if (!dirty)
		return 0;
	memcpy(&s, &run->s.regs, sizeof(s));
	if (dirty & KVM_SYNC_X86_REGS) {
		if (call(v, KVM_SET_REGS, &s.regs, NULL, sizeof(s.regs)))
			return -EINVAL;
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_REGS;
	}
	if (dirty & KVM_SYNC_X86_SREGS) {
		if (call(v, KVM_SET_SREGS, &s.sregs, NULL, sizeof(s.sregs)))
			return refuse(-EINVAL, "vcpu %u: KVM_RUN: synced sregs rejected", v->id);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_SREGS;
	}
	if (dirty & KVM_SYNC_X86_EVENTS) {
		if (call(v, KVM_SET_VCPU_EVENTS, &s.events, NULL, sizeof(s.events)))
			return refuse(-EINVAL, "vcpu %u: KVM_RUN: synced events rejected", v->id);
		run->kvm_dirty_regs &= ~KVM_SYNC_X86_EVENTS;
	}
	return 0;
}

void vcpu_sync_regs_out(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct kvm_sync_regs s;
	uint64_t valid;

	if (!run)
		return;
	valid = __atomic_load_n(&run->kvm_valid_regs, __ATOMIC_RELAXED) &
		vcpu_sync_regs_offered(v->vm->ctx);
	if (!valid)
		return;
	memset(&s, 0, sizeof(s));
	if ((valid & KVM_SYNC_X86_REGS) && !call(v, KVM_GET_REGS, NULL, &s.regs, sizeof(s.regs)))
		memcpy(&run->s.regs.regs, &s.regs, sizeof(s.regs));
	if ((valid & KVM_SYNC_X86_SREGS) &&
	    !call(v, KVM_GET_SREGS, NULL, &s.sregs, sizeof(s.sregs)))
		memcpy(&run->s.regs.sregs, &s.sregs, sizeof(s.sregs));
	if ((valid & KVM_SYNC_X86_EVENTS) &&
	    !call(v, KVM_GET_VCPU_EVENTS, NULL, &s.events, sizeof(s.events)))
		memcpy(&run->s.regs.events, &s.events, sizeof(s.events));
}
