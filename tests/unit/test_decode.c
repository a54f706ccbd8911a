/* SPDX-License-Identifier: MIT */
/*
 * MMIO instruction decoder.  Every accepted encoding is checked twice: against
 * the expectation written in the table, and against Capstone (length, memory
 * operand size, register number/size/high8, immediate, direction), used as an
 * independent oracle.  Sweeps over every ModRM byte and a random differential
 * run cover what a hand-written table would miss.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
/* Capstone's x86.h declares `enum x86_insn` (instruction ids), which clashes
 * with our `struct x86_insn` tag: rename Capstone's for this file. */
#define x86_insn cs_x86_insn_id
#include <capstone/capstone.h>
#undef x86_insn
#include "cused/x86/decode.h"

static const char *const mode_name[] = { "real16", "prot16", "prot32", "long64" };

/* ---------------------------------------------------------------- helpers */

static size_t parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		unsigned v;
		int used;

		if (*s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x%n", &v, &used) != 1 || used != 2 || n == max) {
			fail_msg("bad hex in test table: %s", s);
			return 0;
		}
		out[n++] = v;
		s += 2;
	}
	return n;
}

static void hexdump(char *buf, size_t bufsz, const uint8_t *b, size_t n)
{
	size_t o = 0;

	buf[0] = 0;
	for (size_t i = 0; i < n && o + 4 < bufsz; i++)
		o += snprintf(buf + o, bufsz - o, "%02x ", b[i]);
}

/* ------------------------------------------------------- Capstone oracle */

static csh cs_h[4];

static int cs_setup(void **state)
{
	static const cs_mode m[4] = { CS_MODE_16, CS_MODE_16, CS_MODE_32, CS_MODE_64 };

	for (int i = 0; i < 4; i++) {
		if (cs_open(CS_ARCH_X86, m[i], &cs_h[i]) != CS_ERR_OK)
			return -1;
		cs_option(cs_h[i], CS_OPT_DETAIL, CS_OPT_ON);
	}
	return 0;
}

static int cs_teardown(void **state)
{
	for (int i = 0; i < 4; i++)
		cs_close(&cs_h[i]);
	return 0;
}

/* Capstone register id -> GPR number, size, high8; false if not a GPR */
static bool cs_gpr(x86_reg r, int *num, int *size, bool *high8)
{
	static const x86_reg r8[16] = {
		X86_REG_AL, X86_REG_CL, X86_REG_DL, X86_REG_BL, X86_REG_SPL, X86_REG_BPL,
		X86_REG_SIL, X86_REG_DIL, X86_REG_R8B, X86_REG_R9B, X86_REG_R10B,
		X86_REG_R11B, X86_REG_R12B, X86_REG_R13B, X86_REG_R14B, X86_REG_R15B };
	static const x86_reg r16[16] = {
		X86_REG_AX, X86_REG_CX, X86_REG_DX, X86_REG_BX, X86_REG_SP, X86_REG_BP,
		X86_REG_SI, X86_REG_DI, X86_REG_R8W, X86_REG_R9W, X86_REG_R10W,
		X86_REG_R11W, X86_REG_R12W, X86_REG_R13W, X86_REG_R14W, X86_REG_R15W };
	static const x86_reg r32[16] = {
		X86_REG_EAX, X86_REG_ECX, X86_REG_EDX, X86_REG_EBX, X86_REG_ESP, X86_REG_EBP,
		X86_REG_ESI, X86_REG_EDI, X86_REG_R8D, X86_REG_R9D, X86_REG_R10D,
		X86_REG_R11D, X86_REG_R12D, X86_REG_R13D, X86_REG_R14D, X86_REG_R15D };
	static const x86_reg r64[16] = {
		X86_REG_RAX, X86_REG_RCX, X86_REG_RDX, X86_REG_RBX, X86_REG_RSP, X86_REG_RBP,
		X86_REG_RSI, X86_REG_RDI, X86_REG_R8, X86_REG_R9, X86_REG_R10,
		X86_REG_R11, X86_REG_R12, X86_REG_R13, X86_REG_R14, X86_REG_R15 };
	static const x86_reg hi[4] = { X86_REG_AH, X86_REG_CH, X86_REG_DH, X86_REG_BH };

	*high8 = false;
	for (int i = 0; i < 16; i++) {
		if (r == r8[i])  { *num = i; *size = 1; return true; }
		if (r == r16[i]) { *num = i; *size = 2; return true; }
		if (r == r32[i]) { *num = i; *size = 4; return true; }
		if (r == r64[i]) { *num = i; *size = 8; return true; }
	}
	for (int i = 0; i < 4; i++)
		if (r == hi[i]) { *num = i; *size = 1; *high8 = true; return true; }
	return false;
}

static bool is_load(enum x86_mem_op op)
{
	return op == X86_OP_LOAD || op == X86_OP_LOAD_ZX || op == X86_OP_LOAD_SX;
}

/*
 * Does Capstone see this as an instruction the decoder must accept?  A MOV,
 * MOVZX, MOVSX or MOVSXD between memory and a general-purpose register or an
 * immediate, without F2/F3.
 */
