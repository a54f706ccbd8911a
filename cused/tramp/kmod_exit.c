/* SPDX-License-Identifier: MIT */
/*
 * Raw SVM exits from cused-tramp.ko -> struct tramp_exit, the parts of the
 * translation both vendors share (port I/O incl. string I/O, re-queueing an
 * interrupted event, the interrupt-window facts), and the field writes that
 * retire an instruction as the hardware would have.  Raw VMX exits are
 * kmod_vmx_exit.c's.  Pure functions of (raw exit, register snapshot): no
 * device, no I/O, so tests/unit/test_kmod_exit.c and test_kmod_vmx_exit.c
 * drive them directly.
 */
#include <errno.h>
#include <string.h>
#include "cused/tramp/kmod.h"
#include "cused/util/log.h"

const uint32_t kmod_snap_ids[KS_NR] = {
	[KS_RAX] = CUSED_F_RAX, [KS_RCX] = CUSED_F_RCX, [KS_RDX] = CUSED_F_RDX,
	[KS_RSI] = CUSED_F_RSI, [KS_RDI] = CUSED_F_RDI,
	[KS_RIP] = CUSED_F_RIP, [KS_RFLAGS] = CUSED_F_RFLAGS,
	[KS_DR6] = CUSED_F_DR6, [KS_DR7] = CUSED_F_DR7,
	[KS_INTERRUPTIBILITY] = CUSED_F_INTERRUPTIBILITY,
	[KS_PENDING_IRQ] = CUSED_F_PENDING_IRQ,
	[KS_CR8] = CUSED_F_CR8, [KS_APIC_BASE] = CUSED_F_APIC_BASE,
	[KS_CR0] = CUSED_F_CR0, [KS_EFER] = CUSED_F_EFER,
};

int kmod_snap_index(uint32_t id)
{
	for (int i = 0; i < KS_NR; i++)
		if (kmod_snap_ids[i] == id)
			return i;
	return -1;
}

#define RFLAGS_IF (1u << 9)
/* IOIO EXITINFO1 address size of INS/OUTS */
#define SVM_IOIO_A16 (1u << 7)
#define SVM_IOIO_A32 (1u << 8)
#define SVM_IOIO_A64 (1u << 9)
/* fixed lengths of the intercepted instructions we retire without NRIPS */
#define LEN_HLT   1
#define LEN_MSR   2   /* 0f 30 / 0f 32 */
#define LEN_CPUID 2   /* 0f a2 */
#define LEN_MWAIT 3   /* 0f 01 c8 / c9 */
#define LEN_WBINVD 2  /* 0f 09, INVD 0f 08 */

void kmod_put(struct cused_field_val *w, unsigned *nw, uint32_t id, uint64_t val)
{
	w[(*nw)++] = (struct cused_field_val){ .id = id, .val = val };
}
#define put kmod_put

/* RIP after an instruction of len bytes: the module's NRIP if it had one */
static uint64_t next_rip(const struct cused_tramp_exit *raw, unsigned len)
{
	return raw->insn_len ? raw->rip + raw->insn_len : raw->rip + len;
}

void kmod_exit_internal(struct tramp_exit *ex, const struct cused_tramp_exit *raw)
{
	ex->reason = TX_INTERNAL;
	ex->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	ex->internal.ndata = 4;
	ex->internal.data[0] = raw->reason;
	ex->internal.data[1] = raw->qual;
	ex->internal.data[2] = raw->info2;
	ex->internal.data[3] = raw->rip;
}

uint64_t kmod_str_elem_off(const struct kmod_last *last, unsigned i)
{
	return strio_elem_off(&last->sio, i);
}

/*
 * Port I/O, decoded from either vendor's exit.  INS/OUTS go the way KVM's
 * emulator exits for them (strio.h).  RIP stays on the instruction until
 * the last element is done.
 */
void kmod_exit_io(const struct kmod_io *io, const uint64_t snap[KS_NR], struct tramp_exit *ex,
		  struct kmod_last *last, uint8_t *iobuf, struct cused_field_val *w, unsigned *nw)
{
	uint32_t n;

