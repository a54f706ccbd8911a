/* SPDX-License-Identifier: MIT */
/*
 * MMIO for backends that only enter the guest: a raw nested-page fault on
 * memory with no RAM behind it becomes KVM_EXIT_MMIO here.  The daemon
 * fetches the instruction at RIP through its own page walker, decodes it,
 * and after the client's answer writes the destination register and RIP.
 */
#include <errno.h>
#include <string.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_mmio.h"
#include "cused/x86/emulate.h"
#include "cused/mmu/walk.h"
#include "cused/util/log.h"

enum { F_GPR0, F_RIP = 16, F_CR0, F_CR3, F_CR4, F_EFER, F_CS_ATTR, F_CS_BASE, F_NR };

/* x86 encoding order (rax rcx rdx rbx ...) to trampoline field ids */
static const uint32_t gpr_field[16] = {
	CUSED_F_RAX, CUSED_F_RCX, CUSED_F_RDX, CUSED_F_RBX,
	CUSED_F_RSP, CUSED_F_RBP, CUSED_F_RSI, CUSED_F_RDI,
	CUSED_F_R8, CUSED_F_R9, CUSED_F_R10, CUSED_F_R11,
	CUSED_F_R12, CUSED_F_R13, CUSED_F_R14, CUSED_F_R15,
};

static int read_state(struct vcpu *v, struct cused_field_val *f)
{
	memset(f, 0, F_NR * sizeof(*f));   /* pad must be zero for the module */
	for (int i = 0; i < 16; i++)
		f[F_GPR0 + i].id = gpr_field[i];
	f[F_RIP].id = CUSED_F_RIP;
	f[F_CR0].id = CUSED_F_CR0;
	f[F_CR3].id = CUSED_F_CR3;
	f[F_CR4].id = CUSED_F_CR4;
	f[F_EFER].id = CUSED_F_EFER;
	f[F_CS_ATTR].id = CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_ATTR);
	f[F_CS_BASE].id = CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_BASE);
	return v->vm->ctx->ops->read_fields(v->tv, f, F_NR);
}

/* fetch up to 15 bytes at CS:RIP, page by page, as the CPU would */
static size_t fetch_insn(struct vcpu *v, const struct cused_field_val *f,
			 enum x86_mode mode, uint8_t *buf)
{
	struct walk_regs wr = { f[F_CR0].val, f[F_CR3].val, f[F_CR4].val, f[F_EFER].val };
	struct walk_mem mem = vm_walk_mem(v->vm);
	uint64_t lin = f[F_RIP].val + (mode == X86_MODE_LONG64 ? 0 : f[F_CS_BASE].val);
	size_t got = 0;

	if (mode != X86_MODE_LONG64)
		lin &= 0xffffffffu;
	while (got < 15) {
		struct walk_result res;
		size_t chunk = 4096 - ((lin + got) & 4095);

		if (chunk > 15 - got)
			chunk = 15 - got;
		if (mmu_walk(&wr, &mem, lin + got, WALK_FETCH, false, &res) ||
		    vm_read_phys(v->vm, res.gpa, buf + got, chunk))
			break;
		got += chunk;
	}
	return got;
}

/* SVM's layout for the exit info: the NPF that led here */
void mmio_emulation_failure(struct tramp_exit *ex, const uint8_t *insn, size_t n,
			    uint64_t gpa, bool write)
{
	uint8_t b[16];
	unsigned start = 1;

	if (n > 15)
		n = 15;
	ex->reason = TX_INTERNAL;
	ex->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	memset(ex->internal.data, 0, sizeof(ex->internal.data));
	if (n) {
		ex->internal.data[0] = KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES;
		b[0] = (uint8_t)n;
		memset(b + 1, 0x90, 15);
		memcpy(b + 1, insn, n);
		memcpy(&ex->internal.data[1], b, sizeof(b));
		start = 3;
	}
	ex->internal.data[start] = 0x400;               /* SVM_EXIT_NPF */
	ex->internal.data[start + 1] = write ? 2 : 0;   /* #PF-style error code: W */
	ex->internal.data[start + 2] = gpa;
	ex->internal.ndata = start + 5;
}

