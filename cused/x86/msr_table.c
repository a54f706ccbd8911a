/* SPDX-License-Identifier: MIT */
/*
 * Every MSR cused implements, sorted by index.  Reset values are KVM's at
 * vCPU creation (kvm_arch_vcpu_create + kvm_vcpu_reset, Linux 6.1).  Field
 * MSRs' reset values are what the backend must start with; the daemon does
 * not write them.
 */
#include <stddef.h>
#include "cused/x86/msr.h"
#include "cused/tramp_abi.h"

#define FIELD(idx, f, rst, nm, rl, fl) \
	{ .index = idx, .count = 1, .kind = MSR_FIELD, .field = f, .reset = rst, \
	  .name = nm, .rule = rl, .flags = fl }
#define EMUL(idx, n, sl, rst, nm, rl, fl) \
	{ .index = idx, .count = n, .slot = sl, .kind = MSR_EMUL, .reset = rst, \
	  .name = nm, .rule = rl, .flags = fl }
/* KVM PV MSR behind KVM_FEATURE_<feat>; listed, as in KVM's emulated_msrs */
#define KVMPV(idx, sl, rst, nm, rl, feat) \
	{ .index = idx, .count = 1, .slot = sl, .kind = MSR_EMUL, .reset = rst, \
	  .name = nm, .rule = rl, .flags = MSRF_LISTED | MSRF_KVM_PV, .pv_feature = feat }
#define CONST(idx, val, nm) \
	{ .index = idx, .count = 1, .kind = MSR_CONST, .reset = val, .name = nm }

#define KVM_MCE_BANKS 32       /* KVM_MAX_MCE_BANKS: KVM's MCG_CAP until KVM_X86_SETUP_MCE */
#define KVM_NR_VAR_MTRR 8