static bool cs_is_mmio_mov(const cs_insn *ci, enum x86_mode mode)
{
	const cs_x86 *x = &ci->detail->x86;
	bool mem = false, other = false;
	int num, size;
	bool hi;

	if (ci->id != X86_INS_MOV && ci->id != X86_INS_MOVABS && ci->id != X86_INS_MOVZX &&
	    ci->id != X86_INS_MOVSX && ci->id != X86_INS_MOVSXD)
		return false;
	if (x->op_count != 2)
		return false;
	/* LOCK is #UD on these (Capstone decodes it anyway); F2/F3 not taken */
	for (int i = 0; i < ci->size; i++) {
		uint8_t p = ci->bytes[i];

		if (p == 0xf0 || p == 0xf2 || p == 0xf3)
			return false;
		if (p != 0x66 && p != 0x67 && p != 0x2e && p != 0x36 && p != 0x3e &&
		    p != 0x26 && p != 0x64 && p != 0x65 && !(mode == X86_MODE_LONG64 && (p & 0xf0) == 0x40))
			break;  /* the opcode */
	}
	/* MOVSXD without REX.W: not taken (and Capstone 4 misreports it as r64) */
	if (ci->id == X86_INS_MOVSXD && !(x->rex & 0x08))
		return false;
	for (int i = 0; i < 2; i++) {
		if (x->operands[i].type == X86_OP_MEM)
			mem = true;
		else if (x->operands[i].type == X86_OP_IMM)
			other = true;
		else if (x->operands[i].type == X86_OP_REG &&
			 cs_gpr(x->operands[i].reg, &num, &size, &hi))
			other = true;
	}
	return mem && other;
}

/* compare an accepted decode against Capstone's view of the same bytes */
static void check_capstone(enum x86_mode mode, const uint8_t *b, size_t n,
			   const struct x86_insn *in)
{
	cs_insn *ci;
	const cs_x86 *x;
	size_t cnt;
	char hex[64];
	int mem_i = -1, other_i = -1;

	hexdump(hex, sizeof(hex), b, n);
	cnt = cs_disasm(cs_h[mode], b, n, 0x1000, 1, &ci);
	if (cnt != 1)
		fail_msg("[%s] %s: Capstone cannot decode what we accepted", mode_name[mode], hex);
	x = &ci->detail->x86;
	if (ci->size != in->len)
		fail_msg("[%s] %s (%s %s): length %u, Capstone %u", mode_name[mode], hex,
			 ci->mnemonic, ci->op_str, in->len, ci->size);
	if (!cs_is_mmio_mov(ci, mode))
		fail_msg("[%s] %s: Capstone says '%s %s'", mode_name[mode], hex,
			 ci->mnemonic, ci->op_str);
	for (int i = 0; i < x->op_count; i++) {
		if (x->operands[i].type == X86_OP_MEM)
			mem_i = i;
		else
			other_i = i;
	}
	assert_true(mem_i >= 0 && other_i >= 0);
	/* Intel operand order: destination first */
	if (is_load(in->op) != (mem_i == 1))
		fail_msg("[%s] %s (%s %s): direction differs", mode_name[mode], hex,
			 ci->mnemonic, ci->op_str);
	if (x->operands[mem_i].size != in->mem_size)
		fail_msg("[%s] %s (%s %s): mem_size %u, Capstone %u", mode_name[mode], hex,
			 ci->mnemonic, ci->op_str, in->mem_size, x->operands[mem_i].size);
	if (in->op == X86_OP_STORE_IMM) {
		uint64_t mask = in->mem_size == 8 ? ~0ull : (1ull << (8 * in->mem_size)) - 1;

		if (x->operands[other_i].type != X86_OP_IMM ||
		    ((uint64_t)x->operands[other_i].imm & mask) != in->imm)
			fail_msg("[%s] %s (%s %s): imm %#llx", mode_name[mode], hex,
				 ci->mnemonic, ci->op_str, (unsigned long long)in->imm);
	} else {
		int num, size;
		bool hi;

		if (x->operands[other_i].type != X86_OP_REG ||
		    !cs_gpr(x->operands[other_i].reg, &num, &size, &hi))
			fail_msg("[%s] %s (%s %s): no GPR operand", mode_name[mode], hex,
				 ci->mnemonic, ci->op_str);
		if (num != in->reg || size != in->reg_size || hi != in->reg_high8)
			fail_msg("[%s] %s (%s %s): reg %u/%u%s, Capstone %d/%d%s", mode_name[mode],
				 hex, ci->mnemonic, ci->op_str, in->reg, in->reg_size,
				 in->reg_high8 ? "h" : "", num, size, hi ? "h" : "");
	}
	if (in->op == X86_OP_LOAD_ZX && ci->id != X86_INS_MOVZX)
		fail_msg("[%s] %s: LOAD_ZX but Capstone says %s", mode_name[mode], hex, ci->mnemonic);
	if (in->op == X86_OP_LOAD_SX && in->mem_size < in->reg_size &&
	    ci->id != X86_INS_MOVSX && ci->id != X86_INS_MOVSXD)
		fail_msg("[%s] %s: LOAD_SX but Capstone says %s", mode_name[mode], hex, ci->mnemonic);
	cs_free(ci, cnt);
}

/* ------------------------------------------------------------ the table */

struct dcase {
	enum x86_mode mode;
	const char *hex;
	int ret;
	uint8_t len;
	enum x86_mem_op op;
	uint8_t mem_size, reg, reg_size;
	bool high8;
	uint64_t imm;
};

#define R16 X86_MODE_REAL16
#define P16 X86_MODE_PROT16
#define P32 X86_MODE_PROT32
#define L64 X86_MODE_LONG64
#define LD  X86_OP_LOAD
#define ST  X86_OP_STORE
#define SI  X86_OP_STORE_IMM
#define ZX  X86_OP_LOAD_ZX
#define SX  X86_OP_LOAD_SX
#define OK(m, h, l, o, ms, r, rs, hi, im) { m, h, 0, l, o, ms, r, rs, hi, im }

