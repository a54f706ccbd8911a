/* SPDX-License-Identifier: MIT */
/* ioctls on the /dev/kvm fd itself */
#include <errno.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include "cused/kvm/handle.h"
#include "cused/kvm/caps.h"
#include "cused/kvm/hyperv_ioctl.h"
#include "cused/kvm/msrs_io.h"
#include "cused/kvm/vcpu_state.h"
#include "cused/shim_abi.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/msr.h"
#include "cused/x86/hyperv_msr.h"
#include "cused/util/log.h"

static long get_msr_index_list(struct ioctl_req *rq)
{
	const struct kvm_msr_list *in = req_in(rq, sizeof(*in));
	struct kvm_msr_list *out = req_out(rq, sizeof(*out));
	struct kvm_msr_list hdr;
	uint32_t *idx, room;
	unsigned n, table;
	long r;

	if (!in || !out)
		return -EFAULT;
	room = in->nmsrs;   /* read before the header is written back */
	/* the MSR table's, then Hyper-V's (KVM lists them after the others too) */
	table = msr_index_list(NULL, 0);
	n = table + hv_msr_index_list(NULL, 0);
	idx = calloc(n ? n : 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	msr_index_list(idx, table);
	hv_msr_index_list(idx + table, n - table);
	/* like KVM, the count goes back even when the buffer is too small */
	hdr.nmsrs = n;
	out->nmsrs = n;
	r = client_write(rq, rq->arg, &hdr, sizeof(hdr));
	if (!r && room < n)
		r = -E2BIG;
	else if (!r)
		r = client_write(rq, rq->arg + sizeof(hdr), idx, n * sizeof(*idx));
	free(idx);
	if (r == -EFAULT)
		log_warn("KVM_GET_MSR_INDEX_LIST: buffer at %#llx not writable",
			 (unsigned long long)rq->arg);
	return r;
}

/*
 * Feature MSRs (KVM_GET_MSR_FEATURE_INDEX_LIST, KVM_GET_MSRS on /dev/kvm):
 * what the host can offer a guest before any vCPU exists, each with its
 * vCPU reset value from the MSR table.  The microcode revision, and
 * PERF_CAPABILITIES, which KVM reports on both vendors (0 without a guest
 * PMU: cused offers none, and no PDCM).  ARCH_CAPABILITIES is hidden by
 * the CPUID policy, and there is no nested VMX.
 */
static const uint32_t feature_msrs[] = {
	0x0000008b,   /* IA32_UCODE_REV */
	0x00000345,   /* IA32_PERF_CAPABILITIES */
};

static int feature_msr_one(void *ctx, uint32_t index, uint64_t *val, bool set)
{
	const struct msr_desc *d = msr_find(index);

	for (size_t i = 0; i < sizeof(feature_msrs) / sizeof(feature_msrs[0]); i++)
		if (feature_msrs[i] == index && d) {
			*val = d->reset;
			return 0;
		}
	*val = 0;
	return -ENOENT;
}

static long get_feature_index_list(struct ioctl_req *rq)
{
	const struct kvm_msr_list *in = req_in(rq, sizeof(*in));
	struct kvm_msr_list *out = req_out(rq, sizeof(*out));
	uint32_t room, n = sizeof(feature_msrs) / sizeof(feature_msrs[0]);
	struct kvm_msr_list hdr = { .nmsrs = n };

	if (!in || !out)
		return -EFAULT;
	room = in->nmsrs;
	out->nmsrs = n;
	if (client_write(rq, rq->arg, &hdr, sizeof(hdr)))
		return -EFAULT;
	if (room < n)
		return refuse(-E2BIG, "KVM_GET_MSR_FEATURE_INDEX_LIST: room for %u < %u", room, n);
	return client_write(rq, rq->arg + sizeof(hdr), feature_msrs, sizeof(feature_msrs));
}

static long get_supported_cpuid(struct cused_ctx *ctx, struct ioctl_req *rq)
{
	const struct kvm_cpuid2 *in = req_in(rq, sizeof(*in));
	struct kvm_cpuid2 *out = req_out(rq, sizeof(*out));
	const struct kvm_cpuid2 *sup = ctx->supported_cpuid;
	uint32_t nent;

	if (!in || !out)
		return -EFAULT;
	nent = in->nent;
	/* KVM's kvm_dev_ioctl_get_cpuid: an empty or short buffer is E2BIG */
	if (nent < 1 || nent < sup->nent)
		return refuse(-E2BIG, "KVM_GET_SUPPORTED_CPUID: nent %u < %u", nent, sup->nent);
	if (client_write(rq, rq->arg + sizeof(*in), sup->entries,
			 sup->nent * sizeof(sup->entries[0])))
		return refuse(-EFAULT, "KVM_GET_SUPPORTED_CPUID: entries not writable");
	*out = *in;
	out->nent = sup->nent;
	return 0;
}

long system_ioctl(struct cused_handle *h, struct ioctl_req *rq)
{
	switch (rq->cmd) {
	case KVM_GET_API_VERSION:
		if (rq->arg)
			return refuse(-EINVAL, "KVM_GET_API_VERSION takes no argument");
		return KVM_API_VERSION;
	case KVM_CHECK_EXTENSION:
		return caps_check(h->ctx, rq->arg);
	case KVM_GET_VCPU_MMAP_SIZE:
		if (rq->arg)
			return refuse(-EINVAL, "KVM_GET_VCPU_MMAP_SIZE takes no argument");
		return CUSED_VCPU_MMAP_SIZE;
	case KVM_GET_MSR_FEATURE_INDEX_LIST:
		return get_feature_index_list(rq);
	case KVM_GET_MSRS:
		return msrs_ioctl(rq, false, feature_msr_one, NULL);
	case KVM_GET_MSR_INDEX_LIST:
		return get_msr_index_list(rq);
	case KVM_GET_SUPPORTED_CPUID:
		return get_supported_cpuid(h->ctx, rq);
	case KVM_GET_SUPPORTED_HV_CPUID:
		return hv_ioctl_get_supported_cpuid(rq, true);
	case KVM_X86_GET_MCE_CAP_SUPPORTED:
		return vcpu_state_mce_cap_supported(rq);
	case KVM_CREATE_VM:
		return refuse(-EOPNOTSUPP, "pid %d called KVM_CREATE_VM without the libcused "
			      "shim: run the client as `cused-run CMD...`", rq->pid);
	default:
		/* x86 KVM answers unknown system ioctls with EINVAL */
		return refuse(-EINVAL, "system ioctl %#x not implemented", rq->cmd);
	}
}
