/* SPDX-License-Identifier: MIT */
/*
 * The daemon's MSR table.  Every MSR cused implements has one const
 * descriptor; a guest RDMSR/WRMSR and a client's KVM_GET/SET_MSRS both go
 * through msr_read()/msr_write(), so the two paths cannot disagree.
 */
#ifndef CUSED_X86_MSR_H
#define CUSED_X86_MSR_H

#include <stdbool.h>
#include <stdint.h>

struct kvm_cpuid2;

enum msr_kind {
	MSR_FIELD,   /* value lives in a trampoline field (desc->field) */
	MSR_EMUL,    /* value kept per vCPU by the daemon (struct msr_file) */
	MSR_CONST,   /* read-only constant (desc->reset) */
};

/* per-MSR behaviour beyond its kind; see msr.c */
enum msr_rule {
	MSRR_PLAIN,        /* any value */
	MSRR_CANONICAL,    /* non-canonical address -> -EINVAL */
	MSRR_CANONICALIZE, /* sign-extended to a canonical address (SYSENTER_ESP/EIP) */
	MSRR_EFER, MSRR_APIC_BASE, MSRR_PAT, MSRR_TSC, MSRR_TSC_AUX, MSRR_TSC_ADJUST,
	MSRR_MISC_ENABLE, MSRR_FEAT_CTL, MSRR_UCODE_REV, MSRR_PLATFORM_INFO,
	MSRR_MISC_FEATURES, MSRR_MTRR_DEF, MSRR_MTRR_FIX, MSRR_MTRR_VAR,
	MSRR_MCG_STATUS, MSRR_MCG_CTL, MSRR_MC_BANK, MSRR_MC_CTL2,
	MSRR_MCG_CAP,      /* MSR_CONST whose value is the vCPU's mcg_cap */
	MSRR_TSC_DEADLINE,  /* no LAPIC: reads 0, writes ignored (the LAPIC's own path is vcpu_irq.c) */
	MSRR_KVM_CLOCK,     /* kvmclock's wall-clock / system-time MSRs, old and new (msr.c) */
	MSRR_KVM_ASYNC_PF_EN, MSRR_KVM_ASYNC_PF_INT, MSRR_KVM_ASYNC_PF_ACK,
	MSRR_KVM_STEAL_TIME, MSRR_KVM_PV_EOI, MSRR_KVM_POLL_CONTROL,
	MSRR_PERF_CAPS,     /* no PMU: only the host writes it, only 0; guest reads need PDCM */
};

#define MSRF_LISTED 1u   /* in KVM_GET_MSR_INDEX_LIST (KVM lists it too) */
#define MSRF_KVM_PV 2u   /* a KVM PV MSR: absent for both sides when guest_pv_has() says so */

/* storage slots of MSR_EMUL values in struct msr_file */
enum msr_slot {
	MSLOT_FEAT_CTL, MSLOT_TSC_ADJUST, MSLOT_UCODE_REV, MSLOT_PLATFORM_INFO,
	MSLOT_MISC_FEATURES, MSLOT_MCG_STATUS, MSLOT_MCG_CTL, MSLOT_MISC_ENABLE,
	MSLOT_MTRR_VAR,                          /* 8 base/mask pairs */
	MSLOT_MTRR_FIX64K = MSLOT_MTRR_VAR + 16,
	MSLOT_MTRR_FIX16K_80000, MSLOT_MTRR_FIX16K_A0000,
	MSLOT_MTRR_FIX4K,                        /* 8 */
	MSLOT_MC_CTL2 = MSLOT_MTRR_FIX4K + 8,    /* one per bank */
	MSLOT_MTRR_DEF = MSLOT_MC_CTL2 + 32,
	MSLOT_MC_BANK,                           /* CTL STATUS ADDR MISC per bank */
	MSLOT_TSC_DEADLINE = MSLOT_MC_BANK + 4 * 32,   /* stays 0 */
	MSLOT_KVM_WALL_CLOCK,    /* used when msr_file.wall_clock is NULL */
	MSLOT_KVM_SYSTEM_TIME,
	MSLOT_KVM_ASYNC_PF_EN, MSLOT_KVM_ASYNC_PF_INT, MSLOT_KVM_ASYNC_PF_ACK,
	MSLOT_KVM_STEAL_TIME, MSLOT_KVM_PV_EOI, MSLOT_KVM_POLL_CONTROL,
	MSLOT_POWER_CTL,
	MSLOT_PERF_CAPS,
	MSLOT_NR,
};

struct msr_desc {
	uint32_t index;
	uint16_t count;     /* consecutive indexes sharing this descriptor */
	uint16_t slot;      /* MSR_EMUL: enum msr_slot of the first index */
	enum msr_kind kind;
	uint32_t field;     /* MSR_FIELD: CUSED_F_* */
	uint64_t reset;     /* value at vCPU creation (MSR_CONST: the value) */
	const char *name;
	enum msr_rule rule;
	uint32_t flags;     /* MSRF_* */
	uint8_t pv_feature; /* MSRF_KVM_PV: its KVM_FEATURE_* bit in CPUID 0x40000001 EAX */
};

