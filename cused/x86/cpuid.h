/* SPDX-License-Identifier: MIT */
/*
 * CPUID policy: what cused offers in KVM_GET_SUPPORTED_CPUID, what it accepts
 * in KVM_SET_CPUID2, and lookups in a vCPU's table.
 */
#ifndef CUSED_X86_CPUID_H
#define CUSED_X86_CPUID_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

#define CUSED_MAX_CPUID_ENTRIES 256      /* KVM_MAX_CPUID_ENTRIES */

/* KVM's PV leaves and the features cused offers in them (cpuid_policy.c) */
#define CPUID_KVM_SIGNATURE 0x40000000
#define CPUID_KVM_FEATURES  0x40000001
/* CLOCKSOURCE, NOP_IO_DELAY, CLOCKSOURCE2, CLOCKSOURCE_STABLE_BIT */
#define CPUID_KVM_PV_OFFERED ((1u << 0) | (1u << 1) | (1u << 3) | (1u << 24))

enum cpuid_reg { CPUID_EAX, CPUID_EBX, CPUID_ECX, CPUID_EDX };

/*
 * KVM_GET_SUPPORTED_CPUID: the host backend's table with cused's policy
 * applied (only features whose MSRs/state cused virtualizes, no x2APIC or
 * TSC-deadline without an in-daemon LAPIC, hypervisor bit set, KVM's PV
 * leaves with only what cused implements (kvmclock) instead of the host's,
 * XSAVE leaf limited to non-dynamic host components).
 * out->nent is set; -E2BIG if max entries cannot hold the result.
 */
int cpuid_supported(const struct kvm_cpuid2 *host, struct kvm_cpuid2 *out, uint32_t max);

/*
 * The x86-64-v2 instruction-set bits of leaf 1 ECX (SSE3, SSSE3, SSE4.1,
 * SSE4.2, POPCNT) that the silicon has (native_1_ecx, the daemon's own
 * CPUID.01H:ECX) but the backend's table lacks, added to sup.  They need
 * nothing from a VMM beyond CR4.OSFXSR, a guest executes them natively
 * either way, and KVM ties behaviour to them (MISC_ENABLE.MWAIT needs SSE3).
 * This machine's PVM host reports none of them.
 */
void cpuid_offer_native(struct kvm_cpuid2 *sup, uint32_t native_1_ecx);

/* KVM_SET_CPUID2 argument checks as Linux 6.1 kvm_vcpu_ioctl_set_cpuid2 + kvm_check_cpuid */
int cpuid_check_set(const struct kvm_cpuid2 *c);

/* entry as kvm_find_cpuid_entry_index: index only matters if the entry says so */
const struct kvm_cpuid_entry2 *cpuid_find(const struct kvm_cpuid2 *c, uint32_t function,
					  uint32_t index);
/* feature test; c may be NULL (no CPUID set: nothing is present, as in KVM) */
bool cpuid_has(const struct kvm_cpuid2 *c, uint32_t function, uint32_t index,
	       enum cpuid_reg reg, uint32_t mask);
/* 0x80000008 EAX[7:0] if 0x80000000 reaches it, else 36 (cpuid_query_maxphyaddr); c may be NULL */
unsigned cpuid_maxphyaddr(const struct kvm_cpuid2 *c);
/* vendor string "GenuineIntel" in leaf 0 */
bool cpuid_is_intel(const struct kvm_cpuid2 *c);
/*
 * kvm_update_cpuid_runtime's MWAIT part: with KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT
 * disabled, CPUID.01H:ECX.MWAIT follows IA32_MISC_ENABLE.MWAIT (bit 18);
 * with the quirk (KVM's default) nothing changes.  c may be NULL.
 */
void cpuid_runtime_mwait(struct kvm_cpuid2 *c, uint64_t disabled_quirks, uint64_t misc_enable);

/*
 * The rest of __kvm_update_cpuid_runtime: CPUID.01H:ECX.OSXSAVE follows
 * CR4.OSXSAVE, CPUID.01H:EDX.APIC follows IA32_APIC_BASE's enable bit and
 * CPUID.07H:ECX.OSPKE follows CR4.PKE.  c may be NULL.
 */
void cpuid_runtime_state(struct kvm_cpuid2 *c, uint64_t cr4, uint64_t apic_base);
/*
 * kvm_cpuid_check_equal: once the vCPU has run, KVM_SET_CPUID2 only accepts
 * the table in force (cur; NULL = none set), entry for entry in the same
 * order.  0 when equal, else -EINVAL.
 */
int cpuid_check_equal(const struct kvm_cpuid2 *cur, const struct kvm_cpuid2 *c);
#endif
