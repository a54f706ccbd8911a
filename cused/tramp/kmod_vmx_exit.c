/* SPDX-License-Identifier: MIT */
/*
 * Raw VMX exits from cused-tramp.ko -> struct tramp_exit: the same
 * classification kmod_exit.c makes of SVM exits, from the VMCS exit
 * information the module copies out (see kmod_vmx_translate() in kmod.h).
 * Completion (kmod_complete_plan) is vendor-neutral.  Pure, unit tested in
 * tests/unit/test_kmod_vmx_exit.c.
 */
#include <string.h>
#include "cused/tramp/kmod.h"

/* VM-exit instruction information of INS/OUTS: address size, segment */
#define VMX_II_ASIZE(ii)  (((ii) >> 7) & 7)    /* 0: 16, 1: 32, 2: 64 bit */
#define VMX_II_SEG(ii)    (((ii) >> 15) & 7)   /* ES CS SS DS FS GS: CUSED_SEG_* order */
/* exit interruption information */
#define VMX_INTR_TYPE(i)  (((i) >> 8) & 7)
#define VMX_INTR_HW_EXC   3u

/* CPUID, RDMSR/WRMSR and HLT when VM-exit instruction length is missing */
#define LEN_HLT   1
#define LEN_2     2

static uint64_t next_rip(const struct cused_tramp_exit *raw, unsigned len)
{
	return raw->rip + (raw->insn_len ? raw->insn_len : len);
}

static void exit_io(const struct cused_tramp_exit *raw, const uint64_t *snap,
		    struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
		    struct cused_field_val *w, unsigned *nw)
{
	uint32_t q = (uint32_t)raw->qual, ii = (uint32_t)(raw->info2 >> 32);
	unsigned asz = VMX_II_ASIZE(ii), seg = VMX_II_SEG(ii);
	struct kmod_io io = {
		.port = q >> 16,
		.size = (q & VMX_IO_SIZE_MASK) + 1,
		.in = q & VMX_IO_IN, .str = q & VMX_IO_STR, .rep = q & VMX_IO_REP,
		.addr_mask = asz == 0 ? 0xffff : asz == 2 ? ~0ull : 0xffffffff,
		.seg = seg <= CUSED_SEG_GS ? seg : CUSED_SEG_DS,
		.next_rip = next_rip(raw, 1),
	};

	kmod_exit_io(&io, snap, ex, last, iobuf, w, nw);
}

#define CR0_PE (1ull << 0)
#define CR0_NW (1ull << 29)
#define CR0_CD (1ull << 30)
#define CR0_PG (1ull << 31)
#define EFER_LME (1ull << 8)
#define EFER_LMA (1ull << 10)

/*
 * MOV to CR0/CR4 that exited because it changed a bit the module keeps
 * host-owned (CR0.CD/NW/NE, CR4.VMXE ...): done here as the CPU would, with
 * the source register from the snapshot, or #GP(0) for a value MOV to CR0
 * refuses.  EFER.LMA follows CR0.PG when EFER.LME is set.  Other sources,
 * CLTS, LMSW and reads are internal errors.
 */
static void exit_cr(const struct cused_tramp_exit *raw, const uint64_t *snap,
		    struct tramp_exit *ex, struct kmod_last *last,
		    struct cused_field_val *w, unsigned *nw, uint64_t *pending)
{
	static const int8_t gpr_snap[16] = {
		KS_RAX, KS_RCX, KS_RDX, -1, -1, -1, KS_RSI, KS_RDI,
		-1, -1, -1, -1, -1, -1, -1, -1,
	};
	unsigned cr = VMX_CR_NUM(raw->qual), k = VMX_CR_GPR(raw->qual);
	uint64_t val, efer = snap[KS_EFER];

	if (VMX_CR_TYPE(raw->qual) != 0 || (cr != 0 && cr != 4) || gpr_snap[k] < 0) {
		kmod_exit_internal(ex, raw);
		return;
	}
	val = snap[gpr_snap[k]];
	ex->reason = TX_NONE;
	if ((val >> 32) || (cr == 0 && (((val & CR0_NW) && !(val & CR0_CD)) ||
					((val & CR0_PG) && !(val & CR0_PE))))) {
		*pending = KMOD_EV_VALID | KMOD_EV_TYPE_HW << 8 | KMOD_EV_ERRCODE | KMOD_GP_VECTOR;
		kmod_put(w, nw, CUSED_F_PENDING_IRQ, *pending);
		return;
	}
	kmod_put(w, nw, cr == 0 ? CUSED_F_CR0 : CUSED_F_CR4, val);
	if (cr == 0 && (efer & EFER_LME) && !(val & CR0_PG) != !(efer & EFER_LMA))
		kmod_put(w, nw, CUSED_F_EFER, efer ^ EFER_LMA);
	last->next_rip = next_rip(raw, 3);
	kmod_put(w, nw, CUSED_F_RIP, last->next_rip);
}

