/* SPDX-License-Identifier: MIT */
/*
 * KVM_X86_SET_MCE: a machine check reported into one of the vCPU's MCE
 * banks (the MSR table's), as Linux 6.1 kvm_vcpu_ioctl_x86_set_mce: an
 * uncorrected error raises #MC, or shuts the guest down when it cannot take
 * one (MCIP already set, or CR4.MCE clear); a corrected one is only logged.
 */
#include <errno.h>
#include "cused/kvm/vcpu.h"
#include "cused/util/log.h"

#define MCI_VAL  (1ULL << 63)
#define MCI_OVER (1ULL << 62)
#define MCI_UC   (1ULL << 61)
#define MCI_PCC  (1ULL << 57)
#define MCI_S    (1ULL << 56)
#define MCI_AR   (1ULL << 55)
#define MCG_MCIP (1ULL << 2)
#define MCG_CTL_P (1ULL << 8)
#define CR4_MCE  (1ULL << 6)
#define MC_VECTOR 18

/* uncorrected, no action required: logged only (no CMCI is offered) */
static bool is_ucna(const struct kvm_x86_mce *m)
{
	return !m->mcg_status && !(m->status & (MCI_PCC | MCI_S | MCI_AR)) &&
	       (m->status & MCI_VAL) && (m->status & MCI_UC);
}

int vcpu_mce_apply(struct msr_file *mf, uint64_t cr4, const struct kvm_x86_mce *m,
		   enum mce_action *act)
{
	unsigned banks_n = mf->mcg_cap & 0xff;
	uint64_t *bank, status = m->status;

	*act = MCE_NOTHING;
	if (m->bank >= banks_n || !(m->status & MCI_VAL))
		return refuse(-EINVAL, "KVM_X86_SET_MCE: bank %u of %u, status %#llx", m->bank,
			      banks_n, (unsigned long long)m->status);
	bank = &mf->val[MSLOT_MC_BANK + 4 * m->bank];   /* CTL STATUS ADDR MISC */
	if (is_ucna(m)) {
		bank[1] = m->status;
		bank[2] = m->addr;
		bank[3] = m->misc;
		mf->val[MSLOT_MCG_STATUS] = m->mcg_status;
		return 0;
	}
	/* uncorrected-error reporting switched off globally or for the bank */
	if ((status & MCI_UC) && (mf->mcg_cap & MCG_CTL_P) && mf->val[MSLOT_MCG_CTL] != ~0ULL)
		return 0;
	if ((status & MCI_UC) && bank[0] != ~0ULL)
		return 0;
	if (status & MCI_UC) {
		if ((mf->val[MSLOT_MCG_STATUS] & MCG_MCIP) || !(cr4 & CR4_MCE)) {
			*act = MCE_SHUTDOWN;
			return 0;
		}
		if (bank[1] & MCI_VAL)
			status |= MCI_OVER;
		bank[2] = m->addr;
		bank[3] = m->misc;
		mf->val[MSLOT_MCG_STATUS] = m->mcg_status;
		bank[1] = status;
		*act = MCE_RAISE_MC;
	} else if (!(bank[1] & MCI_VAL) || !(bank[1] & MCI_UC)) {
		if (bank[1] & MCI_VAL)
			status |= MCI_OVER;
		bank[2] = m->addr;
		bank[3] = m->misc;
		bank[1] = status;
	} else {
		/* an uncorrected error is logged there already: only say one was lost */
		bank[1] |= MCI_OVER;
	}
	return 0;
}

long vcpu_set_mce(struct vcpu *v, const struct kvm_x86_mce *m)
{
	enum mce_action act;
	uint64_t cr4, pending;
	int r;

	r = vcpu_read_field(v, CUSED_F_CR4, &cr4);
	if (r)
		return r;
	/* #MC goes into the one event slot: only while it is free */
	r = vcpu_read_field(v, CUSED_F_PENDING_IRQ, &pending);
	if (r)
		return r;
	if ((m->status & MCI_UC) && (pending & (1ULL << 31)))
		return refuse(-EBUSY, "KVM_X86_SET_MCE: an event is already being injected");
	r = vcpu_mce_apply(&v->msrs, cr4, m, &act);
	if (r)
		return r;
	switch (act) {
	case MCE_RAISE_MC:
		return vcpu_write_field(v, CUSED_F_PENDING_IRQ,
					(1ULL << 31) | (3ULL << 8) | MC_VECTOR);
	case MCE_SHUTDOWN:
		/* KVM_REQ_TRIPLE_FAULT: the next KVM_RUN exits with KVM_EXIT_SHUTDOWN */
		v->misc.triple_fault = true;
		return 0;
	default:
		return 0;
	}
}