	last->next_rip = io->next_rip;
	ex->reason = TX_IO;
	ex->io.port = io->port;
	ex->io.size = io->size;
	ex->io.in = io->in;
	ex->io.count = 1;
	ex->io.data = iobuf;
	if (!io->str) {
		memset(iobuf, 0, 8);
		if (!io->in) {
			uint64_t rax = snap[KS_RAX];

			memcpy(iobuf, &rax, io->size);  /* x86 is little-endian: AL/AX/EAX */
			/*
			 * KVM retires OUT before the exit reaches userspace (the
			 * client sees RIP past it); IN only when the client has
			 * answered.
			 */
			put(w, nw, CUSED_F_RIP, last->next_rip);
		}
		return;
	}
	last->sio = (struct strio){
		.in = io->in, .rep = io->rep, .size = io->size,
		.seg = io->in ? CUSED_SEG_ES : io->seg, .addr_mask = io->addr_mask,
	};
	n = strio_begin(&last->sio, snap[KS_RCX], snap[KS_RSI], snap[KS_RDI], snap[KS_RFLAGS]);
	if (!n) {
		/* REP with rCX = 0 does nothing but retire */
		ex->reason = TX_NONE;
		put(w, nw, CUSED_F_RIP, last->next_rip);
		return;
	}
	last->str = true;
	ex->io.count = n;
	memset(iobuf, 0, (size_t)n * io->size);
}

static void exit_io(const struct cused_tramp_exit *raw, const uint64_t *snap,
		    struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
		    struct cused_field_val *w, unsigned *nw)
{
	uint32_t q = (uint32_t)raw->qual;
	struct kmod_io io = {
		.port = q >> 16,
		.size = q & SVM_IOIO_SZ32 ? 4 : q & SVM_IOIO_SZ16 ? 2 : 1,
		.in = q & SVM_IOIO_IN, .str = q & SVM_IOIO_STR, .rep = q & SVM_IOIO_REP,
		.addr_mask = q & SVM_IOIO_A16 ? 0xffff : q & SVM_IOIO_A64 ? ~0ull : 0xffffffff,
		.seg = CUSED_SEG_DS,
		/* EXITINFO2 is the RIP of the next instruction for IOIO */
		.next_rip = raw->info2,
	};

	kmod_exit_io(&io, snap, ex, last, iobuf, w, nw);
}

static void exit_npf(const struct cused_tramp_exit *raw, struct tramp_exit *ex)
{
	unsigned n = raw->insn_bytes_len;

	ex->reason = TX_NPF;
	ex->npf.gpa = raw->gpa ? raw->gpa : raw->info2;
	ex->npf.write = !!(raw->qual & 2);      /* EXITINFO1 bit 1: write access */
	if (n > sizeof(ex->npf.insn))
		n = sizeof(ex->npf.insn);
	ex->npf.insn_len = n;
	memcpy(ex->npf.insn, raw->insn_bytes, n);
}

void kmod_exit_begin(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
		     struct tramp_exit *ex, struct kmod_last *last, struct cused_field_val *w,
		     unsigned *nw, uint64_t *pending)
{
	*nw = 0;
	*last = (struct kmod_last){ .rip = raw->rip, .next_rip = raw->rip };
	*pending = snap[KS_PENDING_IRQ];
	ex->if_flag = !!(snap[KS_RFLAGS] & RFLAGS_IF);
	ex->cr8 = snap[KS_CR8];
	ex->apic_base = snap[KS_APIC_BASE];
	/*
	 * An exit in the middle of delivering an event (EXITINTINFO or VMX
	 * IDT-vectoring info valid; same encoding): queue it again, or the
	 * guest loses it.  Its error code does not travel in
	 * cused_tramp_exit.intr_info, so it goes back as 0.
	 */
	if (!raw->entry_failed && (raw->intr_info & KMOD_EV_VALID)) {
		*pending = raw->intr_info & (KMOD_EV_VALID | KMOD_EV_ERRCODE | 0x7ff);
		put(w, nw, CUSED_F_PENDING_IRQ, *pending);
	}
}

void kmod_exit_end(struct tramp_exit *ex, struct kmod_last *last, const uint64_t snap[KS_NR],
		   uint64_t pending)
{
	last->reason = ex->reason;
	/* KVM's ready_for_interrupt_injection: IF set, no shadow, nothing queued */
	ex->irq_ready = ex->reason != TX_FAIL_ENTRY && ex->if_flag &&
			!(snap[KS_INTERRUPTIBILITY] & 3) && !(pending & KMOD_EV_VALID);
}

/* #AC, intercepted only against a microcode hang: reflect it, as KVM does */
void kmod_exit_reflect_ac(struct tramp_exit *ex, struct cused_field_val *w, unsigned *nw,
			  uint64_t *pending)
{
	if (*nw && w[*nw - 1].id == CUSED_F_PENDING_IRQ)
		(*nw)--;        /* replaces a re-queued event */
	*pending = KMOD_EV_VALID | KMOD_EV_TYPE_HW << 8 | KMOD_EV_ERRCODE | KMOD_AC_VECTOR;
	put(w, nw, CUSED_F_PENDING_IRQ, *pending);
	ex->reason = TX_NONE;
}

