/* SPDX-License-Identifier: MIT */
/*
 * Hyper-V enlightenments as Linux 6.1 KVM offers them (arch/x86/kvm/hyperv.c,
 * the TLFS constants of include/asm-generic/hyperv-tlfs.h and
 * arch/x86/include/asm/hyperv-tlfs.h).  This header holds the constants and
 * the pure builders; per-VM/per-vCPU state and the MSRs are hyperv_msr.h.
 */
#ifndef CUSED_X86_HYPERV_H
#define CUSED_X86_HYPERV_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* CPUID leaves */
#define HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS         0x40000000
#define HYPERV_CPUID_INTERFACE                        0x40000001
#define HYPERV_CPUID_VERSION                          0x40000002
#define HYPERV_CPUID_FEATURES                         0x40000003
#define HYPERV_CPUID_ENLIGHTMENT_INFO                 0x40000004
#define HYPERV_CPUID_IMPLEMENT_LIMITS                 0x40000005
#define HYPERV_CPUID_NESTED_FEATURES                  0x4000000A
#define HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS  0x40000080
#define HYPERV_CPUID_SYNDBG_INTERFACE                 0x40000081
#define HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES     0x40000082
#define HYPERV_CPUID_SIGNATURE_EAX                    0x31237648   /* "Hv#1" */

/* HYPERV_CPUID_FEATURES.EAX: partition privileges (MSR access) */
#define HV_MSR_VP_RUNTIME_AVAILABLE        (1u << 0)
#define HV_MSR_TIME_REF_COUNT_AVAILABLE    (1u << 1)
#define HV_MSR_SYNIC_AVAILABLE             (1u << 2)
#define HV_MSR_SYNTIMER_AVAILABLE          (1u << 3)
#define HV_MSR_APIC_ACCESS_AVAILABLE       (1u << 4)
#define HV_MSR_HYPERCALL_AVAILABLE         (1u << 5)
#define HV_MSR_VP_INDEX_AVAILABLE          (1u << 6)
#define HV_MSR_RESET_AVAILABLE             (1u << 7)
#define HV_MSR_REFERENCE_TSC_AVAILABLE     (1u << 9)
#define HV_ACCESS_FREQUENCY_MSRS           (1u << 11)
#define HV_ACCESS_REENLIGHTENMENT          (1u << 13)
/* .EBX: hypercall privileges */
#define HV_POST_MESSAGES                   (1u << 4)
#define HV_SIGNAL_EVENTS                   (1u << 5)
#define HV_DEBUGGING                       (1u << 11)
/* .EDX: features */
#define HV_X64_GUEST_DEBUGGING_AVAILABLE       (1u << 1)
#define HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE   (1u << 4)
#define HV_FEATURE_FREQUENCY_MSRS_AVAILABLE    (1u << 8)
#define HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE   (1u << 10)
#define HV_FEATURE_DEBUG_MSRS_AVAILABLE        (1u << 11)
#define HV_STIMER_DIRECT_MODE_AVAILABLE        (1u << 19)
/* HYPERV_CPUID_ENLIGHTMENT_INFO.EAX: recommendations */
#define HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED    (1u << 2)
#define HV_X64_APIC_ACCESS_RECOMMENDED         (1u << 3)
#define HV_X64_RELAXED_TIMING_RECOMMENDED      (1u << 5)
#define HV_DEPRECATING_AEOI_RECOMMENDED        (1u << 9)
#define HV_X64_CLUSTER_IPI_RECOMMENDED         (1u << 10)
#define HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED  (1u << 11)
#define HV_X64_ENLIGHTENED_VMCS_RECOMMENDED    (1u << 14)
#define HV_X64_NO_NONARCH_CORESHARING          (1u << 18)
/* HYPERV_CPUID_NESTED_FEATURES */
#define HV_X64_NESTED_MSR_BITMAP               (1u << 19)
#define HV_X64_NESTED_EVMCS1_PERF_GLOBAL_CTRL  (1u << 0)
/* HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES.EAX */
#define HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING (1u << 1)

#define HV_CPUID_NENT 10        /* entries kvm_get_hv_cpuid() reports */
#define HV_KVM_MAX_VCPUS 1024   /* KVM_MAX_VCPUS, what 6.1 puts in IMPLEMENT_LIMITS.EAX */

/*
 * kvm_get_hv_cpuid()'s ten leaves, for a host without eVMCS.  lapic: the
 * vCPU has an in-kernel (here: in-daemon) LAPIC, or there is no vCPU (the
 * system ioctl); smt_possible: cpu_smt_possible() of the host.  Pure.
 */
void hv_cpuid_build(struct kvm_cpuid_entry2 out[HV_CPUID_NENT], bool lapic, bool smt_possible);

/* the host's cpu_smt_possible(), from /sys/devices/system/cpu/smt/control */
bool hv_host_smt_possible(void);

#endif