static const struct dcase good[] = {
	/* ---- 64-bit mode: MOV r/m,r and r,r/m with every REX bit */
	OK(L64, "89 07",                      2, ST, 4, 0, 4, false, 0),  /* mov [rdi],eax */
	OK(L64, "48 89 07",                   3, ST, 8, 0, 8, false, 0),  /* mov [rdi],rax */
	OK(L64, "4c 89 07",                   3, ST, 8, 8, 8, false, 0),  /* mov [rdi],r8 */
	OK(L64, "41 89 07",                   3, ST, 4, 0, 4, false, 0),  /* mov [r15],eax */
	OK(L64, "45 89 3f",                   3, ST, 4, 15, 4, false, 0), /* mov [r15],r15d */
	OK(L64, "88 27",                      2, ST, 1, 0, 1, true, 0),   /* mov [rdi],ah */
	OK(L64, "88 3f",                      2, ST, 1, 3, 1, true, 0),   /* mov [rdi],bh */
	OK(L64, "40 88 27",                   3, ST, 1, 4, 1, false, 0),  /* mov [rdi],spl */
	OK(L64, "40 88 3f",                   3, ST, 1, 7, 1, false, 0),  /* mov [rdi],dil */
	OK(L64, "41 88 27",                   3, ST, 1, 4, 1, false, 0),  /* mov [r15],spl */
	OK(L64, "44 88 27",                   3, ST, 1, 12, 1, false, 0), /* mov [rdi],r12b */
	OK(L64, "88 07",                      2, ST, 1, 0, 1, false, 0),  /* mov [rdi],al */
	OK(L64, "8a 3e",                      2, LD, 1, 3, 1, true, 0),   /* mov bh,[rsi] */
	OK(L64, "8a 26",                      2, LD, 1, 0, 1, true, 0),   /* mov ah,[rsi] */
	OK(L64, "40 8a 26",                   3, LD, 1, 4, 1, false, 0),  /* mov spl,[rsi] */
	OK(L64, "40 8a 2e",                   3, LD, 1, 5, 1, false, 0),  /* mov bpl,[rsi] */
	OK(L64, "44 8a 3e",                   3, LD, 1, 15, 1, false, 0), /* mov r15b,[rsi] */
	OK(L64, "66 89 0a",                   3, ST, 2, 1, 2, false, 0),  /* mov [rdx],cx */
	OK(L64, "66 48 89 0a",                4, ST, 8, 1, 8, false, 0),  /* REX.W beats 66 */
	OK(L64, "66 44 89 0a",                4, ST, 2, 9, 2, false, 0),  /* mov [rdx],r9w */
	/* a REX only counts right before the opcode */
	OK(L64, "48 66 89 0a",                4, ST, 2, 1, 2, false, 0),  /* REX voided by 66 */
	OK(L64, "44 65 88 27",                4, ST, 1, 0, 1, true, 0),   /* voided: ah, not r12b */
	OK(L64, "40 48 89 07",                4, ST, 8, 0, 8, false, 0),  /* last REX wins */
	OK(L64, "48 40 89 07",                4, ST, 4, 0, 4, false, 0),
	OK(L64, "8b 0a",                      2, LD, 4, 1, 4, false, 0),  /* mov ecx,[rdx] */
	OK(L64, "48 8b 0a",                   3, LD, 8, 1, 8, false, 0),
	OK(L64, "66 8b 0a",                   3, LD, 2, 1, 2, false, 0),
	/* ---- 64-bit addressing forms */
	OK(L64, "8b 05 10 20 30 40",          6, LD, 4, 0, 4, false, 0),  /* [rip+disp32] */
	OK(L64, "67 8b 05 10 20 30 40",       7, LD, 4, 0, 4, false, 0),  /* [eip+disp32] */
	OK(L64, "8b 04 24",                   3, LD, 4, 0, 4, false, 0),  /* [rsp] */
	OK(L64, "8b 44 24 08",                4, LD, 4, 0, 4, false, 0),  /* [rsp+8] */
	OK(L64, "8b 84 24 00 01 00 00",       7, LD, 4, 0, 4, false, 0),  /* [rsp+0x100] */
	OK(L64, "8b 04 25 00 00 e0 fe",       7, LD, 4, 0, 4, false, 0),  /* [disp32] via SIB */
	OK(L64, "8b 04 8d 00 00 e0 fe",       7, LD, 4, 0, 4, false, 0),  /* [rcx*4+disp32] */
	OK(L64, "42 8b 04 a5 00 00 e0 fe",    8, LD, 4, 0, 4, false, 0),  /* [r12*4+disp32] */
	OK(L64, "8b 44 8d 10",                4, LD, 4, 0, 4, false, 0),  /* [rbp+rcx*4+0x10] */
	OK(L64, "8b 84 8d 00 10 00 00",       7, LD, 4, 0, 4, false, 0),
	OK(L64, "8b 45 00",                   3, LD, 4, 0, 4, false, 0),  /* [rbp+0] */
	OK(L64, "41 8b 45 00",                4, LD, 4, 0, 4, false, 0),  /* [r13+0] */
	OK(L64, "41 8b 04 24",                4, LD, 4, 0, 4, false, 0),  /* [r12] */
	OK(L64, "43 8b 04 2c",                4, LD, 4, 0, 4, false, 0),  /* [r12+r13] */
	OK(L64, "41 8b 04 25 00 00 e0 fe",    8, LD, 4, 0, 4, false, 0),  /* REX.B, base=5 mod 0 */
	OK(L64, "67 8b 04 24",                4, LD, 4, 0, 4, false, 0),  /* [esp] */
	OK(L64, "65 48 8b 04 25 28 00 00 00", 9, LD, 8, 0, 8, false, 0),  /* mov rax,gs:[0x28] */
	OK(L64, "64 8b 00",                   3, LD, 4, 0, 4, false, 0),
	OK(L64, "2e 3e 26 36 64 65 89 07",    8, ST, 4, 0, 4, false, 0),
	/* ---- MOV r/m, imm */
	OK(L64, "c6 00 ab",                   3, SI, 1, 0, 1, false, 0xab),
	OK(L64, "c6 40 10 ff",                4, SI, 1, 0, 1, false, 0xff),
	OK(L64, "41 c6 04 24 80",             5, SI, 1, 0, 1, false, 0x80),
	OK(L64, "66 c7 00 34 12",             5, SI, 2, 0, 2, false, 0x1234),
	OK(L64, "66 c7 00 ff ff",             5, SI, 2, 0, 2, false, 0xffff),
	OK(L64, "c7 00 78 56 34 12",          6, SI, 4, 0, 4, false, 0x12345678),
	OK(L64, "c7 00 00 00 00 80",          6, SI, 4, 0, 4, false, 0x80000000),
	OK(L64, "48 c7 00 00 00 00 80",       7, SI, 8, 0, 8, false, 0xffffffff80000000ull),
	OK(L64, "48 c7 00 ff ff ff 7f",       7, SI, 8, 0, 8, false, 0x7fffffff),
	OK(L64, "48 c7 00 ff ff ff ff",       7, SI, 8, 0, 8, false, ~0ull),
	OK(L64, "66 48 c7 00 01 00 00 00",    8, SI, 8, 0, 8, false, 1),  /* REX.W: imm32 */
	OK(L64, "c7 05 44 33 22 11 78 56 34 12", 10, SI, 4, 0, 4, false, 0x12345678), /* rip-rel + imm */
	OK(L64, "c7 84 24 00 01 00 00 01 00 00 00", 11, SI, 4, 0, 4, false, 1),
	OK(L64, "48 c7 04 25 00 00 e0 fe 01 00 00 00", 12, SI, 8, 0, 8, false, 1),
	/* ---- MOVZX / MOVSX / MOVSXD */
	OK(L64, "0f b6 07",                   3, ZX, 1, 0, 4, false, 0),  /* movzx eax,byte [rdi] */
	OK(L64, "48 0f b6 07",                4, ZX, 1, 0, 8, false, 0),
	OK(L64, "66 0f b6 07",                4, ZX, 1, 0, 2, false, 0),  /* movzx ax,byte */
	OK(L64, "0f b7 07",                   3, ZX, 2, 0, 4, false, 0),
	OK(L64, "48 0f b7 07",                4, ZX, 2, 0, 8, false, 0),
	OK(L64, "44 0f b6 0f",                4, ZX, 1, 9, 4, false, 0),  /* movzx r9d,byte */
	OK(L64, "0f b6 25 00 10 00 00",       7, ZX, 1, 4, 4, false, 0),  /* movzx esp: no high8 */
	OK(L64, "0f be 07",                   3, SX, 1, 0, 4, false, 0),
	OK(L64, "48 0f be 07",                4, SX, 1, 0, 8, false, 0),
	OK(L64, "0f bf 07",                   3, SX, 2, 0, 4, false, 0),
	OK(L64, "4c 0f bf 3f",                4, SX, 2, 15, 8, false, 0),
	OK(L64, "66 0f be 07",                4, SX, 1, 0, 2, false, 0),
	OK(L64, "48 63 07",                   3, SX, 4, 0, 8, false, 0),  /* movsxd rax,dword */
	OK(L64, "4c 63 4c 24 08",             5, SX, 4, 9, 8, false, 0),
	/* ---- moffs: 8-byte offsets in long mode, 4 with 67 */
	OK(L64, "a1 00 00 00 00 00 10 00 00", 9, LD, 4, 0, 4, false, 0),
	OK(L64, "48 a1 00 00 00 00 00 10 00 00", 10, LD, 8, 0, 8, false, 0),
	OK(L64, "a0 00 00 00 00 00 10 00 00", 9, LD, 1, 0, 1, false, 0),
	OK(L64, "a2 00 00 00 00 00 10 00 00", 9, ST, 1, 0, 1, false, 0),
	OK(L64, "66 a3 00 00 00 00 00 10 00 00", 10, ST, 2, 0, 2, false, 0),
	OK(L64, "48 a3 00 00 00 00 00 10 00 00", 10, ST, 8, 0, 8, false, 0),
	OK(L64, "67 a1 00 00 e0 fe",          6, LD, 4, 0, 4, false, 0),
	OK(L64, "41 a1 00 00 00 00 00 10 00 00", 10, LD, 4, 0, 4, false, 0), /* REX.B: still eax */
	/* 15 bytes exactly is legal */
	OK(L64, "66 66 66 66 66 66 66 66 66 66 66 66 66 89 07", 15, ST, 2, 0, 2, false, 0),
	OK(L64, "2e 2e 2e 2e 2e 2e 2e 2e 2e c7 00 01 02 03 04", 15, SI, 4, 0, 4, false, 0x04030201),

	/* ---- 32-bit protected mode */
	OK(P32, "89 07",                      2, ST, 4, 0, 4, false, 0),  /* mov [edi],eax */
	OK(P32, "66 89 07",                   3, ST, 2, 0, 2, false, 0),
	OK(P32, "88 25 00 00 e0 fe",          6, ST, 1, 0, 1, true, 0),   /* mov [abs],ah */
	OK(P32, "8a 3d 00 00 e0 fe",          6, LD, 1, 3, 1, true, 0),   /* mov bh,[abs] */
	OK(P32, "8b 05 00 00 e0 fe",          6, LD, 4, 0, 4, false, 0),  /* absolute, not rip */
	OK(P32, "8b 04 24",                   3, LD, 4, 0, 4, false, 0),
	OK(P32, "8b 1c 85 00 00 e0 fe",       7, LD, 4, 3, 4, false, 0),
	OK(P32, "8b 7c 24 08",                4, LD, 4, 7, 4, false, 0),
	OK(P32, "8b 87 00 01 00 00",          6, LD, 4, 0, 4, false, 0),
	OK(P32, "67 8b 06 00 10",             5, LD, 4, 0, 4, false, 0),  /* 16-bit [disp16] */
	OK(P32, "67 8b 46 08",                4, LD, 4, 0, 4, false, 0),  /* [bp+8] */
	OK(P32, "67 8b 07",                   3, LD, 4, 0, 4, false, 0),  /* [bx] */
	OK(P32, "67 8b 87 00 01",             5, LD, 4, 0, 4, false, 0),  /* [bx+disp16] */
	OK(P32, "67 8b 04",                   3, LD, 4, 0, 4, false, 0),  /* [si]: no SIB */
	OK(P32, "a1 00 00 e0 fe",             5, LD, 4, 0, 4, false, 0),
	OK(P32, "66 a1 00 00 e0 fe",          6, LD, 2, 0, 2, false, 0),
	OK(P32, "67 a1 00 10",                4, LD, 4, 0, 4, false, 0),
	OK(P32, "a2 00 00 e0 fe",             5, ST, 1, 0, 1, false, 0),
	OK(P32, "c7 05 00 00 e0 fe 01 00 00 00", 10, SI, 4, 0, 4, false, 1),
	OK(P32, "66 c7 05 00 00 e0 fe 01 80", 9, SI, 2, 0, 2, false, 0x8001),
	OK(P32, "c6 05 00 00 e0 fe 7f",       7, SI, 1, 0, 1, false, 0x7f),
	OK(P32, "67 c7 06 00 10 01 00 00 00", 9, SI, 4, 0, 4, false, 1),
	OK(P32, "0f b7 05 00 00 e0 fe",       7, ZX, 2, 0, 4, false, 0),
	OK(P32, "0f be 0d 00 00 e0 fe",       7, SX, 1, 1, 4, false, 0),
	OK(P32, "66 0f b6 07",                4, ZX, 1, 0, 2, false, 0),
	OK(P32, "64 8b 0d 00 00 00 00",       7, LD, 4, 1, 4, false, 0),
	OK(P32, "3e 26 66 67 89 07",          6, ST, 2, 0, 2, false, 0),

	/* ---- real mode (and 16-bit protected: same decoding) */
	OK(R16, "89 07",                      2, ST, 2, 0, 2, false, 0),  /* mov [bx],ax */
	OK(R16, "66 89 07",                   3, ST, 4, 0, 4, false, 0),  /* mov [bx],eax */
	OK(R16, "8b 46 02",                   3, LD, 2, 0, 2, false, 0),  /* [bp+2] */
	OK(R16, "8b 36 00 10",                4, LD, 2, 6, 2, false, 0),  /* mov si,[0x1000] */
	OK(R16, "8b 86 00 10",                4, LD, 2, 0, 2, false, 0),  /* [bp+0x1000] */
	OK(R16, "8b 04",                      2, LD, 2, 0, 2, false, 0),  /* [si] */
	OK(R16, "8b 00",                      2, LD, 2, 0, 2, false, 0),  /* [bx+si] */
	OK(R16, "67 8b 04 24",                4, LD, 2, 0, 2, false, 0),  /* [esp] */
	OK(R16, "67 8b 05 00 00 e0 fe",       7, LD, 2, 0, 2, false, 0),  /* [disp32] */
	OK(R16, "67 66 8b 44 24 04",          6, LD, 4, 0, 4, false, 0),
	OK(R16, "a1 00 10",                   3, LD, 2, 0, 2, false, 0),
	OK(R16, "66 a1 00 10",                4, LD, 4, 0, 4, false, 0),
	OK(R16, "67 a1 00 00 10 00",          6, LD, 2, 0, 2, false, 0),
	OK(R16, "a0 00 10",                   3, LD, 1, 0, 1, false, 0),
	OK(R16, "a3 00 10",                   3, ST, 2, 0, 2, false, 0),
	OK(R16, "c7 06 00 10 34 12",          6, SI, 2, 0, 2, false, 0x1234),
	OK(R16, "66 c7 06 00 10 78 56 34 12", 9, SI, 4, 0, 4, false, 0x12345678),
	OK(R16, "c6 47 05 ff",                4, SI, 1, 0, 1, false, 0xff),
	OK(R16, "c6 87 00 01 ff",             5, SI, 1, 0, 1, false, 0xff),
	OK(R16, "8a 26 00 10",                4, LD, 1, 0, 1, true, 0),   /* mov ah,[0x1000] */
	OK(R16, "88 2f",                      2, ST, 1, 1, 1, true, 0),   /* mov [bx],ch */
	OK(R16, "0f b6 07",                   3, ZX, 1, 0, 2, false, 0),  /* movzx ax,byte [bx] */
	OK(R16, "66 0f b6 07",                4, ZX, 1, 0, 4, false, 0),
	OK(R16, "66 0f bf 07",                4, SX, 2, 0, 4, false, 0),
	OK(R16, "26 8b 07",                   3, LD, 2, 0, 2, false, 0),  /* es: */
	OK(P16, "89 07",                      2, ST, 2, 0, 2, false, 0),
	OK(P16, "66 8b 46 fe",                4, LD, 4, 0, 4, false, 0),
	OK(P16, "c7 06 00 10 34 12",          6, SI, 2, 0, 2, false, 0x1234),
	OK(P16, "67 c7 04 24 34 12",          6, SI, 2, 0, 2, false, 0x1234),
	OK(P16, "66 a3 00 10",                4, ST, 4, 0, 4, false, 0),
};