static void svm_translate(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
			  struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
			  struct cused_field_val *w, unsigned *nw)
{
	uint64_t pending;

	kmod_exit_begin(raw, snap, ex, last, w, nw, &pending);
	if (raw->entry_failed) {
		/* as KVM on SVM: hardware_entry_failure_reason = EXITCODE (VMEXIT_INVALID) */
		ex->reason = TX_FAIL_ENTRY;
		ex->fail_entry.hw_reason = (uint64_t)(int64_t)(int32_t)raw->reason;
		ex->fail_entry.cpu = 0;
		kmod_exit_end(ex, last, snap, pending);
		return;
	}

	switch (raw->reason) {
	case SVM_EXIT_IOIO_:
		exit_io(raw, snap, ex, last, iobuf, w, nw);
		break;
	case SVM_EXIT_HLT_:
		/* KVM reports HLT with RIP already past the instruction */
		ex->reason = TX_HLT;
		last->next_rip = next_rip(raw, LEN_HLT);
		put(w, nw, CUSED_F_RIP, last->next_rip);
		break;
	case SVM_EXIT_MSR_:
		ex->reason = raw->qual & 1 ? TX_WRMSR : TX_RDMSR;
		ex->msr.index = (uint32_t)snap[KS_RCX];
		ex->msr.data = ex->reason == TX_WRMSR ?
			(snap[KS_RDX] << 32) | (uint32_t)snap[KS_RAX] : 0;
		ex->msr.error = 0;
		last->next_rip = next_rip(raw, LEN_MSR);
		break;
	case SVM_EXIT_CPUID_:
		ex->reason = TX_CPUID;
		ex->cpuid.function = (uint32_t)snap[KS_RAX];
		ex->cpuid.index = (uint32_t)snap[KS_RCX];
		last->next_rip = next_rip(raw, LEN_CPUID);
		break;
	case SVM_EXIT_MONITOR_:
	case SVM_EXIT_MWAIT_:
	case SVM_EXIT_MWAIT_COND_:
		/* the CPU's own CPL and operand checks come before the intercept */
		ex->reason = TX_MWAIT;
		ex->mwait.is_mwait = raw->reason != SVM_EXIT_MONITOR_;
		ex->mwait.cpl = 0;
		ex->mwait.ud = 0;
		last->next_rip = next_rip(raw, LEN_MWAIT);
		break;
	case SVM_EXIT_NPF_:
		exit_npf(raw, ex);
		break;
	case SVM_EXIT_READ_DR0 ... SVM_EXIT_READ_DR0 + 7:
	case SVM_EXIT_WRITE_DR0 ... SVM_EXIT_WRITE_DR0 + 7:
		/*
		 * The module intercepts DR0-3 (it does not switch them): the
		 * daemon decodes the GPR at RIP (no DecodeAssists under QEMU
		 * TCG) and moves the stored value, as KVM's dr_interception.
		 */
		ex->reason = TX_MOV_DR;
		ex->mov_dr.dr = raw->reason & 7;
		ex->mov_dr.write = raw->reason >= SVM_EXIT_WRITE_DR0;
		break;
	case SVM_EXIT_WBINVD_:
	case SVM_EXIT_INVD_:
		/*
		 * KVM retires both as no-ops without a userspace exit
		 * (kvm_emulate_wbinvd, INVD as WBINVD): NPT keeps guest memory
		 * write-back, there is no cache state to give back.  SeaBIOS
		 * and Linux's MTRR/PAT setup run WBINVD.
		 */
		ex->reason = TX_NONE;
		put(w, nw, CUSED_F_RIP, next_rip(raw, LEN_WBINVD));
		break;
	case SVM_EXIT_SHUTDOWN_:
		ex->reason = TX_SHUTDOWN;
		break;
	case SVM_EXIT_EXCP_DB:
		ex->reason = TX_DEBUG;
		ex->debug.exception = 1;
		ex->debug.pad = 0;
		ex->debug.pc = raw->rip;
		ex->debug.dr6 = snap[KS_DR6];
		ex->debug.dr7 = snap[KS_DR7];
		break;
	case SVM_EXIT_EXCP_AC:
		kmod_exit_reflect_ac(ex, w, nw, &pending);
		break;
	case SVM_EXIT_VMMCALL_:
		/* KVM's hypercall: the daemon answers it (vcpu_hypercall.c) */
		ex->reason = TX_HYPERCALL;
		break;
	case SVM_EXIT_EXCP_UD:
		/* intercepted as KVM does, for the VMCALL patching quirk */
		ex->reason = TX_UD;
		break;
	case SVM_EXIT_VINTR_:
		ex->reason = TX_IRQ_WINDOW;
		break;
	default:
		kmod_exit_internal(ex, raw);
		break;
	}
	kmod_exit_end(ex, last, snap, pending);
}

