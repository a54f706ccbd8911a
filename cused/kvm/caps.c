/* SPDX-License-Identifier: MIT */
#include <linux/kvm.h>
#include "cused/kvm/caps.h"
#include "cused/kvm/vm.h"
#include "cused/mmu/memslot.h"

long caps_check(const struct cused_ctx *ctx, uint64_t cap)
{
	unsigned max_vcpus = ctx->caps.max_vcpus < CUSED_MAX_VCPUS ?
			     ctx->caps.max_vcpus : CUSED_MAX_VCPUS;

	switch (cap) {
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_MP_STATE:
		return 1;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return max_vcpus;
	case KVM_CAP_MAX_VCPU_ID:
		return CUSED_MAX_VCPU_IDS;
	case KVM_CAP_NR_MEMSLOTS:
		return CUSED_USER_MEMSLOTS;
	case KVM_CAP_READONLY_MEM:
		return ctx->caps.readonly_mem;
	case KVM_CAP_SET_GUEST_DEBUG:
		return ctx->caps.guest_debug;
	default:
		return 0;
	}
}