static void run_case(const struct dcase *c)
{
	uint8_t b[32];
	size_t n = parse_hex(c->hex, b, sizeof(b));
	struct x86_insn in;
	int r;

	memset(&in, 0x5a, sizeof(in));
	r = x86_decode(b, n, c->mode, &in);
	if (r != c->ret)
		fail_msg("[%s] %s: returned %d, expected %d", mode_name[c->mode], c->hex, r, c->ret);
	if (r)
		return;
	if (in.len != c->len || in.op != c->op || in.mem_size != c->mem_size ||
	    in.reg != c->reg || in.reg_size != c->reg_size || in.reg_high8 != c->high8 ||
	    (c->op == X86_OP_STORE_IMM && in.imm != c->imm))
		fail_msg("[%s] %s: got len %u op %d mem %u reg %u/%u%s imm %#llx; "
			 "expected len %u op %d mem %u reg %u/%u%s imm %#llx",
			 mode_name[c->mode], c->hex, in.len, in.op, in.mem_size, in.reg,
			 in.reg_size, in.reg_high8 ? "h" : "", (unsigned long long)in.imm,
			 c->len, c->op, c->mem_size, c->reg, c->reg_size, c->high8 ? "h" : "",
			 (unsigned long long)c->imm);
	assert_int_equal(in.len, n);   /* tables hold exactly one instruction */
	check_capstone(c->mode, b, n, &in);
}