void kmod_exit_translate(const struct cused_tramp_exit *raw, const uint64_t snap[KS_NR],
			 struct tramp_exit *ex, struct kmod_last *last, uint8_t *iobuf,
			 struct cused_field_val *w, unsigned *nw)
{
	if (raw->vendor == CUSED_VENDOR_INTEL)
		kmod_vmx_translate(raw, snap, ex, last, iobuf, w, nw);
	else
		svm_translate(raw, snap, ex, last, iobuf, w, nw);
}

int kmod_complete_plan(const struct kmod_last *last, const uint64_t snap[KS_NR],
		       const struct tramp_exit *ex, struct cused_field_val *w, unsigned *nw)
{
	const uint64_t gp = KMOD_EV_VALID | KMOD_EV_TYPE_HW << 8 | KMOD_EV_ERRCODE |
			    KMOD_GP_VECTOR;    /* error code 0 in bits 63:32 */
	const uint64_t ud = KMOD_EV_VALID | KMOD_EV_TYPE_HW << 8 | KMOD_UD_VECTOR;
	uint64_t rax = snap[KS_RAX], d;

	*nw = 0;
	/* an answer only retires the exit it answers */
	if (ex->reason != last->reason &&
	    (ex->reason == TX_IO || ex->reason == TX_RDMSR || ex->reason == TX_WRMSR ||
	     ex->reason == TX_CPUID || ex->reason == TX_MWAIT))
		return -EINVAL;
	switch (ex->reason) {
	case TX_IO:
		if (last->str) {
			struct strio_retire ret;

			/* the client may have changed rCX since the exit, as KVM lets it */
			strio_retire(&last->sio, ex->io.count, snap[ex->io.in ? KS_RDI : KS_RSI],
				     snap[KS_RCX], &ret);
			put(w, nw, ex->io.in ? CUSED_F_RDI : CUSED_F_RSI, ret.reg);
			if (last->sio.rep)
				put(w, nw, CUSED_F_RCX, ret.rcx);
			/* the last element retires the instruction; before, it runs again */
			if (ret.retire)
				put(w, nw, CUSED_F_RIP, last->next_rip);
			return 0;
		}
		if (ex->io.in) {
			d = 0;
			memcpy(&d, ex->io.data, ex->io.size);
			/* AL and AX merge; a 32-bit destination zero-extends */
			rax = ex->io.size == 4 ? (uint32_t)d :
			      ex->io.size == 2 ? (rax & ~0xffffull) | (d & 0xffff) :
						 (rax & ~0xffull) | (d & 0xff);
			put(w, nw, CUSED_F_RAX, rax);
			put(w, nw, CUSED_F_RIP, last->next_rip);
		}
		/* OUT was retired when the exit was reported */
		return 0;
	case TX_RDMSR:
	case TX_WRMSR:
		if (ex->msr.error) {
			/* #GP(0) at the instruction; RIP stays */
			put(w, nw, CUSED_F_PENDING_IRQ, gp);
			return 0;
		}
		if (ex->reason == TX_RDMSR) {
			put(w, nw, CUSED_F_RAX, (uint32_t)ex->msr.data);
			put(w, nw, CUSED_F_RDX, ex->msr.data >> 32);
		}
		put(w, nw, CUSED_F_RIP, last->next_rip);
		return 0;
	case TX_CPUID:
		put(w, nw, CUSED_F_RAX, ex->cpuid.eax);
		put(w, nw, CUSED_F_RBX, ex->cpuid.ebx);
		put(w, nw, CUSED_F_RCX, ex->cpuid.ecx);
		put(w, nw, CUSED_F_RDX, ex->cpuid.edx);
		put(w, nw, CUSED_F_RIP, last->next_rip);
		return 0;
	case TX_MWAIT:
		/* KVM's NOP, or #UD at the instruction (RIP stays) */
		put(w, nw, ex->mwait.ud ? CUSED_F_PENDING_IRQ : CUSED_F_RIP,
		    ex->mwait.ud ? ud : last->next_rip);
		return 0;
	default:
		/* MMIO is retired by the daemon (vcpu_mmio.c); nothing else has an answer */
		return 0;
	}
}