void kmod_vmx_translate(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
			struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
			struct cused_field_val *w, unsigned *nw)
{
	uint32_t info = (uint32_t)raw->info2;
	uint64_t pending;

	kmod_exit_begin(raw, snap, ex, last, w, nw, &pending);
	if (raw->entry_failed) {
		/*
		 * As KVM on VMX: hardware_entry_failure_reason is the
		 * VM-instruction error after VMfail, else the full exit reason
		 * (0x80000021 for invalid guest state).
		 */
		ex->reason = TX_FAIL_ENTRY;
		ex->fail_entry.hw_reason = raw->reason == VMX_EXIT_VMFAIL ? raw->qual : raw->reason;
		ex->fail_entry.cpu = 0;
		kmod_exit_end(ex, last, snap, pending);
		return;
	}
	switch (raw->reason) {
	case VMX_EXIT_IO:
		exit_io(raw, snap, ex, last, iobuf, w, nw);
		break;
	case VMX_EXIT_HLT:
		/* KVM reports HLT with RIP already past the instruction */
		ex->reason = TX_HLT;
		last->next_rip = next_rip(raw, LEN_HLT);
		kmod_put(w, nw, CUSED_F_RIP, last->next_rip);
		break;
	case VMX_EXIT_RDMSR:
	case VMX_EXIT_WRMSR:
		ex->reason = raw->reason == VMX_EXIT_WRMSR ? TX_WRMSR : TX_RDMSR;
		ex->msr.index = (uint32_t)snap[KS_RCX];
		ex->msr.data = ex->reason == TX_WRMSR ?
			(snap[KS_RDX] << 32) | (uint32_t)snap[KS_RAX] : 0;
		ex->msr.error = 0;
		last->next_rip = next_rip(raw, LEN_2);
		break;
	case VMX_EXIT_VMCALL:
		/* KVM's hypercall: the daemon answers it and moves RIP (vcpu_hypercall.c) */
		ex->reason = TX_HYPERCALL;
		break;
	case VMX_EXIT_CPUID:
		ex->reason = TX_CPUID;
		ex->cpuid.function = (uint32_t)snap[KS_RAX];
		ex->cpuid.index = (uint32_t)snap[KS_RCX];
		last->next_rip = next_rip(raw, LEN_2);
		break;
	case VMX_EXIT_MONITOR:
	case VMX_EXIT_MWAIT:
		/* CPL > 0 is the CPU's own #UD, before the exit */
		ex->reason = TX_MWAIT;
		ex->mwait.is_mwait = raw->reason == VMX_EXIT_MWAIT;
		ex->mwait.cpl = 0;
		ex->mwait.ud = 0;
		last->next_rip = next_rip(raw, 3);
		break;
	case VMX_EXIT_EPT_VIOLATION:
	case VMX_EXIT_EPT_MISCONFIG:
		/* no decode assist on VMX: the daemon fetches the instruction at RIP */
		ex->reason = TX_NPF;
		ex->npf.gpa = raw->gpa;
		ex->npf.write = raw->reason == VMX_EXIT_EPT_VIOLATION && (raw->qual & VMX_EPT_WRITE);
		ex->npf.insn_len = 0;
		break;
	case VMX_EXIT_WBINVD:
	case VMX_EXIT_INVD:
		/* no-ops retired in place, as KVM does (kmod_exit.c) */
		ex->reason = TX_NONE;
		kmod_put(w, nw, CUSED_F_RIP, next_rip(raw, LEN_2));
		break;
	case VMX_EXIT_CR_ACCESS:
		exit_cr(raw, snap, ex, last, w, nw, &pending);
		break;
	case VMX_EXIT_TRIPLE_FAULT:
		ex->reason = TX_SHUTDOWN;
		break;
	case VMX_EXIT_INTR_WINDOW:
		ex->reason = TX_IRQ_WINDOW;
		break;
	case VMX_EXIT_EXCEPTION_NMI:
		if ((info & KMOD_EV_VALID) && VMX_INTR_TYPE(info) == VMX_INTR_HW_EXC &&
		    (info & 0xff) == KMOD_AC_VECTOR) {
			kmod_exit_reflect_ac(ex, w, nw, &pending);
			break;
		}
		kmod_exit_internal(ex, raw);
		break;
	default:
		kmod_exit_internal(ex, raw);
		break;
	}
	kmod_exit_end(ex, last, snap, pending);
}