static void test_table(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		run_case(&good[i]);
}

/* trailing bytes never change the result */
static void test_trailing_bytes_ignored(void **state)
{
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t b[32];
		size_t n = parse_hex(good[i].hex, b, sizeof(b));
		struct x86_insn a, t;

		memset(b + n, 0x90, sizeof(b) - n);
		assert_int_equal(x86_decode(b, n, good[i].mode, &a), 0);
		assert_int_equal(x86_decode(b, sizeof(b), good[i].mode, &t), 0);
		assert_memory_equal(&a, &t, sizeof(a));
	}
}

/* every proper prefix of an accepted instruction is -EAGAIN */
static void test_truncated(void **state)
{
	struct x86_insn in;

	assert_int_equal(x86_decode(NULL, 0, X86_MODE_LONG64, &in), -EAGAIN);
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint8_t b[32];
		size_t n = parse_hex(good[i].hex, b, sizeof(b));

		for (size_t k = 0; k < n; k++) {
			int r = x86_decode(b, k, good[i].mode, &in);

			if (r != -EAGAIN)
				fail_msg("[%s] %s cut to %zu bytes: %d, expected -EAGAIN",
					 mode_name[good[i].mode], good[i].hex, k, r);
		}
	}
}

struct rcase {
	enum x86_mode mode;
	const char *hex;
};

