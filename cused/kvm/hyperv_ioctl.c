/* SPDX-License-Identifier: MIT */
/* KVM_GET_SUPPORTED_HV_CPUID (see hyperv_ioctl.h) */
#include <errno.h>
#include "cused/kvm/hyperv_ioctl.h"
#include "cused/kvm/handle.h"
#include "cused/x86/hyperv.h"
#include "cused/util/log.h"

long hv_ioctl_get_supported_cpuid(struct ioctl_req *rq, bool lapic)
{
	const struct kvm_cpuid2 *in = req_in(rq, sizeof(*in));
	struct kvm_cpuid2 *out = req_out(rq, sizeof(*out));
	struct kvm_cpuid_entry2 ent[HV_CPUID_NENT];

	if (!in || !out)
		return -EFAULT;
	if (in->nent < HV_CPUID_NENT)
		return refuse(-E2BIG, "KVM_GET_SUPPORTED_HV_CPUID: nent %u < %u", in->nent,
			      HV_CPUID_NENT);
	hv_cpuid_build(ent, lapic, hv_host_smt_possible());
	if (client_write(rq, rq->arg + sizeof(*in), ent, sizeof(ent)))
		return refuse(-EFAULT, "KVM_GET_SUPPORTED_HV_CPUID: entries not writable");
	*out = *in;
	out->nent = HV_CPUID_NENT;
	return 0;
}
