/* SPDX-License-Identifier: MIT */
/*
 * Architectural bit definitions used by the register, MSR and CPUID policy
 * code.  The kernel's uapi does not export these, so cused keeps its own.
 */
#ifndef CUSED_X86_BITS_H
#define CUSED_X86_BITS_H

#define X86_CR0_PE  (1ULL << 0)
#define X86_CR0_NW  (1ULL << 29)
#define X86_CR0_CD  (1ULL << 30)
#define X86_CR0_PG  (1ULL << 31)

#define X86_CR4_VME        (1ULL << 0)
#define X86_CR4_PVI        (1ULL << 1)
#define X86_CR4_TSD        (1ULL << 2)
#define X86_CR4_DE         (1ULL << 3)
#define X86_CR4_PSE        (1ULL << 4)
#define X86_CR4_PAE        (1ULL << 5)
#define X86_CR4_MCE        (1ULL << 6)
#define X86_CR4_PGE        (1ULL << 7)
#define X86_CR4_PCE        (1ULL << 8)
#define X86_CR4_OSFXSR     (1ULL << 9)
#define X86_CR4_OSXMMEXCPT (1ULL << 10)
#define X86_CR4_UMIP       (1ULL << 11)
#define X86_CR4_LA57       (1ULL << 12)
#define X86_CR4_VMXE       (1ULL << 13)
#define X86_CR4_FSGSBASE   (1ULL << 16)
#define X86_CR4_PCIDE      (1ULL << 17)
#define X86_CR4_OSXSAVE    (1ULL << 18)
#define X86_CR4_SMEP       (1ULL << 20)
#define X86_CR4_SMAP       (1ULL << 21)
#define X86_CR4_PKE        (1ULL << 22)

#define EFER_SCE   (1ULL << 0)
#define EFER_LME   (1ULL << 8)
#define EFER_LMA   (1ULL << 10)
#define EFER_NX    (1ULL << 11)
#define EFER_SVME  (1ULL << 12)
#define EFER_FFXSR (1ULL << 14)

#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_EXTD   (1ULL << 10)   /* x2APIC mode */
#define APIC_BASE_ENABLE (1ULL << 11)

/* CPUID feature bits: leaf, register, bit */
#define CPUID_1_ECX_SSE3      (1u << 0)
#define MISC_ENABLE_MWAIT     (1ULL << 18)   /* IA32_MISC_ENABLE: MONITOR/MWAIT enabled */
#define CPUID_1_ECX_MONITOR   (1u << 3)
#define CPUID_1_ECX_SSSE3     (1u << 9)
#define CPUID_1_ECX_SSE4_1    (1u << 19)
#define CPUID_1_ECX_SSE4_2    (1u << 20)
#define CPUID_1_ECX_POPCNT    (1u << 23)
#define CPUID_1_ECX_VMX       (1u << 5)
#define CPUID_1_ECX_PDCM      (1u << 15)
#define CPUID_1_ECX_PCID      (1u << 17)
#define CPUID_1_ECX_X2APIC    (1u << 21)
#define CPUID_1_ECX_TSC_DEADLINE (1u << 24)
#define CPUID_1_ECX_XSAVE     (1u << 26)
#define CPUID_1_ECX_OSXSAVE   (1u << 27)
#define CPUID_1_ECX_HYPERVISOR (1u << 31)
#define CPUID_1_EDX_APIC      (1u << 9)
#define CPUID_7_EBX_FSGSBASE  (1u << 0)
#define CPUID_7_EBX_TSC_ADJUST (1u << 1)
#define CPUID_7_EBX_SMEP      (1u << 7)
#define CPUID_7_EBX_MPX       (1u << 14)
#define CPUID_7_EBX_SMAP      (1u << 20)
#define CPUID_7_EBX_INTEL_PT  (1u << 25)
#define CPUID_7_ECX_UMIP      (1u << 2)
#define CPUID_7_ECX_PKU       (1u << 3)
#define CPUID_7_ECX_OSPKE     (1u << 4)
#define CPUID_7_ECX_WAITPKG   (1u << 5)
#define CPUID_7_ECX_LA57      (1u << 16)
#define CPUID_7_ECX_RDPID     (1u << 22)
#define CPUID_7_EDX_AMX_BF16  (1u << 22)
#define CPUID_7_EDX_AMX_TILE  (1u << 24)
#define CPUID_7_EDX_AMX_INT8  (1u << 25)
#define CPUID_7_EDX_SPEC_CTRL (1u << 26)
#define CPUID_7_EDX_STIBP     (1u << 27)
#define CPUID_7_EDX_FLUSH_L1D (1u << 28)
#define CPUID_7_EDX_ARCH_CAPS (1u << 29)
#define CPUID_7_EDX_CORE_CAPS (1u << 30)
#define CPUID_7_EDX_SSBD      (1u << 31)
#define CPUID_D1_EAX_XSAVES   (1u << 3)
#define CPUID_D1_EAX_XFD      (1u << 4)
#define CPUID_81_ECX_SVM      (1u << 2)
#define CPUID_81_ECX_PERFCTR_CORE (1u << 23)
#define CPUID_81_EDX_NX       (1u << 20)
#define CPUID_81_EDX_RDTSCP   (1u << 27)
#define CPUID_81_EDX_LM       (1u << 29)
#define CPUID_81_EDX_FFXSR    (1u << 25)   /* FXSR_OPT */
#define CPUID_88_EBX_IBPB     (1u << 12)
#define CPUID_88_EBX_IBRS     (1u << 14)
#define CPUID_88_EBX_STIBP    (1u << 15)
#define CPUID_88_EBX_AMD_SSBD (1u << 24)
#define CPUID_88_EBX_VIRT_SSBD (1u << 25)

/* XCR0 components that need XFD (dynamic) or are not offered */
#define XFEATURE_XTILE_CFG  (1ULL << 17)
#define XFEATURE_XTILE_DATA (1ULL << 18)

#endif
