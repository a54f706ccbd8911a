/* SPDX-License-Identifier: MIT */
/*
 * KVM_CHECK_EXTENSION: non-zero exactly for what cused implements, with
 * Linux 6.1's values where the answer is a number or a mask.  Answers that
 * depend on the backend come from struct tramp_caps; the README's
 * "Capabilities" table compares every answer with the host's.
 */
#include <linux/kvm.h>
#include "cused/kvm/caps.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vm_misc.h"
#include "cused/kvm/vcpu.h"
#include "cused/mmu/memslot.h"

long caps_check(const struct cused_ctx *ctx, uint64_t cap)
{
	const struct tramp_caps *c = &ctx->caps;
	unsigned max_vcpus = c->max_vcpus < CUSED_MAX_VCPUS ? c->max_vcpus : CUSED_MAX_VCPUS;

	switch (cap) {
	/* memory: slots replace, join and delete as KVM's do */
	case KVM_CAP_USER_MEMORY:
	case KVM_CAP_DESTROY_MEMORY_REGION_WORKS:
	case KVM_CAP_JOIN_MEMORY_REGIONS_WORKS:
	/* VM ioctls (vm_misc.c) */
	case KVM_CAP_SET_TSS_ADDR:
	case KVM_CAP_SET_IDENTITY_MAP_ADDR:
	case KVM_CAP_SET_BOOT_CPU_ID:
	case KVM_CAP_MMU_SHADOW_CACHE_CONTROL:
	case KVM_CAP_ENABLE_CAP_VM:
	case KVM_CAP_CHECK_EXTENSION_VM:
	case KVM_CAP_DISABLE_QUIRKS:
	/* vCPU */
	case KVM_CAP_EXT_CPUID:
	case KVM_CAP_MP_STATE:
	case KVM_CAP_HLT:                 /* KVM_EXIT_HLT */
	case KVM_CAP_NOP_IO_DELAY:        /* port 0x80 is an ordinary PIO exit, as in KVM */
	case KVM_CAP_IMMEDIATE_EXIT:
	case KVM_CAP_INTERNAL_ERROR_DATA:
	case KVM_CAP_GET_MSR_FEATURES:
	case KVM_CAP_DEBUGREGS:           /* by field: every backend */
	case KVM_CAP_XCRS:
	case KVM_CAP_KVMCLOCK_CTRL:
	case KVM_CAP_CLOCKSOURCE:         /* kvmclock (kvmclock.c) */
	case KVM_CAP_ENABLE_CAP:
	case KVM_CAP_ENFORCE_PV_FEATURE_CPUID:
	case KVM_CAP_VCPU_ATTRIBUTES:     /* KVM_VCPU_TSC_CTRL (vcpu_tsc.c) */
	case KVM_CAP_MSR_PLATFORM_INFO:
	case KVM_CAP_X86_USER_SPACE_MSR:
	case KVM_CAP_X86_MSR_FILTER:      /* msr_filter.c */
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
	/* Hyper-V (hyperv_ioctl.c, cused/x86/hyperv*.c) */
	case KVM_CAP_HYPERV_CPUID:
	case KVM_CAP_SYS_HYPERV_CPUID:
	case KVM_CAP_HYPERV:               /* GUEST_OS_ID, HYPERCALL */
	case KVM_CAP_HYPERV_TIME:          /* TIME_REF_COUNT, the reference TSC page */
	case KVM_CAP_HYPERV_VP_INDEX:
	case KVM_CAP_HYPERV_ENFORCE_CPUID:
	/* the in-daemon irqchip (cused/irq/, cused/kvm/vcpu_irq.c) */
	case KVM_CAP_IRQCHIP:
	case KVM_CAP_IRQ_INJECT_STATUS:
	case KVM_CAP_PIT2:
	case KVM_CAP_PIT_STATE2:
	case KVM_CAP_REINJECT_CONTROL:
	case KVM_CAP_SPLIT_IRQCHIP:
	case KVM_CAP_SIGNAL_MSI:
	case KVM_CAP_TSC_DEADLINE_TIMER:
		return 1;
	case KVM_CAP_BINARY_STATS_FD:     /* statsfd.c, through libcused */
		return ctx->stats_reads;
	case KVM_CAP_IRQ_ROUTING:
		return 4096;   /* KVM_MAX_IRQ_ROUTES */
	/* eventfds (vm_evfd.c); KVM_IRQFD itself needs an irqchip, as in KVM */
	case KVM_CAP_IRQFD:
	case KVM_CAP_IRQFD_RESAMPLE:
	case KVM_CAP_IOEVENTFD:
	case KVM_CAP_IOEVENTFD_NO_LENGTH:
	case KVM_CAP_IOEVENTFD_ANY_LENGTH:
	case KVM_CAP_COALESCED_PIO:       /* coalesced.c */
		return 1;
	case KVM_CAP_COALESCED_MMIO:
		return KVM_COALESCED_MMIO_PAGE_OFFSET;
	case KVM_CAP_NR_VCPUS:
	case KVM_CAP_MAX_VCPUS:
		return max_vcpus;
	case KVM_CAP_MAX_VCPU_ID:
		return CUSED_MAX_VCPU_IDS;
	case KVM_CAP_NR_MEMSLOTS:
		return CUSED_USER_MEMSLOTS;
	case KVM_CAP_MCE:
		/* KVM_X86_SETUP_MCE sets the MSR table's MCG_CAP and banks */
		return VCPU_MAX_MCE_BANKS;
	case KVM_CAP_ADJUST_CLOCK:
		return VM_CLOCK_VALID_FLAGS;
	case KVM_CAP_DISABLE_QUIRKS2:
		return VM_VALID_QUIRKS;
	case KVM_CAP_X2APIC_API:
		return VM_X2APIC_API_VALID;
	case KVM_CAP_X86_DISABLE_EXITS:
		return VM_DISABLE_EXITS_OFFERED;
	case KVM_CAP_READONLY_MEM:
		return c->readonly_mem;
	case KVM_CAP_SYNC_MMU:
		return c->sync_mmu;
	case KVM_CAP_SMALLER_MAXPHYADDR:
		return c->smaller_maxphyaddr;
	case KVM_CAP_SET_GUEST_DEBUG:
	case KVM_CAP_X86_ROBUST_SINGLESTEP:
		return c->guest_debug;
	case KVM_CAP_VCPU_EVENTS:
		return c->vcpu_events;
	case KVM_CAP_USER_NMI:
	case KVM_CAP_EXCEPTION_PAYLOAD:
		return c->events_queue;
	case KVM_CAP_XSAVE:
		return c->xsave;
	case KVM_CAP_XSAVE2:
		/* no dynamic (AMX) component is offered, so the 4 KiB struct suffices */
		return c->xsave ? (long)sizeof(struct kvm_xsave) : 0;
	case KVM_CAP_GET_TSC_KHZ:
		return c->tsc_khz;
	case KVM_CAP_SYNC_REGS:
		return vcpu_sync_regs_offered(ctx);
	default:
		return 0;
	}
}
