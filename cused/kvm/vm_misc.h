/* SPDX-License-Identifier: MIT */
/*
 * Per-VM settings that need no irqchip and no new fds: the x86 VM ioctls
 * KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR, KVM_SET_BOOT_CPU_ID,
 * KVM_SET/GET_NR_MMU_PAGES, KVM_GET/SET_CLOCK and KVM_ENABLE_CAP, with
 * Linux 6.1's rules (arch/x86/kvm/x86.c kvm_arch_vm_ioctl and
 * kvm_vm_ioctl_enable_cap).  The rule functions are pure: the caller holds
 * vm->lock and passes what they depend on.
 */
#ifndef CUSED_KVM_VM_MISC_H
#define CUSED_KVM_VM_MISC_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>
#include "cused/x86/pvclock.h"

#define VM_MIN_ALLOC_MMU_PAGES 64       /* KVM_MIN_ALLOC_MMU_PAGES */
#define VM_MEMSLOT_PAGES_PER_MMU_PAGE 50 /* KVM_MEMSLOT_PAGES_TO_MMU_PAGES_RATIO */
#define VM_MAX_VCPU_IDS 4096            /* KVM_MAX_VCPU_IDS on x86 */
/* 6.1's KVM_X86_VALID_QUIRKS: LINT0_REENABLED .. MWAIT_NEVER_UD_FAULTS */
#define VM_VALID_QUIRKS 0x7fULL
/* 6.1's KVM_X2APIC_API_VALID_FLAGS */
#define VM_X2APIC_API_VALID (KVM_X2APIC_API_USE_32BIT_IDS | \
			     KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)
/* 6.1's KVM_X86_DISABLE_VALID_EXITS */
#define VM_DISABLE_VALID_EXITS (KVM_X86_DISABLE_EXITS_MWAIT | KVM_X86_DISABLE_EXITS_HLT | \
				KVM_X86_DISABLE_EXITS_PAUSE | KVM_X86_DISABLE_EXITS_CSTATE)
/*
 * What cused can honour: PAUSE and CSTATE exits are invisible to userspace
 * anyway; keeping HLT or MWAIT in the guest would change which exits the
 * client sees, and the backends do not do that.
 */
#define VM_DISABLE_EXITS_OFFERED (KVM_X86_DISABLE_EXITS_PAUSE | KVM_X86_DISABLE_EXITS_CSTATE)
/* KVM_CLOCK_VALID_FLAGS */
#define VM_CLOCK_VALID_FLAGS (KVM_CLOCK_TSC_STABLE | KVM_CLOCK_REALTIME | KVM_CLOCK_HOST_TSC)

/* kvmclock base ns as a function of the host TSC (KVM's master clock; clock.c) */
struct kvmclock_master {
	uint64_t tsc, ns;          /* reference: host TSC and CLOCK_BOOTTIME ns together */
	uint32_t khz;              /* host TSC rate */
	uint32_t mul;              /* ns per TSC cycle as pvclock_time_scale gives it */
	int8_t shift;
};

/* one instant: host TSC, the master clock's ns and CLOCK_REALTIME */
struct kvmclock_sample {
	uint64_t host_tsc, ns, real_ns;
};

struct vm_misc {
	unsigned created_vcpus;      /* KVM's created_vcpus: ever created, never decreases */
	uint32_t tss_addr;
	uint64_t identity_map_addr;
	uint32_t bsp_vcpu_id;
	uint32_t max_vcpu_ids;       /* 0 until KVM_CAP_MAX_VCPU_ID or the first vCPU */
	uint64_t requested_mmu_pages; /* 0: follow the memslots */
	uint64_t disabled_quirks;
	uint32_t x2apic_api;         /* KVM_X2APIC_API_* for the irqchip */
	uint32_t disabled_exits;
	bool exception_payload;
	bool exit_on_emulation_error; /* KVM_CAP_EXIT_ON_EMULATION_FAILURE (the backend's to apply) */
	bool platform_info_readable; /* guest may read MSR_PLATFORM_INFO (default) */
	uint32_t user_space_msr;     /* KVM_MSR_EXIT_REASON_* mask */
	int64_t kvmclock_offset;     /* kvmclock = master clock ns + offset */
	uint32_t kvmclock_gen;       /* bumped by KVM_SET_CLOCK: pvclock pages are stale */
	struct kvmclock_master clock;
	struct tsc_sync tsc_sync;    /* host TSC writes (kvm_synchronize_tsc) */
};

/* defaults of a new VM; now_ns is the master clock's ns now (the clock starts at 0) */
void vm_misc_init(struct vm_misc *m, uint64_t now_ns);

/* KVM_SET_TSS_ADDR: -EINVAL above 4 GiB - 3 pages */
int vm_misc_set_tss_addr(struct vm_misc *m, uint64_t addr);
/* KVM_SET_IDENTITY_MAP_ADDR: -EINVAL once a vCPU exists */
int vm_misc_set_identity_map(struct vm_misc *m, uint64_t addr);
/* KVM_SET_BOOT_CPU_ID: -EBUSY once a vCPU exists */
int vm_misc_set_boot_cpu_id(struct vm_misc *m, uint64_t id);
/* KVM_SET_NR_MMU_PAGES: -EINVAL below VM_MIN_ALLOC_MMU_PAGES */
int vm_misc_set_nr_mmu_pages(struct vm_misc *m, uint64_t n);
/* KVM_GET_NR_MMU_PAGES given the pages of all memslots and whether any slot exists */
uint64_t vm_misc_nr_mmu_pages(const struct vm_misc *m, uint64_t slot_pages, bool any_slot);
/*
 * KVM_ENABLE_CAP on the VM: 0 or -EINVAL by 6.1's rules.  *backend is set
 * when the backend must hear of it too (see tramp_ops.vm_enable_cap).
 */
int vm_misc_enable_cap(struct vm_misc *m, const struct kvm_enable_cap *cap, bool *backend);
/* the vCPU-id part of KVM_CREATE_VCPU (kvm_arch_vcpu_precreate): 0 or -EINVAL */
int vm_misc_vcpu_precreate(struct vm_misc *m, uint64_t id);

/* clock.c: the master clock; the host TSC rate, measured once per daemon (kHz) */
uint32_t kvmclock_host_tsc_khz(void);
void kvmclock_master_init(struct kvmclock_master *mc, uint32_t khz, uint64_t tsc, uint64_t ns);
/* a master clock starting now, on the measured rate */
void kvmclock_master_now(struct kvmclock_master *mc);
uint64_t kvmclock_master_ns(const struct kvmclock_master *mc, uint64_t host_tsc);
/* the host TSC, master ns and CLOCK_REALTIME now */
void kvmclock_sample(const struct kvmclock_master *mc, struct kvmclock_sample *s);
/* KVM_GET_CLOCK at s: TSC_STABLE | REALTIME | HOST_TSC, as KVM with a master clock */
void kvmclock_get(const struct vm_misc *m, const struct kvmclock_sample *s,
		  struct kvm_clock_data *d);
/* KVM_SET_CLOCK at s: -EINVAL for flags outside KVM_CLOCK_VALID_FLAGS */
int kvmclock_set(struct vm_misc *m, const struct kvmclock_sample *s,
		 const struct kvm_clock_data *d);

struct vm;
struct ioctl_req;
/* the VM ioctls above on a VM handle (takes vm->lock) */
long vm_misc_ioctl(struct vm *vm, struct ioctl_req *rq);

#endif
