/* SPDX-License-Identifier: MIT */
/*
 * Guest and host MSR accesses, with the validity rules of Linux 6.1
 * (x86.c __kvm_set_msr / kvm_set_msr_common / kvm_get_msr_common, mtrr.c,
 * vmx.c for FEATURE_CONTROL) for the MSRs in msr_table.c.
 */
#include <errno.h>
#include <linux/kvm.h>
#include "cused/x86/msr.h"
#include "cused/x86/msr_values.h"
#include "cused/x86/x86_bits.h"
#include "cused/tramp_abi.h"

#define FEAT_CTL_LOCKED          (1ULL << 0)
#define MISC_ENABLE_EMON         (1ULL << 7)
#define MISC_ENABLE_PMU_RO_MASK  ((1ULL << 11) | (1ULL << 12))   /* BTS/PEBS unavailable */

#define PLATFORM_INFO_CPUID_FAULT (1ULL << 31)
#define EFER_KNOWN (EFER_SCE | EFER_LME | EFER_LMA | EFER_NX | EFER_FFXSR)
#define MCG_CTL_P                (1ULL << 8)
#define MCG_CMCI_P               (1ULL << 10)

/* MCi_CTL2 and MCi_CTL/STATUS/ADDR/MISC exist only for the banks MCG_CAP has */
static bool mce_bank_absent(const struct msr_file *mf, const struct msr_desc *d, uint32_t index)
{
	unsigned banks = mf->mcg_cap & 0xff;

	if (d->rule == MSRR_MC_CTL2)
		return index - d->index >= banks;
	if (d->rule == MSRR_MC_BANK)
		return index - d->index >= 4 * banks;
	return false;
}

static uint64_t *slot(struct msr_file *mf, const struct msr_desc *d, uint32_t index)
{
	if (d->slot == MSLOT_KVM_WALL_CLOCK && mf->wall_clock)
		return mf->wall_clock;
	return &mf->val[d->slot + (index - d->index)];
}

bool msr_guest_pv_has(const struct msr_file *mf, unsigned feature)
{
	if (!mf->pv_enforce || !*mf->pv_enforce)
		return true;
	return feature < 32 && (mf->guest.kvm_pv & (1u << feature));
}

/* KVM_MSR_RET_UNSUPPORTED for both sides: an unknown MSR (user-space exit reason UNKNOWN) */
static bool pv_hidden(const struct msr_file *mf, const struct msr_desc *d)
{
	return (d->flags & MSRF_KVM_PV) && !msr_guest_pv_has(mf, d->pv_feature);
}

static int vaddr_bits(const struct msr_io *io, unsigned *bits)
{
	uint64_t cr4;
	int r = io->read_field(io->ctx, CUSED_F_CR4, &cr4);

	*bits = (cr4 & X86_CR4_LA57) ? 57 : 48;
	return r;
}

static int read_rule(struct msr_file *mf, const struct msr_desc *d, uint32_t index, bool host)
{
	if (mce_bank_absent(mf, d, index))
		return -EPERM;
	if (pv_hidden(mf, d))
		return -ENOENT;
	switch (d->rule) {
	case MSRR_TSC_AUX:
		return !host && !mf->guest.tsc_aux ? -EPERM : 0;
	case MSRR_PLATFORM_INFO:
		return !host && mf->platform_info_readable && !*mf->platform_info_readable ?
		       -EPERM : 0;
	case MSRR_MCG_CTL:
		return host || (mf->mcg_cap & MCG_CTL_P) ? 0 : -EPERM;
	case MSRR_MC_CTL2:
		return host || (mf->mcg_cap & MCG_CMCI_P) ? 0 : -EPERM;
	case MSRR_PERF_CAPS:
		return !host && !mf->guest.pdcm ? -EPERM : 0;
	default:
		return 0;
	}
}