static const struct rcase bad[] = {
	{ L64, "90" },                          /* nop */
	{ L64, "89 c0" },                       /* mov eax,eax: no memory */
	{ L64, "48 8b c1" },
	{ L64, "88 e0" },
	{ L64, "c7 c0 01 00 00 00" },           /* mov eax,imm */
	{ L64, "c6 c0 01" },
	{ L64, "0f b6 c0" },                    /* movzx eax,al */
	{ L64, "48 63 c1" },                    /* movsxd rax,ecx */
	{ L64, "63 07" },                       /* movsxd without REX.W: not taken */
	{ L64, "66 63 07" },
	{ L64, "44 63 07" },
	{ L64, "a0" },                          /* truncated at 1 byte is EAGAIN, see below */
	{ L64, "c7 48 00 01 00 00 00" },        /* C7 /1: #UD */
	{ L64, "c6 38 01" },                    /* C6 /7 memory: #UD */
	{ L64, "c6 f8 01" },                    /* xabort */
	{ L64, "c7 f8 00 00 00 00" },           /* xbegin */
	{ L64, "f0 89 07" },                    /* lock mov: #UD */
	{ L64, "f0 c7 00 01 00 00 00" },
	{ L64, "66 f0 0f b6 07" },
	{ P32, "f0 a1 00 00 e0 fe" },
	{ R16, "f0 88 07" },
	{ L64, "f3 89 07" },                    /* xrelease / rep: not taken */
	{ L64, "f2 89 07" },
	{ L64, "c5 f8 10 07" },                 /* vmovups */
	{ L64, "c4 e1 78 10 07" },
	{ L64, "62 f1 7c 48 10 07" },           /* EVEX */
	{ L64, "0f 10 07" },                    /* movups */
	{ L64, "66 0f 6f 07" },                 /* movdqa */
	{ L64, "0f c3 07" },                    /* movnti */
	{ L64, "8c 07" },                       /* mov [rdi],es */
	{ L64, "8e 07" },                       /* mov es,[rdi] */
	{ L64, "a4" },                          /* movsb */
	{ L64, "a5" },
	{ L64, "aa" },                          /* stosb */
	{ L64, "ac" },                          /* lodsb */
	{ L64, "0f 20 c0" },                    /* mov rax,cr0 */
	{ L64, "0f 22 c0" },
	{ L64, "01 07" },                       /* add */
	{ L64, "09 07" },                       /* or */
	{ L64, "21 07" },                       /* and */
	{ L64, "ff 07" },                       /* inc */
	{ L64, "87 07" },                       /* xchg */
	{ L64, "86 07" },
	{ L64, "85 07" },                       /* test */
	{ L64, "f7 07 01 00 00 00" },
	{ L64, "0f b1 0f" },                    /* cmpxchg */
	{ L64, "0f c1 07" },                    /* xadd */
	{ L64, "0f ba 27 01" },                 /* bt */
	{ L64, "0f 01 07" },                    /* sgdt */
	{ L64, "8d 07" },                       /* lea: no memory access */
	{ L64, "0f 38 f1 07" },                 /* movbe */
	{ L64, "0f 0f 07 0d" },                 /* 3DNow! */
	{ L64, "0f" },                          /* 0F then ??? : EAGAIN, see below */
	{ L64, "0f 05" },                       /* syscall */
	{ L64, "0f b8 07" },                    /* jmpe / popcnt without f3 */
	{ L64, "c8 00 00 00" },
	{ L64, "40 90" },
	/* longer than 15 bytes: #GP, never executed */
	{ L64, "66 66 66 66 66 66 66 66 66 66 66 66 66 66 89 07" },
	{ L64, "2e 2e 2e 2e 2e 2e 2e 2e 2e 2e c7 00 01 02 03 04" },
	{ L64, "40 40 40 40 40 40 40 40 40 40 40 40 40 48 c7 00 00 00 00 00" },
	{ P32, "63 07" },                       /* arpl */
	{ P32, "40 89 07" },                    /* inc eax; not REX */
	{ P32, "48 8b 07" },
	{ P32, "89 c0" },
	{ P32, "c4 07" },                       /* les */
	{ P32, "c5 07" },                       /* lds */
	{ P32, "8e 1f" },
	{ P32, "0f 22 d8" },
	{ P32, "67 89 c0" },
	{ R16, "63 07" },
	{ R16, "8e d8" },                       /* mov ds,ax */
	{ R16, "ea 00 00 00 f0" },
	{ R16, "89 d8" },
	{ R16, "c7 c0 00 10" },
	{ P16, "f3 a5" },                       /* rep movsw */
	{ P16, "0f 01 16 00 10" },              /* lgdt */
};

