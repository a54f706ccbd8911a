/* SPDX-License-Identifier: MIT */
/* Per-vCPU MSR storage: initial values and the CPUID facts validity depends on */
#include <string.h>
#include "cused/x86/msr.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"

/*
 * The PV features leaf of the first KVM signature leaf, as
 * kvm_update_kvm_cpuid_base + kvm_update_pv_runtime (0x40000000..0x4000ff00
 * in steps of 0x100; Hyper-V may move KVM's up).
 */
uint32_t msr_kvm_pv_features(const struct kvm_cpuid2 *c)
{
	if (!c)
		return 0;
	for (uint32_t base = 0x40000000; base < 0x40010000; base += 0x100) {
		const struct kvm_cpuid_entry2 *e = cpuid_find(c, base, 0);

		if (e && e->ebx == 0x4b4d564b && e->ecx == 0x564b4d56 && e->edx == 0x4d) {
			e = cpuid_find(c, base + 1, 0);
			return e ? e->eax : 0;
		}
	}
	return 0;
}

void msr_file_reset(struct msr_file *mf)
{
	unsigned n;
	const struct msr_desc *t = msr_table(&n);

	memset(mf, 0, sizeof(*mf));
	for (unsigned i = 0; i < n; i++)
		if (t[i].kind == MSR_EMUL)
			for (unsigned k = 0; k < t[i].count; k++)
				mf->val[t[i].slot + k] = t[i].reset;
	mf->mcg_cap = 32;   /* KVM_MAX_MCE_BANKS */
	/* no CPUID yet: KVM treats every guest feature as absent */
	msr_file_set_cpuid(mf, NULL);
}

void msr_file_setup_mce(struct msr_file *mf, uint64_t mcg_cap)
{
	unsigned banks = mcg_cap & 0xff;

	mf->mcg_cap = mcg_cap;
	if (mcg_cap & (1ULL << 8))   /* MCG_CTL_P */
		mf->val[MSLOT_MCG_CTL] = ~0ULL;
	for (unsigned b = 0; b < banks && b < 32; b++)
		mf->val[MSLOT_MC_BANK + 4 * b] = ~0ULL;
}

void msr_file_set_cpuid(struct msr_file *mf, const struct kvm_cpuid2 *c)
{
	mf->guest = (struct msr_guest){
		.maxphyaddr = cpuid_maxphyaddr(c),
		.intel = cpuid_is_intel(c),
		.lm = cpuid_has(c, 0x80000001, 0, CPUID_EDX, CPUID_81_EDX_LM),
		.nx = cpuid_has(c, 0x80000001, 0, CPUID_EDX, CPUID_81_EDX_NX),
		.ffxsr = cpuid_has(c, 0x80000001, 0, CPUID_EDX, CPUID_81_EDX_FFXSR),
		.tsc_aux = cpuid_has(c, 0x80000001, 0, CPUID_EDX, CPUID_81_EDX_RDTSCP) ||
			   cpuid_has(c, 7, 0, CPUID_ECX, CPUID_7_ECX_RDPID),
		.x2apic = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_X2APIC),
		.tsc_adjust = cpuid_has(c, 7, 0, CPUID_EBX, CPUID_7_EBX_TSC_ADJUST),
		.kvm_pv = msr_kvm_pv_features(c),
		.pdcm = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_PDCM),
		.sse3 = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_SSE3),
	};
}
