/* SPDX-License-Identifier: MIT */
/*
 * Instructions this machine's host KVM (PVM) refuses with
 * KVM_EXIT_INTERNAL_ERROR / KVM_INTERNAL_ERROR_EMULATION where VMX/SVM KVM
 * runs or emulates them, done by the daemon instead so the client sees what
 * KVM would have shown it.  Covered:
 *  - string port I/O: INS/OUTS with or without REP/REPNE, any element size,
 *    DF either way, 16/32/64-bit address size.  It becomes KVM_EXIT_IO
 *    exits in KVM's batching (strio.h) and retires with register and memory
 *    writes.  (This PVM runs the selftests' `rep insb` itself; the path is
 *    for the string I/O it does refuse.)
 *  - SSE zero idioms, PXOR/XORPS/XORPD xmmN, xmmN: PVM refuses e.g. the
 *    `pxor %xmm0,%xmm0` at the entry of the selftests' ucall() once a guest
 *    has done a few thousand string I/O exits (x86_64/userspace_io_test),
 *    and refuses it again on every retry; the daemon zeroes the register
 *    through KVM_GET/SET_FPU and moves RIP past it.
 *  - INT3 under KVM_GUESTDBG_USE_SW_BP: PVM refuses it instead of exiting;
 *    KVM reports KVM_EXIT_DEBUG, exception #BP, pc the INT3's linear
 *    address, RIP left on it (vmx handle_exception_nmi, svm bp_interception).
 *  - MONITOR/MWAIT (0F 01 C8/C9): KVM intercepts both and retires them as
 *    a NOP or makes them #UD (kvm_emulate_monitor_mwait); the daemon
 *    decides which (TX_MWAIT), here they only retire or fault.
 * Not covered, still reported as the host's emulation failure: MMIO-class
 * instructions (PVM's refusal does not say which guest-physical access
 * faulted, so they cannot go the kmod TX_NPF way), INS/OUTS at CPL > IOPL
 * or in virtual-8086 mode (KVM consults the TSS I/O bitmap there), SSE with
 * CR0.EM/TS set or CR4.OSFXSR clear (#UD/#NM the guest should see), and
 * anything else.
 */
#include <errno.h>
#include <string.h>
#include "cused/tramp/hostkvm.h"
#include "cused/tramp/slot_rw.h"
#include "cused/x86/decode.h"
#include "cused/util/log.h"

#define RFLAGS_VM (1u << 17)
#define EFER_LMA  (1u << 10)
#define CR0_PE    1u
#define CR0_EM    (1u << 2)
#define CR0_TS    (1u << 3)
#define CR4_OSFXSR (1u << 9)

/* guest-physical RAM through the daemon's mappings of the host's slots */
static int phys_rw(void *ctx, uint64_t gpa, void *buf, size_t len, bool write)
{
	struct tramp_vm *vm = ctx;
	int r = -ENOENT;

	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nslots && r == -ENOENT; i++) {
		const struct hk_slot *s = &vm->slots[i];
		struct slot_view sv = { s->gpa, s->size, s->hva, s->flags & CUSED_MAP_WRITE };

		r = slot_rw(&sv, gpa, buf, len, write);
	}
	pthread_mutex_unlock(&vm->lock);
	return r == -ENOENT ? -EFAULT : r;
}

static int phys_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return phys_rw(ctx, gpa, buf, len, false);
}

static int phys_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	return phys_rw(ctx, gpa, (void *)buf, len, true);
}

static enum x86_mode sregs_mode(const struct kvm_sregs *s)
{
	if (!(s->cr0 & CR0_PE))
		return X86_MODE_REAL16;
	if ((s->efer & EFER_LMA) && s->cs.l)
		return X86_MODE_LONG64;
	return s->cs.db ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

static void env_of(struct tramp_vcpu *v, const struct kvm_sregs *s, uint64_t seg_base,
		   struct strio_env *env)
{
	*env = (struct strio_env){
		.wr = { s->cr0, s->cr3, s->cr4, s->efer },
		.mem = { phys_read, phys_write, v->vm },
		.seg_base = seg_base,
		.long64 = sregs_mode(s) == X86_MODE_LONG64,
	};
}

static const struct kvm_segment *seg_of(const struct kvm_sregs *s, unsigned seg)
{
	const struct kvm_segment *t[] = { &s->es, &s->cs, &s->ss, &s->ds, &s->fs, &s->gs };

	return t[seg < 6 ? seg : 3];
}

/* the instruction at CS:RIP: from the host's report if it has one, else fetched */
static size_t fetch_insn(struct tramp_vcpu *v, const struct kvm_sregs *s, uint64_t rip,
			 uint8_t *buf)
{
	struct kvm_run *run = v->run;
	struct strio fetch = { .size = 1, .seg = CUSED_SEG_CS, .addr_mask = ~0ull, .step = 1 };
	struct strio_env env;
	size_t n = 0;

	if (run->emulation_failure.ndata >= 3 &&
	    (run->emulation_failure.flags & KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES) &&
	    run->emulation_failure.insn_size) {
		n = run->emulation_failure.insn_size;
		if (n > X86_MAX_INSN_LEN)
			n = X86_MAX_INSN_LEN;
		memcpy(buf, run->emulation_failure.insn_bytes, n);
		return n;
	}
	env_of(v, s, s->cs.base, &env);
	fetch.off = env.long64 ? rip : (uint32_t)rip;
	/* byte by byte: the instruction may end right before an unmapped page */
	for (; n < X86_MAX_INSN_LEN; n++, fetch.off++)
		if (strio_mem(&fetch, &env, buf + n, 1, false))
			break;
	return n;
}

/* PXOR/XORPS/XORPD of a register with itself: the register becomes 0 */
static bool emul_xmm_zero(struct tramp_vcpu *v, struct tramp_exit *ex, const struct kvm_regs *regs,
			  const struct kvm_sregs *sregs, const uint8_t *insn, size_t len,
			  enum x86_mode mode)
{
	struct cused_field_val f = { .id = CUSED_F_RIP };
	struct kvm_fpu fpu;
	uint8_t xmm, n;