int msr_read(struct msr_file *mf, const struct msr_io *io, uint32_t index, uint64_t *val,
	     bool host_initiated)
{
	const struct msr_desc *d = msr_find(index);
	int r;

	if (!d)
		return -ENOENT;
	r = read_rule(mf, d, index, host_initiated);
	if (r)
		return r;
	switch (d->kind) {
	case MSR_FIELD:
		return io->read_field(io->ctx, d->field, val);
	case MSR_EMUL:
		if (d->rule == MSRR_KVM_ASYNC_PF_ACK) {
			*val = 0;
			return 0;
		}
		/* relaxed atomics: the wall-clock slot is shared by the VM's vCPUs */
		*val = __atomic_load_n(slot(mf, d, index), __ATOMIC_RELAXED);
		return 0;
	default:
		*val = d->rule == MSRR_MCG_CAP ? mf->mcg_cap : d->reset;
		return 0;
	}
}

/* set_efer(): LMA follows paging, not the write; the guest cannot flip LME under PG */
static int write_efer(struct msr_file *mf, const struct msr_io *io, uint64_t v, bool host)
{
	const struct msr_guest *g = &mf->guest;
	uint64_t old, cr0;
	int r;

	if (v & ~EFER_KNOWN)
		return -EINVAL;
	r = io->read_field(io->ctx, CUSED_F_EFER, &old);
	if (r)
		return r;
	if (!host) {
		if (((v & EFER_FFXSR) && !g->ffxsr) || ((v & (EFER_LME | EFER_LMA)) && !g->lm) ||
		    ((v & EFER_NX) && !g->nx))
			return -EINVAL;
		r = io->read_field(io->ctx, CUSED_F_CR0, &cr0);
		if (r)
			return r;
		if ((cr0 & X86_CR0_PG) && ((old ^ v) & EFER_LME))
			return -EINVAL;
	}
	v = (v & ~EFER_LMA) | (old & EFER_LMA);
	return io->write_field(io->ctx, CUSED_F_EFER, v);
}

/* kvm_set_apic_base() */
static int write_apic_base(struct msr_file *mf, const struct msr_io *io, uint64_t v, bool host)
{
	const uint64_t mode_bits = APIC_BASE_ENABLE | APIC_BASE_EXTD;
	uint64_t reserved = msr_gpa_reserved(mf->guest.maxphyaddr) | 0x2ff |
			    (mf->guest.x2apic ? 0 : APIC_BASE_EXTD);
	uint64_t old, old_mode, new_mode = v & mode_bits;
	int r;

	if ((v & reserved) || new_mode == APIC_BASE_EXTD)
		return -EINVAL;
	if (!host) {
		r = io->read_field(io->ctx, CUSED_F_APIC_BASE, &old);
		if (r)
			return r;
		old_mode = old & mode_bits;
		/* leaving x2APIC must go through disabled; x2APIC needs xAPIC first */
		if (old_mode == mode_bits && new_mode == APIC_BASE_ENABLE)
			return -EINVAL;
		if (old_mode == 0 && new_mode == mode_bits)
			return -EINVAL;
	}
	return io->write_field(io->ctx, CUSED_F_APIC_BASE, v);
}

/* a guest write of TSC moves TSC_ADJUST by the same amount; the host's does not */
static int write_tsc(struct msr_file *mf, const struct msr_io *io, uint64_t v, bool host)
{
	uint64_t old = 0;
	int r;

	if (!host) {
		r = io->read_field(io->ctx, CUSED_F_TSC, &old);
		if (r)
			return r;
	}
	if (host && io->tsc_host_write)
		r = io->tsc_host_write(io->ctx, v);
	else
		r = io->write_field(io->ctx, CUSED_F_TSC, v);
	if (!r && !host)
		mf->val[MSLOT_TSC_ADJUST] += v - old;
	return r;
}