static void test_rejected(void **state)
{
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t b[32];
		size_t n = parse_hex(bad[i].hex, b, sizeof(b));
		struct x86_insn in;
		int want = -EINVAL, r;

		/* the two one-byte starters above cannot be judged yet */
		if (!strcmp(bad[i].hex, "a0") || !strcmp(bad[i].hex, "0f"))
			want = -EAGAIN;
		r = x86_decode(b, n, bad[i].mode, &in);
		if (r != want)
			fail_msg("[%s] %s: returned %d, expected %d", mode_name[bad[i].mode],
				 bad[i].hex, r, want);
		/* more bytes never turn a rejection into an acceptance */
		memset(b + n, 0, sizeof(b) - n);
		if (want == -EINVAL && x86_decode(b, sizeof(b), bad[i].mode, &in) != -EINVAL)
			fail_msg("[%s] %s + zeros accepted", mode_name[bad[i].mode], bad[i].hex);
	}
}

static void test_mode_from(void **state)
{
	const uint64_t PE = 1, PG = 1ull << 31, LME = 1 << 8, LMA = 1 << 10;
	const uint32_t L = 1 << 13, DB = 1 << 14;

	assert_int_equal(x86_mode_from(0, 0, 0x93), X86_MODE_REAL16);
	/* real mode ignores CS attributes, even "unreal" D/B or L */
	assert_int_equal(x86_mode_from(0, 0, 0x9b | DB), X86_MODE_REAL16);
	assert_int_equal(x86_mode_from(0x60000010, LME, 0x9b | L), X86_MODE_REAL16);
	assert_int_equal(x86_mode_from(PE, 0, 0x9b), X86_MODE_PROT16);
	assert_int_equal(x86_mode_from(PE, 0, 0x9b | DB), X86_MODE_PROT32);
	assert_int_equal(x86_mode_from(PE | PG, 0, 0xc09b), X86_MODE_PROT32);
	/* L without long mode active is not 64-bit */
	assert_int_equal(x86_mode_from(PE, 0, 0x9b | L), X86_MODE_PROT16);
	assert_int_equal(x86_mode_from(PE, LME, 0x9b | L), X86_MODE_PROT16);
	assert_int_equal(x86_mode_from(PE | PG, LME | LMA, 0xa09b), X86_MODE_LONG64);
	assert_int_equal(x86_mode_from(PE | PG, LMA, 0x9b | L), X86_MODE_LONG64);
	/* LME with paging on is long mode even if a backend left LMA stale */
	assert_int_equal(x86_mode_from(PE | PG, LME, 0x9b | L), X86_MODE_LONG64);
	/* compatibility mode */
	assert_int_equal(x86_mode_from(PE | PG, LME | LMA, 0xc09b), X86_MODE_PROT32);
	assert_int_equal(x86_mode_from(PE | PG, LME | LMA, 0x809b), X86_MODE_PROT16);
}

/* ------------------------------------------------ sweeps against Capstone */

static const char *const sweep_ops[] = {
	"88", "89", "8a", "8b", "c6", "c7", "0f b6", "0f b7", "0f be", "0f bf", "63",
};
static const char *const sweep_pfx_legacy[] = { "", "66", "67", "66 67", "2e", "26", "64 67" };
static const char *const sweep_pfx_long[] = {
	"", "66", "67", "66 67", "3e", "65", "40", "41", "42", "44", "48", "4c", "4f", "45",
	"66 48", "67 4d", "66 41", "65 48",
};
static const uint8_t sweep_sib[] = { 0x00, 0x05, 0x24, 0x25, 0x65, 0xe5, 0x8d, 0x1c };

/*
 * Every ModRM byte, a spread of SIB bytes, every supported opcode and a
 * set of prefix combinations in every mode: the decoder accepts exactly the
 * memory forms, and agrees with Capstone on all of them.
 */