int mmio_begin(struct vcpu *v, struct tramp_exit *ex)
{
	struct cused_field_val f[F_NR];
	struct x86_gprs g;
	uint8_t insn[15];
	size_t n;
	enum x86_mode mode;
	uint64_t gpa = ex->npf.gpa;
	int r;

	r = read_state(v, f);
	if (r)
		return r;
	mode = x86_mode_from(f[F_CR0].val, f[F_EFER].val, f[F_CS_ATTR].val);
	if (ex->npf.insn_len) {
		n = ex->npf.insn_len;
		memcpy(insn, ex->npf.insn, n);
	} else {
		n = fetch_insn(v, f, mode, insn);
	}
	r = x86_decode(insn, n, mode, &v->mmio_insn);
	if (r) {
		log_warn("vcpu %u: cannot emulate MMIO at gpa %#llx rip %#llx (%zu bytes: %02x %02x %02x)",
			 v->id, (unsigned long long)gpa, (unsigned long long)f[F_RIP].val, n,
			 insn[0], n > 1 ? insn[1] : 0, n > 2 ? insn[2] : 0);
		mmio_emulation_failure(ex, insn, n, gpa, ex->npf.write);
		return 0;
	}
	for (int i = 0; i < 16; i++)
		g.r[i] = f[F_GPR0 + i].val;
	ex->reason = TX_MMIO;
	ex->mmio.gpa = gpa;
	ex->mmio.len = v->mmio_insn.mem_size;
	ex->mmio.is_write = v->mmio_insn.op == X86_OP_STORE || v->mmio_insn.op == X86_OP_STORE_IMM;
	memset(ex->mmio.data, 0, sizeof(ex->mmio.data));
	if (ex->mmio.is_write)
		x86_store_data(&v->mmio_insn, &g, ex->mmio.data);
	v->mmio_emulating = true;
	/* KVM retires an MMIO write before the exit reaches userspace (RIP past it) */
	if (ex->mmio.is_write)
		return mmio_finish(v, ex->mmio.data);
	return 0;
}

int mmio_finish(struct vcpu *v, const uint8_t data[8])
{
	struct cused_field_val f[F_NR];
	struct x86_gprs g;
	int r;

	v->mmio_emulating = false;
	r = read_state(v, f);
	if (r)
		return r;
	for (int i = 0; i < 16; i++)
		g.r[i] = f[F_GPR0 + i].val;
	if (v->mmio_insn.op != X86_OP_STORE && v->mmio_insn.op != X86_OP_STORE_IMM)
		x86_load_apply(&v->mmio_insn, &g, data);
	for (int i = 0; i < 16; i++)
		f[F_GPR0 + i].val = g.r[i];
	f[F_RIP].val += v->mmio_insn.len;
	/* outside long mode EIP wraps at 4 GiB */
	if (x86_mode_from(f[F_CR0].val, f[F_EFER].val, f[F_CS_ATTR].val) != X86_MODE_LONG64)
		f[F_RIP].val &= 0xffffffffu;
	/* only GPRs and RIP changed */
	return v->vm->ctx->ops->write_fields(v->tv, f, F_RIP + 1);
}

int mov_dr_emulate(struct vcpu *v, struct tramp_exit *ex)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	struct cused_field_val f[F_NR], dr = { .id = CUSED_F_DR0 + ex->mov_dr.dr };
	struct x86_mov_dr d;
	enum x86_mode mode;
	uint8_t insn[15];
	size_t n;
	int r;

	r = read_state(v, f);
	if (r)
		return r;
	mode = x86_mode_from(f[F_CR0].val, f[F_EFER].val, f[F_CS_ATTR].val);
	n = fetch_insn(v, f, mode, insn);
	/* only DR0-3 are intercepted and stored apart: anything else is a bug */
	if (x86_decode_mov_dr(insn, n, mode, &d) || d.dr != ex->mov_dr.dr ||
	    d.to_dr != !!ex->mov_dr.write || d.dr > 3) {
		log_warn("vcpu %u: cannot emulate MOV DR%u at rip %#llx (%zu bytes: %02x %02x %02x)",
			 v->id, ex->mov_dr.dr, (unsigned long long)f[F_RIP].val, n,
			 insn[0], n > 1 ? insn[1] : 0, n > 2 ? insn[2] : 0);
		mmio_emulation_failure(ex, insn, n, 0, false);
		return 0;
	}
	if (d.to_dr) {
		dr.val = d.wide ? f[F_GPR0 + d.gpr].val : (uint32_t)f[F_GPR0 + d.gpr].val;
		r = ops->write_fields(v->tv, &dr, 1);
	} else {
		r = ops->read_fields(v->tv, &dr, 1);
		/* a 32-bit destination zero-extends, as any 32-bit GPR write */
		f[F_GPR0 + d.gpr].val = d.wide ? dr.val : (uint32_t)dr.val;
	}
	if (r)
		return r;
	f[F_RIP].val += d.len;
	if (mode != X86_MODE_LONG64)
		f[F_RIP].val &= 0xffffffffu;
	ex->reason = TX_NONE;
	return ops->write_fields(v->tv, f, F_RIP + 1);
}
