/* SPDX-License-Identifier: MIT */
/*
 * The host vCPU's TSC offset and PV enforcement.  The host KVM owns what the
 * guest's RDTSC returns and answers the guest's hypercalls, so these two
 * pieces of the daemon's TSC and PV policy must reach it.  A PVM host keeps
 * every offset at 0 (its guests read the host TSC); get_tsc_offset then says
 * so and the daemon keeps the offset to itself (cused/kvm/vcpu_tsc.c).
 */
#include <errno.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

int hk_get_tsc_offset(struct tramp_vcpu *v, int64_t *off)
{
	struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
				     .addr = (uintptr_t)off };

	return tramp_ioctl(v->fd, KVM_GET_DEVICE_ATTR, &a);
}

int hk_set_tsc_offset(struct tramp_vcpu *v, int64_t off)
{
	struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
				     .addr = (uintptr_t)&off };

	return tramp_ioctl(v->fd, KVM_SET_DEVICE_ATTR, &a);
}

int hk_vcpu_enable_cap(struct tramp_vcpu *v, const struct kvm_enable_cap *cap)
{
	int r;

	switch (cap->cap) {
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
		/*
		 * The host answers KVM_HC_* itself: -KVM_ENOSYS needs its
		 * enforcement.  A host without it still leaves the PV MSRs,
		 * which are the daemon's, enforced: say so and go on.
		 */
		r = tramp_ioctl(v->fd, KVM_ENABLE_CAP, (void *)cap);
		if (r)
			log_warn("hostkvm: vCPU %u: host refused KVM_CAP_ENFORCE_PV_FEATURE_CPUID "
				 "(%d): hypercalls not enforced", v->id, r);
		return 0;
	default:
		return 0;
	}
}