/* descriptor covering index, or NULL */
const struct msr_desc *msr_find(uint32_t index);
/* the table itself, sorted by index, for tests and diagnostics */
const struct msr_desc *msr_table(unsigned *n);
/* KVM_GET_MSR_INDEX_LIST: sorted; returns the total even if > max */
unsigned msr_index_list(uint32_t *out, unsigned max);

/* what the guest's CPUID says, as far as MSR validity depends on it */
struct msr_guest {
	unsigned maxphyaddr;
	bool intel;             /* TSC_AUX bits 63:32 reserved */
	bool lm, nx, ffxsr;     /* EFER bits the guest may set */
	bool tsc_aux;           /* RDTSCP or RDPID */
	bool x2apic;
	bool tsc_adjust;
	uint32_t kvm_pv;        /* EAX of the KVM PV features leaf (0: none), as kvm_update_pv_runtime */
	bool pdcm;              /* PERF_CAPABILITIES readable by the guest */
	bool sse3;              /* MISC_ENABLE.MWAIT may change (without the quirk) */
};

struct msr_file {
	uint64_t val[MSLOT_NR];
	struct msr_guest guest;
	/* IA32_MCG_CAP: KVM's 32 banks, no MCG_CTL_P, until KVM_X86_SETUP_MCE */
	uint64_t mcg_cap;
	/* the VM's KVM_CAP_MSR_PLATFORM_INFO setting; NULL: the guest may read it */
	const bool *platform_info_readable;
	/* MSR_KVM_WALL_CLOCK is the VM's in KVM (kvm->arch.wall_clock); NULL: per file */
	uint64_t *wall_clock;
	/* the vCPU's KVM_CAP_ENFORCE_PV_FEATURE_CPUID; NULL: not enforced */
	const bool *pv_enforce;
	/* the VM's KVM_CAP_DISABLE_QUIRKS2 bits; NULL: every quirk on */
	const uint64_t *disabled_quirks;
	/*
	 * Set by a write KVM mirrors into the guest's CPUID (MISC_ENABLE.MWAIT
	 * changed without the MISC_ENABLE_NO_MWAIT quirk); the vCPU layer
	 * updates its table (cpuid_runtime_mwait) and clears it.
	 */
	bool cpuid_stale;
};

/* KVM_FEATURE_* bits of CPUID 0x40000001 EAX (arch/x86/include/uapi/asm/kvm_para.h) */
#define KVM_PV_CLOCKSOURCE        0
#define KVM_PV_CLOCKSOURCE2       3
#define KVM_PV_ASYNC_PF           4
#define KVM_PV_STEAL_TIME         5
#define KVM_PV_PV_EOI             6
#define KVM_PV_ASYNC_PF_VMEXIT    10
#define KVM_PV_POLL_CONTROL       12
#define KVM_PV_ASYNC_PF_INT       14
#define KVM_PV_CLOCKSOURCE_STABLE 24

/* guest_pv_has(): without KVM_CAP_ENFORCE_PV_FEATURE_CPUID every PV feature counts as present */
bool msr_guest_pv_has(const struct msr_file *mf, unsigned feature);
/* the EAX of the KVM PV features leaf of a CPUID table (0 if it has none) */
uint32_t msr_kvm_pv_features(const struct kvm_cpuid2 *c);

/* at vCPU creation: KVM's initial values, and "no CPUID set" */
void msr_file_reset(struct msr_file *mf);
/*
 * KVM_X86_SETUP_MCE with an already validated mcg_cap: the bank count and
 * MCG_CTL_P take effect, MCG_CTL and every present MCi_CTL become all ones.
 */
void msr_file_setup_mce(struct msr_file *mf, uint64_t mcg_cap);
/* after KVM_SET_CPUID2: re-derive the CPUID-dependent validity rules */
void msr_file_set_cpuid(struct msr_file *mf, const struct kvm_cpuid2 *c);

struct msr_io {
	int (*read_field)(void *ctx, uint32_t field, uint64_t *v);
	int (*write_field)(void *ctx, uint32_t field, uint64_t v);
	/*
	 * A host-initiated IA32_TSC write (kvm_synchronize_tsc: a value close to
	 * the VM's other TSCs joins them); NULL: write_field like the guest's.
	 */
	int (*tsc_host_write)(void *ctx, uint64_t v);
	void *ctx;
};

/*
 * host_initiated: from KVM_GET/SET_MSRS, which may read and write some state
 * a guest may not, as KVM allows.  Errors: -ENOENT unknown MSR, -EINVAL
 * invalid value, -EPERM an access this side may not make (guest write of a
 * read-only MSR, feature absent from the guest's CPUID), or the msr_io
 * error.  On the guest path the caller injects #GP for any error.
 */
int msr_read(struct msr_file *mf, const struct msr_io *io, uint32_t index, uint64_t *val,
	     bool host_initiated);
int msr_write(struct msr_file *mf, const struct msr_io *io, uint32_t index, uint64_t val,
	      bool host_initiated);

#endif
