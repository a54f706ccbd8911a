/* SPDX-License-Identifier: MIT */
/*
 * KVM_TPR_ACCESS_REPORTING and KVM_SET_VAPIC_ADDR: the KVM side of QEMU's
 * kvmvapic (TPR patching for 32-bit Windows).  QEMU 7.2 with an in-kernel
 * LAPIC sets the vAPIC address to 0 at every APIC reset and aborts if that
 * fails; it enables TPR reporting when its option ROM runs and ignores the
 * result.  cused implements the "off" states exactly as Linux 6.1
 * (x86.c kvm_arch_vcpu_ioctl, lapic.c kvm_lapic_set_vapic_addr) and refuses,
 * explicitly, what would need KVM_EXIT_TPR_ACCESS or the vAPIC page sync
 * around every entry, which it does not have.
 */
#include <errno.h>
#include <linux/kvm.h>
#include "cused/kvm/vcpu.h"
#include "cused/util/log.h"

static long tpr_access_reporting(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_tpr_access_ctl *in = req_in(rq, sizeof(*in));
	struct kvm_tpr_access_ctl *out = req_out(rq, sizeof(*out));

	if (!in || !out)
		return -EFAULT;
	if (in->flags)
		return refuse(-EINVAL, "vcpu %u: KVM_TPR_ACCESS_REPORTING: flags %#x", v->id,
			      in->flags);
	if (in->enabled)
		return refuse(-EINVAL, "vcpu %u: KVM_TPR_ACCESS_REPORTING: cused has no "
			      "KVM_EXIT_TPR_ACCESS (not implemented)", v->id);
	*out = *in;
	return 0;
}

static long set_vapic_addr(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_vapic_addr *va;

	if (!v->irq)
		return refuse(-EINVAL, "vcpu %u: KVM_SET_VAPIC_ADDR: no in-kernel LAPIC", v->id);
	va = req_in(rq, sizeof(*va));
	if (!va)
		return -EFAULT;
	if (va->vapic_addr)
		return refuse(-EINVAL, "vcpu %u: KVM_SET_VAPIC_ADDR %#llx: the vAPIC page is not "
			      "implemented", v->id, (unsigned long long)va->vapic_addr);
	return 0;
}

bool vcpu_vapic_ioctl(struct vcpu *v, struct ioctl_req *rq, long *ret)
{
	switch (rq->cmd) {
	case KVM_TPR_ACCESS_REPORTING:
		*ret = tpr_access_reporting(v, rq);
		return true;
	case KVM_SET_VAPIC_ADDR:
		*ret = set_vapic_addr(v, rq);
		return true;
	default:
		return false;
	}
}