static void test_sweep_modrm(void **state)
{
	unsigned checked = 0;

	for (int mode = 0; mode < 4; mode++) {
		const char *const *pfx = mode == L64 ? sweep_pfx_long : sweep_pfx_legacy;
		size_t npfx = mode == L64 ? sizeof(sweep_pfx_long) / sizeof(*pfx)
					  : sizeof(sweep_pfx_legacy) / sizeof(*pfx);

		for (size_t p = 0; p < npfx; p++)
		for (size_t o = 0; o < sizeof(sweep_ops) / sizeof(*sweep_ops); o++)
		for (unsigned modrm = 0; modrm < 256; modrm++)
		for (size_t s = 0; s < sizeof(sweep_sib); s++) {
			uint8_t b[X86_MAX_INSN_LEN + 8];
			size_t n = parse_hex(pfx[p], b, sizeof(b));
			struct x86_insn in;
			bool ok_form;
			int r;

			bool rexw = mode == L64 && n && (b[n - 1] & 0xf8) == 0x48;

			n += parse_hex(sweep_ops[o], b + n, sizeof(b) - n);
			b[n++] = modrm;
			b[n++] = sweep_sib[s];
			for (uint8_t f = 0x11; n < sizeof(b); f += 0x22)
				b[n++] = f;  /* displacement / immediate filler */

			ok_form = (modrm >> 6) != 3;
			if (!strcmp(sweep_ops[o], "63") && !rexw)
				ok_form = false;
			if ((!strcmp(sweep_ops[o], "c6") || !strcmp(sweep_ops[o], "c7")) &&
			    ((modrm >> 3) & 7) != 0)
				ok_form = false;
			r = x86_decode(b, X86_MAX_INSN_LEN, mode, &in);
			if (r != (ok_form ? 0 : -EINVAL)) {
				char hex[64];

				hexdump(hex, sizeof(hex), b, 8);
				fail_msg("[%s] %s...: returned %d", mode_name[mode], hex, r);
			}
			if (!r) {
				check_capstone(mode, b, X86_MAX_INSN_LEN, &in);
				checked++;
			}
		}
	}
	print_message("sweep: %u accepted encodings agree with Capstone\n", checked);
}

/* moffs forms with every prefix combination */
static void test_sweep_moffs(void **state)
{
	for (int mode = 0; mode < 4; mode++) {
		const char *const *pfx = mode == L64 ? sweep_pfx_long : sweep_pfx_legacy;
		size_t npfx = mode == L64 ? sizeof(sweep_pfx_long) / sizeof(*pfx)
					  : sizeof(sweep_pfx_legacy) / sizeof(*pfx);

		for (size_t p = 0; p < npfx; p++)
		for (unsigned op = 0xa0; op <= 0xa3; op++) {
			uint8_t b[X86_MAX_INSN_LEN + 8];
			size_t n = parse_hex(pfx[p], b, sizeof(b));
			struct x86_insn in;

			b[n++] = op;
			for (uint8_t f = 0x10; n < sizeof(b); f += 0x10)
				b[n++] = f;
			assert_int_equal(x86_decode(b, X86_MAX_INSN_LEN, mode, &in), 0);
			check_capstone(mode, b, X86_MAX_INSN_LEN, &in);
		}
	}
}

/* xorshift: reproducible */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state >> 32;
}

/*
 * Differential run: random prefix soup + an opcode near the supported set +
 * random bytes.  Whatever we accept, Capstone must decode the same way; any
 * MOV/MOVZX/MOVSX/MOVSXD between memory and a GPR or immediate that Capstone
 * sees (and that is at most 15 bytes, with no F2/F3) we must accept.
 */
static void test_random_differential(void **state)
{
	static const uint8_t pfx_pool[] = {
		0x66, 0x67, 0xf0, 0x2e, 0x36, 0x3e, 0x26, 0x64, 0x65, 0xf2, 0xf3,
		0x40, 0x41, 0x44, 0x48, 0x4c, 0x4f,
	};
	static const char *const op_pool[] = {
		"88", "89", "8a", "8b", "c6", "c7", "a0", "a1", "a2", "a3", "63",
		"0f b6", "0f b7", "0f be", "0f bf", "8c", "8e", "8d", "87", "01", "0f c3",
		"0f b8", "0f b5", "0f 20", "c5", "c4", "90", "b8", "0f 10",
	};
	unsigned accepted = 0, iters = 300000;

	for (unsigned it = 0; it < iters; it++) {
		int mode = rnd() % 4;
		uint8_t b[X86_MAX_INSN_LEN];
		size_t n = 0, npfx = rnd() % 5;
		struct x86_insn in;
		cs_insn *ci;
		size_t cnt;
		int r;

		for (size_t i = 0; i < npfx; i++) {
			uint8_t p = pfx_pool[rnd() % sizeof(pfx_pool)];

			if (mode != L64 && (p & 0xf0) == 0x40)
				p = 0x66;
			b[n++] = p;
		}
		n += parse_hex(op_pool[rnd() % (sizeof(op_pool) / sizeof(*op_pool))], b + n,
			       sizeof(b) - n);
		while (n < sizeof(b))
			b[n++] = rnd();

		r = x86_decode(b, sizeof(b), mode, &in);
		assert_true(r == 0 || r == -EINVAL);
		if (!r) {
			accepted++;
			check_capstone(mode, b, sizeof(b), &in);
			continue;
		}
		cnt = cs_disasm(cs_h[mode], b, sizeof(b), 0x1000, 1, &ci);
		if (cnt == 1 && cs_is_mmio_mov(ci, mode)) {
			char hex[64];

			hexdump(hex, sizeof(hex), b, ci->size);
			fail_msg("[%s] %s: Capstone decodes '%s %s', we rejected", mode_name[mode],
				 hex, ci->mnemonic, ci->op_str);
		}
		if (cnt)
			cs_free(ci, cnt);
	}
	print_message("random: %u of %u accepted, all agree with Capstone\n", accepted, iters);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_trailing_bytes_ignored),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_rejected),
		cmocka_unit_test(test_mode_from),
		cmocka_unit_test(test_sweep_modrm),
		cmocka_unit_test(test_sweep_moffs),
		cmocka_unit_test(test_random_differential),
	};
	return cmocka_run_group_tests(tests, cs_setup, cs_teardown);
}