static int write_field_rule(struct msr_file *mf, const struct msr_io *io,
			    const struct msr_desc *d, uint64_t v, bool host)
{
	unsigned bits;
	int r;

	switch (d->rule) {
	case MSRR_EFER:
		return write_efer(mf, io, v, host);
	case MSRR_APIC_BASE:
		return write_apic_base(mf, io, v, host);
	case MSRR_TSC:
		return write_tsc(mf, io, v, host);
	case MSRR_CANONICAL:
	case MSRR_CANONICALIZE:
		r = vaddr_bits(io, &bits);
		if (r)
			return r;
		if (d->rule == MSRR_CANONICALIZE)
			v = msr_canonical(v, bits);
		else if (msr_canonical(v, bits) != v)
			return -EINVAL;
		break;
	case MSRR_PAT:
		if (!msr_pat_valid(v))
			return -EINVAL;
		break;
	case MSRR_TSC_AUX:
		if (!host && !mf->guest.tsc_aux)
			return -EPERM;
		/* Intel reserves bits 63:32; AMD ignores them */
		if (mf->guest.intel && (v >> 32))
			return -EINVAL;
		v = (uint32_t)v;
		break;
	default:
		break;
	}
	return io->write_field(io->ctx, d->field, v);
}

/* TSC_ADJUST: a guest write moves the TSC with it; absent from CPUID, writes are dropped */
static int write_tsc_adjust(struct msr_file *mf, const struct msr_io *io, uint64_t v, bool host)
{
	uint64_t *adj = &mf->val[MSLOT_TSC_ADJUST], tsc;
	int r;

	if (!mf->guest.tsc_adjust)
		return 0;
	if (!host) {
		r = io->read_field(io->ctx, CUSED_F_TSC, &tsc);
		if (!r)
			r = io->write_field(io->ctx, CUSED_F_TSC, tsc + (v - *adj));
		if (r)
			return r;
	}
	*adj = v;
	return 0;
}

