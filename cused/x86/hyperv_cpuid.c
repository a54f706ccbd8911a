/* SPDX-License-Identifier: MIT */
/* KVM_GET_SUPPORTED_HV_CPUID's table: Linux 6.1 hyperv.c kvm_get_hv_cpuid() */
#include <stdio.h>
#include <string.h>
#include "cused/x86/hyperv.h"

static void signature(struct kvm_cpuid_entry2 *e, const char sig[12])
{
	memcpy(&e->ebx, sig, 4);
	memcpy(&e->ecx, sig + 4, 4);
	memcpy(&e->edx, sig + 8, 4);
}

void hv_cpuid_build(struct kvm_cpuid_entry2 out[HV_CPUID_NENT], bool lapic, bool smt_possible)
{
	static const uint32_t leaves[HV_CPUID_NENT] = {
		HYPERV_CPUID_VENDOR_AND_MAX_FUNCTIONS, HYPERV_CPUID_INTERFACE,
		HYPERV_CPUID_VERSION, HYPERV_CPUID_FEATURES, HYPERV_CPUID_ENLIGHTMENT_INFO,
		HYPERV_CPUID_IMPLEMENT_LIMITS, HYPERV_CPUID_SYNDBG_VENDOR_AND_MAX_FUNCTIONS,
		HYPERV_CPUID_SYNDBG_INTERFACE, HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES,
		HYPERV_CPUID_NESTED_FEATURES,
	};
	struct kvm_cpuid_entry2 *e;

	memset(out, 0, HV_CPUID_NENT * sizeof(*out));
	for (unsigned i = 0; i < HV_CPUID_NENT; i++)
		out[i].function = leaves[i];

	e = &out[0];
	e->eax = HYPERV_CPUID_SYNDBG_PLATFORM_CAPABILITIES;
	signature(e, "Linux KVM Hv");
	out[1].eax = HYPERV_CPUID_SIGNATURE_EAX;
	/* KVM implements some Hyper-V 2016 functions and says so */
	out[2].eax = 0x00003839;
	out[2].ebx = 0x000A0000;

	e = &out[3];
	e->eax = HV_MSR_VP_RUNTIME_AVAILABLE | HV_MSR_TIME_REF_COUNT_AVAILABLE |
		 HV_MSR_SYNIC_AVAILABLE | HV_MSR_SYNTIMER_AVAILABLE |
		 HV_MSR_APIC_ACCESS_AVAILABLE | HV_MSR_HYPERCALL_AVAILABLE |
		 HV_MSR_VP_INDEX_AVAILABLE | HV_MSR_RESET_AVAILABLE |
		 HV_MSR_REFERENCE_TSC_AVAILABLE | HV_ACCESS_FREQUENCY_MSRS |
		 HV_ACCESS_REENLIGHTENMENT;
	e->ebx = HV_POST_MESSAGES | HV_SIGNAL_EVENTS | HV_DEBUGGING;
	e->edx = HV_X64_HYPERCALL_XMM_INPUT_AVAILABLE | HV_FEATURE_FREQUENCY_MSRS_AVAILABLE |
		 HV_FEATURE_GUEST_CRASH_MSR_AVAILABLE | HV_X64_GUEST_DEBUGGING_AVAILABLE |
		 HV_FEATURE_DEBUG_MSRS_AVAILABLE;
	/* direct synthetic timers only make sense with an in-kernel LAPIC */
	if (lapic)
		e->edx |= HV_STIMER_DIRECT_MODE_AVAILABLE;

	e = &out[4];
	e->eax = HV_X64_REMOTE_TLB_FLUSH_RECOMMENDED | HV_X64_APIC_ACCESS_RECOMMENDED |
		 HV_X64_RELAXED_TIMING_RECOMMENDED | HV_X64_EX_PROCESSOR_MASKS_RECOMMENDED |
		 HV_DEPRECATING_AEOI_RECOMMENDED;
	if (lapic)
		e->eax |= HV_X64_CLUSTER_IPI_RECOMMENDED;
	if (!smt_possible)
		e->eax |= HV_X64_NO_NONARCH_CORESHARING;
	/* default spinlock retry count, as Hyper-V 2016 */
	e->ebx = 0x00000FFF;

	out[5].eax = HV_KVM_MAX_VCPUS;
	out[5].ebx = 64;   /* logical processors, as Hyper-V 2016 */

	signature(&out[6], "Linux KVM Hv");
	memcpy(&out[7].eax, "VS#1", 4);
	out[8].eax = HV_X64_SYNDBG_CAP_ALLOW_KERNEL_DEBUGGING;

	/* no eVMCS (no nested VMX): version 0 */
	out[9].eax = HV_X64_NESTED_MSR_BITMAP;
	out[9].ebx = HV_X64_NESTED_EVMCS1_PERF_GLOBAL_CTRL;
}

bool hv_host_smt_possible(void)
{
	FILE *f = fopen("/sys/devices/system/cpu/smt/control", "r");
	char buf[16] = "";
	bool possible = true;

	if (!f)
		return true;
	if (fgets(buf, sizeof(buf), f) &&
	    (!strncmp(buf, "forceoff", 8) || !strncmp(buf, "notsupported", 12)))
		possible = false;
	fclose(f);
	return possible;
}
