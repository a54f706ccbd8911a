/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_SUPPORTED_CPUID policy.  Every guest RDMSR/WRMSR is answered by
 * the daemon's MSR table (msr.c), so a feature whose MSRs that table does not
 * implement must not be offered: the guest would take #GP where real hardware
 * (and KVM) would not.
 */
#include <errno.h>
#include <string.h>
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"

struct cpuid_mask {
	uint32_t function, index;
	enum cpuid_reg reg;
	uint32_t clear, set;
};

static const struct cpuid_mask policy[] = {
	/*
	 * x2APIC is the daemon's LAPIC's, so it is offered whatever the silicon
	 * has (KVM: "emulates x2apic in software irrespective of host
	 * support"; QEMU's TCG SVM, which runs the kmod backend here, has
	 * none).  The TSC deadline timer is the silicon's answer, as in KVM.
	 * VMX: no nested.  MONITOR/MWAIT and OSXSAVE are never "supported" in
	 * KVM either (the latter mirrors CR4 at run time).  PDCM needs
	 * PERF_CAPABILITIES.
	 */
	{ 1, 0, CPUID_ECX, CPUID_1_ECX_VMX |
			   CPUID_1_ECX_MONITOR | CPUID_1_ECX_OSXSAVE | CPUID_1_ECX_PDCM,
	  CPUID_1_ECX_HYPERVISOR | CPUID_1_ECX_X2APIC },
	/*
	 * MPX needs BNDCFGS, PT the RTIT MSRs, WAITPKG UMWAIT_CONTROL.
	 * TSC_ADJUST is the daemon's MSR whatever the silicon (KVM sets it
	 * unconditionally; AMD parts, QEMU's TCG SVM among them, have none).
	 */
	{ 7, 0, CPUID_EBX, CPUID_7_EBX_MPX | CPUID_7_EBX_INTEL_PT, CPUID_7_EBX_TSC_ADJUST },
	{ 7, 0, CPUID_ECX, CPUID_7_ECX_WAITPKG, 0 },
	/*
	 * Speculation controls are MSRs (SPEC_CTRL, PRED_CMD, FLUSH_CMD,
	 * ARCH_CAPABILITIES, CORE_CAPABILITIES) that would have to reach the
	 * hardware to mean anything; AMX needs XFD.
	 */
	{ 7, 0, CPUID_EDX, CPUID_7_EDX_SPEC_CTRL | CPUID_7_EDX_STIBP | CPUID_7_EDX_FLUSH_L1D |
			   CPUID_7_EDX_ARCH_CAPS | CPUID_7_EDX_CORE_CAPS | CPUID_7_EDX_SSBD |
			   CPUID_7_EDX_AMX_BF16 | CPUID_7_EDX_AMX_TILE | CPUID_7_EDX_AMX_INT8, 0 },
	/* no PMU MSRs: architectural PMU version 0 */
	{ 0xa, 0, CPUID_EAX, ~0u, 0 }, { 0xa, 0, CPUID_EBX, ~0u, 0 },
	{ 0xa, 0, CPUID_ECX, ~0u, 0 }, { 0xa, 0, CPUID_EDX, ~0u, 0 },
	/* XSAVES needs IA32_XSS, XFD the XFD MSRs */
	{ 0xd, 1, CPUID_EAX, CPUID_D1_EAX_XSAVES | CPUID_D1_EAX_XFD, 0 },
	{ 0xd, 1, CPUID_ECX, ~0u, 0 }, { 0xd, 1, CPUID_EDX, ~0u, 0 },
	{ 0x80000001, 0, CPUID_ECX, CPUID_81_ECX_SVM | CPUID_81_ECX_PERFCTR_CORE, 0 },
	{ 0x80000008, 0, CPUID_EBX, CPUID_88_EBX_IBPB | CPUID_88_EBX_IBRS | CPUID_88_EBX_STIBP |
				    CPUID_88_EBX_AMD_SSBD | CPUID_88_EBX_VIRT_SSBD, 0 },
};

static uint32_t *reg_of(struct kvm_cpuid_entry2 *e, enum cpuid_reg reg)
{
	switch (reg) {
	case CPUID_EAX: return &e->eax;
	case CPUID_EBX: return &e->ebx;
	case CPUID_ECX: return &e->ecx;
	default:        return &e->edx;
	}
}