/* 0 with *v possibly changed = store it; 1 = done, nothing to store; <0 = error */
static int emul_rule(struct msr_file *mf, const struct msr_desc *d, uint32_t index,
		     uint64_t *v, bool host)
{
	uint64_t old = __atomic_load_n(slot(mf, d, index), __ATOMIC_RELAXED);
	unsigned off = index - d->index;

	switch (d->rule) {
	case MSRR_TSC_DEADLINE:
		/* kvm_set_lapic_tscdeadline_msr without a LAPIC: accepted, nothing happens */
		return 1;
	case MSRR_KVM_CLOCK:
		/* any value from either side, as KVM (a bad GPA only disables the page) */
		return 0;
	case MSRR_KVM_ASYNC_PF_EN:
		/* kvm_pv_enable_async_pf: bits 5:4 reserved, delivery modes need their feature */
		if ((*v & 0x30) || ((*v & (1ULL << 2)) && !msr_guest_pv_has(mf, KVM_PV_ASYNC_PF_VMEXIT)) ||
		    ((*v & (1ULL << 3)) && !msr_guest_pv_has(mf, KVM_PV_ASYNC_PF_INT)))
			return -EINVAL;
		/* no async PF here: as KVM without an in-kernel LAPIC, only "off" is taken */
		return *v ? -EINVAL : 0;
	case MSRR_KVM_ASYNC_PF_INT:
		/* likewise (kvm_pv_enable_async_pf_int); bits 63:8 reserved */
		return *v ? -EINVAL : 0;
	case MSRR_KVM_ASYNC_PF_ACK:
		/* acknowledges a page-ready event; there never is one */
		return 1;
	case MSRR_KVM_STEAL_TIME:
		/* KVM_STEAL_RESERVED_MASK: bits 5:1 */
		return (*v & 0x3e) ? -EINVAL : 0;
	case MSRR_KVM_PV_EOI:
		/* kvm_lapic_set_pv_eoi: the flag byte's address must be 4-byte aligned */
		return (*v & 0x2) ? -EINVAL : 0;
	case MSRR_KVM_POLL_CONTROL:
		/* only the enable bit */
		return (*v & ~1ULL) ? -EINVAL : 0;
	case MSRR_MISC_ENABLE:
		if (!host) {
			if ((old ^ *v) & MISC_ENABLE_PMU_RO_MASK)
				return -EINVAL;
			/* EMON is read-only but writes to it do not fault */
			*v = (*v & ~MISC_ENABLE_EMON) | (old & MISC_ENABLE_EMON);
		}
		/*
		 * Without the quirk, MWAIT enable is real (CPUID follows it, the
		 * caller's job) and needs SSE3, from either side.
		 */
		if (mf->disabled_quirks &&
		    (__atomic_load_n(mf->disabled_quirks, __ATOMIC_RELAXED) &
		     KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT) &&
		    ((old ^ *v) & MISC_ENABLE_MWAIT)) {
			if (!mf->guest.sse3)
				return -EINVAL;
			mf->cpuid_stale = true;
		}
		return 0;
	case MSRR_FEAT_CTL:
		/* only the lock bit: no VMX, SGX or LMCE for the guest */
		if (!host && (old & FEAT_CTL_LOCKED))
			return -EPERM;
		return (*v & ~FEAT_CTL_LOCKED) ? -EINVAL : 0;
	case MSRR_UCODE_REV:
		/* guests write it to trigger a microcode load: ignored */
		return host ? 0 : 1;
	case MSRR_PLATFORM_INFO:
		if (!host)
			return -EPERM;
		return (*v & PLATFORM_INFO_CPUID_FAULT) ? -EINVAL : 0;
	case MSRR_MISC_FEATURES:
		/* only CPUID faulting exists, and PLATFORM_INFO never offers it */
		return *v ? -EINVAL : 0;
	case MSRR_PERF_CAPS:
		/* kvm_set_msr_common: host only, no bit beyond the feature MSR's 0 */
		if (!host)
			return -EPERM;
		return *v ? -EINVAL : 0;
	case MSRR_MTRR_DEF:
		return msr_mtrr_def_valid(*v) ? 0 : -EINVAL;
	case MSRR_MTRR_FIX:
		return msr_mtrr_fix_valid(*v) ? 0 : -EINVAL;
	case MSRR_MTRR_VAR:
		return msr_mtrr_var_valid(off, *v, mf->guest.maxphyaddr) ? 0 : -EINVAL;
	case MSRR_MCG_CTL:
		/* without MCG_CTL_P only the host may write, and only 0 */
		if (!(mf->mcg_cap & MCG_CTL_P) && !host)
			return -EPERM;
		if (!(mf->mcg_cap & MCG_CTL_P) && *v)
			return -EINVAL;
		return *v && *v != ~0ULL ? -EINVAL : 0;
	case MSRR_MC_CTL2:
		/* MCG_CMCI_P is never offered: only the host may write, and only 0 */
		if (mce_bank_absent(mf, d, index))
			return -EPERM;
		if (!host)
			return -EPERM;
		return *v ? -EINVAL : 0;
	case MSRR_MC_BANK:
		if (mce_bank_absent(mf, d, index))
			return -EPERM;
		/* MCi_CTL: 0 or all ones, tolerating the K8 GART bit 10 and UnixWare's bit 0 */
		if (off % 4 == 0 && *v && (*v | (1ULL << 10) | 1) != ~0ULL)
			return -EINVAL;
		/* MCi_STATUS: guests may only clear it (no AMD McStatusWrEn) */
		if (off % 4 == 1 && !host && *v)
			return -EINVAL;
		return 0;
	default:
		return 0;
	}
}

int msr_write(struct msr_file *mf, const struct msr_io *io, uint32_t index, uint64_t val,
	      bool host_initiated)
{
	const struct msr_desc *d = msr_find(index);
	int r;

	if (!d)
		return -ENOENT;
	switch (d->kind) {
	case MSR_FIELD:
		return write_field_rule(mf, io, d, val, host_initiated);
	case MSR_EMUL:
		if (d->rule == MSRR_TSC_ADJUST)
			return write_tsc_adjust(mf, io, val, host_initiated);
		if (pv_hidden(mf, d))
			return -ENOENT;
		r = emul_rule(mf, d, index, &val, host_initiated);
		if (r < 0)
			return r;
		if (r == 0)
			__atomic_store_n(slot(mf, d, index), val, __ATOMIC_RELAXED);
		return 0;
	default:
		/* KVM refuses writes to these from both sides */
		return -EPERM;
	}
}