static const struct msr_desc table[] = {
	CONST(0x00000000, 0, "P5_MC_ADDR"),
	CONST(0x00000001, 0, "P5_MC_TYPE"),
	FIELD(0x00000010, CUSED_F_TSC, 0, "TSC", MSRR_TSC, MSRF_LISTED),
	/*
	 * kvmclock's original MSRs; the old and new (0x4b564d0x) pairs share
	 * their values as in KVM.  Writes of system time (re)place the
	 * pvclock page and of the wall clock write it (cused/kvm/kvmclock.c).
	 */
	KVMPV(0x00000011, MSLOT_KVM_WALL_CLOCK, 0, "KVM_WALL_CLOCK", MSRR_KVM_CLOCK,
	      KVM_PV_CLOCKSOURCE),
	KVMPV(0x00000012, MSLOT_KVM_SYSTEM_TIME, 0, "KVM_SYSTEM_TIME", MSRR_KVM_CLOCK,
	      KVM_PV_CLOCKSOURCE),
	/* no in-kernel LAPIC: KVM leaves the base 0 until userspace sets it */
	FIELD(0x0000001b, CUSED_F_APIC_BASE, 0, "APIC_BASE", MSRR_APIC_BASE, 0),
	EMUL(0x0000003a, 1, MSLOT_FEAT_CTL, 0, "FEATURE_CONTROL", MSRR_FEAT_CTL, MSRF_LISTED),
	EMUL(0x0000003b, 1, MSLOT_TSC_ADJUST, 0, "TSC_ADJUST", MSRR_TSC_ADJUST, MSRF_LISTED),
	/* KVM's made-up revision for Intel-style guests */
	EMUL(0x0000008b, 1, MSLOT_UCODE_REV, 0x100000000ULL, "UCODE_REV", MSRR_UCODE_REV,
	     MSRF_LISTED),
	/*
	 * KVM starts with CPUID_FAULT (bit 31) set; cused cannot fault CPUID
	 * on every backend (hostkvm's host answers CPUID itself), so it
	 * does not claim the feature.
	 */
	EMUL(0x000000ce, 1, MSLOT_PLATFORM_INFO, 0, "PLATFORM_INFO", MSRR_PLATFORM_INFO,
	     MSRF_LISTED),
	/* SMRR=0 WC=1 FIX=1 VCNT=8, as kvm_mtrr_get_msr */
	CONST(0x000000fe, 0x500 | KVM_NR_VAR_MTRR, "MTRRcap"),
	EMUL(0x00000140, 1, MSLOT_MISC_FEATURES, 0, "MISC_FEATURES_ENABLES", MSRR_MISC_FEATURES,
	     MSRF_LISTED),
	FIELD(0x00000174, CUSED_F_SYSENTER_CS, 0, "SYSENTER_CS", MSRR_PLAIN, MSRF_LISTED),
	FIELD(0x00000175, CUSED_F_SYSENTER_ESP, 0, "SYSENTER_ESP", MSRR_CANONICALIZE, MSRF_LISTED),
	FIELD(0x00000176, CUSED_F_SYSENTER_EIP, 0, "SYSENTER_EIP", MSRR_CANONICALIZE, MSRF_LISTED),
	{ .index = 0x00000179, .count = 1, .kind = MSR_CONST, .reset = KVM_MCE_BANKS,
	  .name = "MCG_CAP", .rule = MSRR_MCG_CAP },
	EMUL(0x0000017a, 1, MSLOT_MCG_STATUS, 0, "MCG_STATUS", MSRR_MCG_STATUS, MSRF_LISTED),
	EMUL(0x0000017b, 1, MSLOT_MCG_CTL, 0, "MCG_CTL", MSRR_MCG_CTL, MSRF_LISTED),
	/* PEBS_UNAVAIL | BTS_UNAVAIL, as kvm_vcpu_reset */
	EMUL(0x000001a0, 1, MSLOT_MISC_ENABLE, 0x1800, "MISC_ENABLE", MSRR_MISC_ENABLE,
	     MSRF_LISTED),
	/*
	 * KVM keeps whatever is written (vcpu->arch.msr_ia32_power_ctl) and
	 * lists it; guests (and userspace_msr_exit_test) expect it handled
	 * in the kernel, not as an unknown-MSR exit.
	 */
	EMUL(0x000001fc, 1, MSLOT_POWER_CTL, 0, "POWER_CTL", MSRR_PLAIN, MSRF_LISTED),
	EMUL(0x00000200, 2 * KVM_NR_VAR_MTRR, MSLOT_MTRR_VAR, 0, "MTRRphysBase/Mask",
	     MSRR_MTRR_VAR, 0),
	EMUL(0x00000250, 1, MSLOT_MTRR_FIX64K, 0, "MTRRfix64K_00000", MSRR_MTRR_FIX, 0),
	EMUL(0x00000258, 1, MSLOT_MTRR_FIX16K_80000, 0, "MTRRfix16K_80000", MSRR_MTRR_FIX, 0),
	EMUL(0x00000259, 1, MSLOT_MTRR_FIX16K_A0000, 0, "MTRRfix16K_A0000", MSRR_MTRR_FIX, 0),
	EMUL(0x00000268, 8, MSLOT_MTRR_FIX4K, 0, "MTRRfix4K", MSRR_MTRR_FIX, 0),
	FIELD(0x00000277, CUSED_F_PAT, 0x0007040600070406ULL, "PAT", MSRR_PAT, MSRF_LISTED),
	EMUL(0x00000280, KVM_MCE_BANKS, MSLOT_MC_CTL2, 0, "MCi_CTL2", MSRR_MC_CTL2, 0),
	EMUL(0x000002ff, 1, MSLOT_MTRR_DEF, 0, "MTRRdefType", MSRR_MTRR_DEF, 0),
	/*
	 * KVM lists it on both vendors (emulated_msrs) with the value
	 * kvm_caps.supported_perf_cap, 0 without a guest PMU, which cused
	 * never offers; it is a feature MSR too (system.c).
	 */
	EMUL(0x00000345, 1, MSLOT_PERF_CAPS, 0, "PERF_CAPABILITIES", MSRR_PERF_CAPS, MSRF_LISTED),
	EMUL(0x00000400, 4 * KVM_MCE_BANKS, MSLOT_MC_BANK, 0, "MCi_CTL/STATUS/ADDR/MISC",
	     MSRR_MC_BANK, 0),
	/* KVM lists it (emulated_msrs); with a LAPIC vcpu_irq.c answers before this table */
	EMUL(0x000006e0, 1, MSLOT_TSC_DEADLINE, 0, "TSC_DEADLINE", MSRR_TSC_DEADLINE, MSRF_LISTED),
	KVMPV(0x4b564d00, MSLOT_KVM_WALL_CLOCK, 0, "KVM_WALL_CLOCK_NEW", MSRR_KVM_CLOCK,
	      KVM_PV_CLOCKSOURCE2),
	KVMPV(0x4b564d01, MSLOT_KVM_SYSTEM_TIME, 0, "KVM_SYSTEM_TIME_NEW", MSRR_KVM_CLOCK,
	      KVM_PV_CLOCKSOURCE2),
	/*
	 * PV features cused does not offer in CPUID (no async PF, steal time,
	 * PV EOI or halt polling): the values are kept with KVM's checks and
	 * have no effect, which is all a guest told nothing may expect.
	 */
	KVMPV(0x4b564d02, MSLOT_KVM_ASYNC_PF_EN, 0, "KVM_ASYNC_PF_EN", MSRR_KVM_ASYNC_PF_EN,
	      KVM_PV_ASYNC_PF),
	KVMPV(0x4b564d03, MSLOT_KVM_STEAL_TIME, 0, "KVM_STEAL_TIME", MSRR_KVM_STEAL_TIME,
	      KVM_PV_STEAL_TIME),
	KVMPV(0x4b564d04, MSLOT_KVM_PV_EOI, 0, "KVM_PV_EOI_EN", MSRR_KVM_PV_EOI, KVM_PV_PV_EOI),
	/* kvm_arch_vcpu_create: polling allowed */
	KVMPV(0x4b564d05, MSLOT_KVM_POLL_CONTROL, 1, "KVM_POLL_CONTROL", MSRR_KVM_POLL_CONTROL,
	      KVM_PV_POLL_CONTROL),
	KVMPV(0x4b564d06, MSLOT_KVM_ASYNC_PF_INT, 0, "KVM_ASYNC_PF_INT", MSRR_KVM_ASYNC_PF_INT,
	      KVM_PV_ASYNC_PF_INT),
	KVMPV(0x4b564d07, MSLOT_KVM_ASYNC_PF_ACK, 0, "KVM_ASYNC_PF_ACK", MSRR_KVM_ASYNC_PF_ACK,
	      KVM_PV_ASYNC_PF_INT),
	FIELD(0xc0000080, CUSED_F_EFER, 0, "EFER", MSRR_EFER, 0),
	FIELD(0xc0000081, CUSED_F_STAR, 0, "STAR", MSRR_PLAIN, MSRF_LISTED),
	FIELD(0xc0000082, CUSED_F_LSTAR, 0, "LSTAR", MSRR_CANONICAL, MSRF_LISTED),
	FIELD(0xc0000083, CUSED_F_CSTAR, 0, "CSTAR", MSRR_CANONICAL, MSRF_LISTED),
	FIELD(0xc0000084, CUSED_F_SFMASK, 0, "SFMASK", MSRR_PLAIN, MSRF_LISTED),
	FIELD(0xc0000100, CUSED_F_SEG(CUSED_SEG_FS, CUSED_SEGP_BASE), 0, "FS_BASE",
	      MSRR_CANONICAL, 0),
	FIELD(0xc0000101, CUSED_F_SEG(CUSED_SEG_GS, CUSED_SEGP_BASE), 0, "GS_BASE",
	      MSRR_CANONICAL, 0),
	FIELD(0xc0000102, CUSED_F_KERNEL_GS_BASE, 0, "KERNEL_GS_BASE", MSRR_CANONICAL,
	      MSRF_LISTED),
	FIELD(0xc0000103, CUSED_F_TSC_AUX, 0, "TSC_AUX", MSRR_TSC_AUX, MSRF_LISTED),
};
#define TABLE_N (sizeof(table) / sizeof(table[0]))

_Static_assert(MSLOT_MC_BANK + 4 * KVM_MCE_BANKS == MSLOT_TSC_DEADLINE, "MC bank slots");

const struct msr_desc *msr_table(unsigned *n)
{
	*n = TABLE_N;
	return table;
}

const struct msr_desc *msr_find(uint32_t index)
{
	size_t lo = 0, hi = TABLE_N;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct msr_desc *d = &table[mid];

		if (index < d->index)
			hi = mid;
		else if (index - d->index >= d->count)
			lo = mid + 1;
		else
			return d;
	}
	return NULL;
}

unsigned msr_index_list(uint32_t *out, unsigned max)
{
	unsigned n = 0;

	for (size_t i = 0; i < TABLE_N; i++) {
		if (!(table[i].flags & MSRF_LISTED))
			continue;
		for (uint32_t k = 0; k < table[i].count; k++, n++)
			if (out && n < max)
				out[n] = table[i].index + k;
	}
	return n;
}