	if (x86_decode_xmm_zero(insn, len, mode, &xmm, &n))
		return false;
	/* #UD or #NM are the guest's to take, not ours to paper over */
	if ((sregs->cr0 & (CR0_EM | CR0_TS)) || !(sregs->cr4 & CR4_OSFXSR))
		return false;
	if (hk_get_fpu(v, &fpu))
		return false;
	memset(fpu.xmm[xmm], 0, sizeof(fpu.xmm[xmm]));
	if (hk_set_fpu(v, &fpu))
		return false;
	f.val = mode == X86_MODE_LONG64 ? regs->rip + n :
		mode == X86_MODE_PROT32 ? (uint32_t)(regs->rip + n) : (uint16_t)(regs->rip + n);
	if (hk_write_fields(v, &f, 1))
		return false;
	log_debug("hostkvm: vCPU %u: emulated an XMM%u zero idiom at %#llx", v->id, xmm,
		  (unsigned long long)regs->rip);
	ex->reason = TX_NONE;
	return true;
}

static uint64_t next_rip(uint64_t rip, unsigned len, enum x86_mode mode)
{
	uint64_t mask = mode == X86_MODE_LONG64 ? ~0ull : mode == X86_MODE_PROT32 ? 0xffffffffull :
			0xffffull;

	return (rip & ~mask) | ((rip + len) & mask);
}

/* MONITOR/MWAIT: the daemon decides what KVM would do with the intercept */
static bool emul_monitor_mwait(struct tramp_vcpu *v, struct tramp_exit *ex, uint64_t rip,
			       const uint8_t *insn, size_t len, enum x86_mode mode, unsigned cpl)
{
	bool mwait;
	uint8_t n;

	if (x86_decode_monitor_mwait(insn, len, mode, &mwait, &n))
		return false;
	v->mwait_next_rip = next_rip(rip, n, mode);
	ex->reason = TX_MWAIT;
	ex->mwait.is_mwait = mwait;
	ex->mwait.cpl = (uint8_t)cpl;
	ex->mwait.ud = 0;
	return true;
}

int hk_emul_mwait_complete(struct tramp_vcpu *v, const struct tramp_exit *ex)
{
	struct cused_field_val f = { .id = CUSED_F_RIP, .val = v->mwait_next_rip };
	struct kvm_vcpu_events ev;
	int r;

	if (!ex->mwait.ud)
		return hk_write_fields(v, &f, 1);
	/* a fault on the instruction itself: RIP stays, the host delivers it at entry */
	r = hk_get_events(v, &ev);
	if (r)
		return r;
	ev.exception.injected = 1;
	ev.exception.pending = 0;
	ev.exception.nr = 6;   /* #UD */
	ev.exception.has_error_code = 0;
	ev.exception.error_code = 0;
	ev.exception_has_payload = 0;
	ev.exception_payload = 0;
	return hk_set_events(v, &ev);
}

/* INT3 with the client's software breakpoints on: the client's, not the guest's */
static bool emul_sw_bp(struct tramp_vcpu *v, struct tramp_exit *ex, const struct kvm_sregs *s,
		       uint64_t rip, const uint8_t *insn, size_t len, enum x86_mode mode)
{
	const uint32_t sw_bp = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_SW_BP;

	if ((v->debug_control & sw_bp) != sw_bp || len < 1 || insn[0] != 0xcc)
		return false;
	ex->reason = TX_DEBUG;
	memset(&ex->debug, 0, sizeof(ex->debug));
	ex->debug.exception = 3;   /* #BP */
	ex->debug.pc = s->cs.base + (mode == X86_MODE_LONG64 ? rip : (uint32_t)rip);
	return true;
}

bool hk_emul_exit(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct x86_strio d;
	struct strio_env env;
	uint8_t insn[X86_MAX_INSN_LEN];
	enum x86_mode mode;
	uint64_t ip_mask;
	unsigned cpl, iopl;
	uint32_t n;
	size_t len;

	if (hk_group_get(v, HK_REGS, &regs, sizeof(regs)) ||
	    hk_group_get(v, HK_SREGS, &sregs, sizeof(sregs)))
		return false;
	mode = sregs_mode(&sregs);
	cpl = mode == X86_MODE_REAL16 ? 0 : sregs.cs.selector & 3;
	iopl = (regs.rflags >> 12) & 3;
	len = fetch_insn(v, &sregs, regs.rip, insn);
	if (emul_xmm_zero(v, ex, &regs, &sregs, insn, len, mode))
		return true;
	if (emul_sw_bp(v, ex, &sregs, regs.rip, insn, len, mode))
		return true;
	if (!(regs.rflags & RFLAGS_VM) &&
	    emul_monitor_mwait(v, ex, regs.rip, insn, len, mode, cpl))
		return true;
	if ((regs.rflags & RFLAGS_VM) || cpl > iopl)
		return false;
	if (x86_decode_strio(insn, len, mode, &d)) {
		log_debug("hostkvm: vCPU %u: emulation failure at %#llx (mode %d, %zu bytes, "
			  "first %02x %02x %02x) is not emulated", v->id,
			  (unsigned long long)regs.rip, mode, len, len > 0 ? insn[0] : 0,
			  len > 1 ? insn[1] : 0, len > 2 ? insn[2] : 0);
		return false;
	}
	ip_mask = mode == X86_MODE_LONG64 ? ~0ull : mode == X86_MODE_PROT32 ? 0xffffffffull :
		  0xffffull;
	v->sio = (struct strio){
		.in = d.in, .rep = d.rep, .size = d.size, .seg = d.seg,
		.addr_mask = d.addr_size == 8 ? ~0ull : d.addr_size == 4 ? 0xffffffffull : 0xffff,
	};
	v->sio_next_rip = (regs.rip & ~ip_mask) | ((regs.rip + d.len) & ip_mask);
	n = strio_begin(&v->sio, regs.rcx, regs.rsi, regs.rdi, regs.rflags);
	if (!n) {
		/* REP with rCX = 0 does nothing but retire */
		struct cused_field_val f = { .id = CUSED_F_RIP, .val = v->sio_next_rip };

		if (hk_write_fields(v, &f, 1))
			return false;
		ex->reason = TX_NONE;
		return true;
	}
	memset(v->iobuf, 0, (size_t)n * d.size);
	if (!d.in) {
		/* OUTS: the element goes out with the exit */
		env_of(v, &sregs, seg_of(&sregs, d.seg)->base, &env);
		if (strio_mem(&v->sio, &env, v->iobuf, 1, false)) {
			log_warn("hostkvm: vCPU %u: OUTS source at %#llx is not guest RAM", v->id,
				 (unsigned long long)v->sio.off);
			return false;
		}
	}
	log_debug("hostkvm: vCPU %u: emulating %s at %#llx: port %#x size %u count %u rcx %#llx",
		  v->id, d.in ? "INS" : "OUTS", (unsigned long long)regs.rip,
		  (unsigned)(uint16_t)regs.rdx, d.size, n, (unsigned long long)regs.rcx);
	ex->reason = TX_IO;
	ex->io.port = (uint16_t)regs.rdx;
	ex->io.size = d.size;
	ex->io.in = d.in;
	ex->io.count = n;
	ex->io.data = v->iobuf;
	v->sio_active = true;
	return true;
}

int hk_emul_complete(struct tramp_vcpu *v, const struct tramp_exit *ex)
{
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct strio_env env;
	struct strio_retire ret;
	struct cused_field_val f[3];
	unsigned nf = 0;
	int r;

	if (ex->io.count > STRIO_BUF / v->sio.size || ex->io.in != v->sio.in)
		return -EINVAL;
	r = hk_group_get(v, HK_REGS, &regs, sizeof(regs));
	if (!r)
		r = hk_group_get(v, HK_SREGS, &sregs, sizeof(sregs));
	if (r)
		return r;
	/* the client may have changed rCX since the exit, as KVM lets it */
	strio_retire(&v->sio, ex->io.count, v->sio.in ? regs.rdi : regs.rsi, regs.rcx, &ret);
	if (v->sio.in && ret.n) {
		/* INS: the client's data lands in guest memory before the registers move */
		env_of(v, &sregs, sregs.es.base, &env);
		if (ex->io.data != v->iobuf)
			memmove(v->iobuf, ex->io.data, (size_t)ret.n * v->sio.size);
		r = strio_mem(&v->sio, &env, v->iobuf, ret.n, true);
		if (r)
			return refuse(r, "hostkvm: vCPU %u: INS destination at %#llx is not guest RAM",
				      v->id, (unsigned long long)v->sio.off);
	}
	f[nf++] = (struct cused_field_val){ .id = v->sio.in ? CUSED_F_RDI : CUSED_F_RSI,
					    .val = ret.reg };
	if (v->sio.rep)
		f[nf++] = (struct cused_field_val){ .id = CUSED_F_RCX, .val = ret.rcx };
	if (ret.retire)
		f[nf++] = (struct cused_field_val){ .id = CUSED_F_RIP, .val = v->sio_next_rip };
	v->sio_active = false;     /* retired: a second complete() does nothing */
	return hk_write_fields(v, f, nf);
}
