/* SPDX-License-Identifier: MIT */
/*
 * KVM's hypercalls for a backend that reports the instruction (kmod):
 * VMMCALL (TX_HYPERCALL) is answered as kvm_emulate_hypercall answers it,
 * and a #UD (TX_UD) at the other vendor's instruction is patched to the
 * native one and re-executed (emulator_fix_hypercall) or reflected.
 */
#include <errno.h>
#include <string.h>
#include "cused/kvm/vcpu.h"
#include "cused/mmu/walk.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/decode.h"
#include "cused/x86/hypercall.h"
#include "cused/x86/x86_bits.h"
#include "cused/util/log.h"

/* the #UD a backend queues through CUSED_F_PENDING_IRQ: valid, hardware exception, vector 6 */
#define PENDING_UD ((1u << 31) | (3u << 8) | 6u)

enum { H_RAX, H_RBX, H_RCX, H_RDX, H_RSI, H_RIP, H_CR0, H_CR3, H_CR4, H_EFER,
       H_CS_ATTR, H_CS_BASE, H_SS_ATTR, H_NR };

static int read_state(struct vcpu *v, struct cused_field_val *f)
{
	static const uint32_t ids[H_NR] = {
		CUSED_F_RAX, CUSED_F_RBX, CUSED_F_RCX, CUSED_F_RDX, CUSED_F_RSI, CUSED_F_RIP,
		CUSED_F_CR0, CUSED_F_CR3, CUSED_F_CR4, CUSED_F_EFER,
		CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_ATTR), CUSED_F_SEG(CUSED_SEG_CS, CUSED_SEGP_BASE),
		CUSED_F_SEG(CUSED_SEG_SS, CUSED_SEGP_ATTR),
	};

	memset(f, 0, H_NR * sizeof(*f));   /* pad must be zero for the module */
	for (int i = 0; i < H_NR; i++)
		f[i].id = ids[i];
	return v->vm->ctx->ops->read_fields(v->tv, f, H_NR);
}

static int write2(struct vcpu *v, uint32_t id0, uint64_t val0, uint32_t id1, uint64_t val1)
{
	struct cused_field_val w[2] = { { .id = id0, .val = val0 }, { .id = id1, .val = val1 } };

	return v->vm->ctx->ops->write_fields(v->tv, w, id1 ? 2 : 1);
}

int vcpu_hypercall(struct vcpu *v)
{
	struct cused_field_val f[H_NR];
	const struct kvm_cpuid_entry2 *pv = cpuid_find(v->cpuid, CPUID_KVM_FEATURES, 0);
	struct hypercall_in in;
	enum x86_mode mode;
	uint64_t ret;
	int r = read_state(v, f);

	if (r)
		return r;
	mode = x86_mode_from(f[H_CR0].val, f[H_EFER].val, (uint32_t)f[H_CS_ATTR].val);
	in = (struct hypercall_in){
		.nr = f[H_RAX].val, .a0 = f[H_RBX].val, .a1 = f[H_RCX].val,
		.a2 = f[H_RDX].val, .a3 = f[H_RSI].val,
		/* SVM's CPL is SS.DPL; real mode is 0 */
		.cpl = mode == X86_MODE_REAL16 ? 0 : (f[H_SS_ATTR].val >> 5) & 3,
		.op_64_bit = mode == X86_MODE_LONG64,
		.pv_enforce = v->misc.pv_cpuid_enforce,
		.pv_features = pv ? pv->eax : 0,
	};
	ret = hypercall_answer(&in);
	log_debug("vcpu %u: hypercall %llu -> %#llx", v->id, (unsigned long long)in.nr,
		  (unsigned long long)ret);
	return write2(v, CUSED_F_RAX, ret, CUSED_F_RIP, f[H_RIP].val + HYPERCALL_INSN_LEN);
}

int vcpu_hypercall_ud(struct vcpu *v)
{
	struct cused_field_val f[H_NR];
	struct walk_mem mem = vm_walk_mem(v->vm);
	struct walk_result res;
	struct walk_regs wr;
	uint8_t insn[HYPERCALL_INSN_LEN], native[HYPERCALL_INSN_LEN];
	uint64_t quirks = __atomic_load_n(&v->vm->misc.disabled_quirks, __ATOMIC_RELAXED);
	uint64_t lin;
	enum x86_mode mode;
	int r = read_state(v, f);

	if (r)
		return r;
	wr = (struct walk_regs){ f[H_CR0].val, f[H_CR3].val, f[H_CR4].val, f[H_EFER].val };
	mode = x86_mode_from(f[H_CR0].val, f[H_EFER].val, (uint32_t)f[H_CS_ATTR].val);
	lin = f[H_RIP].val + (mode == X86_MODE_LONG64 ? 0 : f[H_CS_BASE].val);
	if (mode != X86_MODE_LONG64)
		lin &= 0xffffffffu;
	/* both bytes on one page is all KVM's patching needs; else it is the guest's #UD */
	if ((lin & 4095) > 4096 - HYPERCALL_INSN_LEN ||
	    mmu_walk(&wr, &mem, lin, 0, false, &res) ||
	    vm_read_phys(v->vm, res.gpa, insn, sizeof(insn)) ||
	    !hypercall_insn_is(insn, sizeof(insn)) ||
	    (quirks & KVM_X86_QUIRK_FIX_HYPERCALL_INSN))
		goto reflect;
	/* emulator_fix_hypercall: write the native instruction, execute it again */
	/* kvm_x86_patch_hypercall: the silicon's instruction, whatever the guest's CPUID says */
	hypercall_insn_native(v->vm->ctx->caps.vendor == CUSED_VENDOR_INTEL, native);
	if (mmu_walk(&wr, &mem, lin, WALK_WRITE, true, &res) ||
	    vm_write_phys(v->vm, res.gpa, native, sizeof(native)))
		goto reflect;
	log_debug("vcpu %u: hypercall instruction at %#llx patched", v->id,
		  (unsigned long long)f[H_RIP].val);
	return 0;
reflect:
	return write2(v, CUSED_F_PENDING_IRQ, PENDING_UD, 0, 0);
}
