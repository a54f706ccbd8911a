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
	/* the in-daemon irqchip (cused/irq/, cused/kvm/vcpu_irq.c) */
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_TSC_DEADLINE_TIMER:
	case KVM_CAP_SET_BOOT_CPU_ID:
		return 1;
	case KVM_CAP_X2APIC_API:
		return KVM_X2APIC_API_USE_32BIT_IDS | KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK;
	case KVM_CAP_IRQ_ROUTING:
		return 4096;   /* KVM_MAX_IRQ_ROUTES */
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