/* an entry without a significant index is sub-leaf 0 for policy purposes */
static bool entry_matches(const struct kvm_cpuid_entry2 *e, uint32_t function, uint32_t index)
{
	uint32_t ei = (e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX) ? e->index : 0;

	return e->function == function && ei == index;
}

static void apply_masks(struct kvm_cpuid_entry2 *e)
{
	for (size_t i = 0; i < sizeof(policy) / sizeof(policy[0]); i++) {
		const struct cpuid_mask *m = &policy[i];
		uint32_t *r;

		if (!entry_matches(e, m->function, m->index))
			continue;
		r = reg_of(e, m->reg);
		*r = (*r & ~m->clear) | m->set;
	}
}

/* XCR0 components the guest may enable: the host's, minus dynamic (AMX) ones */
static uint64_t xcr0_offered(const struct kvm_cpuid2 *host)
{
	const struct kvm_cpuid_entry2 *e = cpuid_find(host, 0xd, 0);

	if (!e)
		return 0;
	return (e->eax | (uint64_t)e->edx << 32) & ~(XFEATURE_XTILE_CFG | XFEATURE_XTILE_DATA);
}

/*
 * Leaves the guest must not see: the host's hypervisor leaves (cused adds
 * its own, pv_leaves), and XSAVE component sub-leaves for components not
 * offered.
 */
static bool drop_entry(const struct kvm_cpuid_entry2 *e, uint64_t xcr0)
{
	if (e->function >= 0x40000000 && e->function <= 0x4fffffff)
		return true;
	if (e->function == 0xd && e->index >= 2 && e->index < 64)
		return !(xcr0 & (1ULL << e->index));
	return false;
}

/*
 * KVM's signature and PV features leaves, last as in KVM's table.  Only the
 * features the daemon implements: kvmclock (cused/kvm/kvmclock.c) and the
 * I/O-delay hint, which needs nothing.  No async PF, steal time, PV EOI,
 * PV unhalt/IPI/yield/TLB flush or poll control: their MSRs and hypercalls
 * would need the daemon's scheduler and LAPIC in the host's hypercall path.
 */
static const struct kvm_cpuid_entry2 pv_leaves[] = {
	{ .function = CPUID_KVM_SIGNATURE, .eax = CPUID_KVM_FEATURES,
	  .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d },   /* "KVMKVMKVM\0\0\0" */
	{ .function = CPUID_KVM_FEATURES, .eax = CPUID_KVM_PV_OFFERED },
};
#define PV_LEAVES (sizeof(pv_leaves) / sizeof(pv_leaves[0]))

int cpuid_supported(const struct kvm_cpuid2 *host, struct kvm_cpuid2 *out, uint32_t max)
{
	uint64_t xcr0 = xcr0_offered(host);
	uint32_t n = PV_LEAVES;

	for (uint32_t i = 0; i < host->nent; i++)
		n += !drop_entry(&host->entries[i], xcr0);
	if (n > max)
		return -E2BIG;

	n = 0;
	for (uint32_t i = 0; i < host->nent; i++) {
		struct kvm_cpuid_entry2 *e;

		if (drop_entry(&host->entries[i], xcr0))
			continue;
		e = &out->entries[n++];
		*e = host->entries[i];
		apply_masks(e);
		if (e->function == 0xd && e->index == 0) {
			e->eax = (uint32_t)xcr0;
			e->edx = (uint32_t)(xcr0 >> 32);
		}
	}
	for (size_t i = 0; i < PV_LEAVES; i++)
		out->entries[n++] = pv_leaves[i];
	out->nent = n;
	return 0;
}

void cpuid_offer_native(struct kvm_cpuid2 *sup, uint32_t native_1_ecx)
{
	const uint32_t v2 = CPUID_1_ECX_SSE3 | CPUID_1_ECX_SSSE3 | CPUID_1_ECX_SSE4_1 |
			    CPUID_1_ECX_SSE4_2 | CPUID_1_ECX_POPCNT;

	for (uint32_t i = 0; i < sup->nent; i++)
		if (entry_matches(&sup->entries[i], 1, 0))
			sup->entries[i].ecx |= native_1_ecx & v2;
}
