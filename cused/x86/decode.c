/* SPDX-License-Identifier: MIT */
/*
 * MMIO instruction decoder: legacy prefixes, REX, opcode, ModRM, SIB,
 * displacement and immediate -- enough to get the length, the access size
 * and the register right for the MOV family.  See decode.h.
 */
#include <errno.h>
#include <string.h>
#include "cused/x86/decode.h"

#define CR0_PE    (1ull << 0)
#define CR0_PG    (1ull << 31)
#define EFER_LME  (1ull << 8)
#define EFER_LMA  (1ull << 10)
#define AR_L      (1u << 13)
#define AR_DB     (1u << 14)

enum x86_mode x86_mode_from(uint64_t cr0, uint64_t efer, uint32_t cs_attr)
{
	bool lma = (efer & EFER_LMA) || ((efer & EFER_LME) && (cr0 & CR0_PG));

	if (!(cr0 & CR0_PE))
		return X86_MODE_REAL16;
	if (lma && (cs_attr & AR_L))
		return X86_MODE_LONG64;
	/* legacy protected mode or compatibility mode */
	return (cs_attr & AR_DB) ? X86_MODE_PROT32 : X86_MODE_PROT16;
}

struct cursor {
	const uint8_t *b;
	size_t n;
	size_t pos;
};

/* make bytes [pos, pos+k) available: -EINVAL past the architectural
 * limit (decided before truncation: a 16th byte can never be fetched),
 * -EAGAIN past the caller's buffer */
static int need(const struct cursor *c, size_t k)
{
	if (c->pos + k > X86_MAX_INSN_LEN)
		return -EINVAL;
	if (c->pos + k > c->n)
		return -EAGAIN;
	return 0;
}

static uint64_t get_le(const struct cursor *c, size_t k)
{
	uint64_t v = 0;

	for (size_t i = 0; i < k; i++)
		v |= (uint64_t)c->b[c->pos + i] << (8 * i);
	return v;
}

/* bytes that follow the ModRM byte: SIB and displacement */
static int modrm_tail(const struct cursor *c, uint8_t modrm, int addr_size, size_t *tail)
{
	unsigned mod = modrm >> 6, rm = modrm & 7;
	size_t k = 0;
	int r;

	if (addr_size == 2) {
		/* 16-bit addressing: no SIB; [disp16] replaces [bp] at mod 0 */
		if (mod == 0 && rm == 6)
			k = 2;
		else if (mod == 1)
			k = 1;
		else if (mod == 2)
			k = 2;
		*tail = k;
		return 0;
	}
	/* 32/64-bit addressing */
	if (rm == 4) {
		uint8_t sib;

		r = need(c, 1);
		if (r)
			return r;
		sib = c->b[c->pos];
		k = 1;
		if (mod == 0 && (sib & 7) == 5)
			k += 4;          /* no base: [index*s + disp32] */
	} else if (mod == 0 && rm == 5) {
		k = 4;                   /* disp32, or RIP/EIP-relative in long mode */
	}
	if (mod == 1)
		k += 1;
	else if (mod == 2)
		k += 4;
	*tail = k;
	return 0;
}

int x86_decode(const uint8_t *bytes, size_t n, enum x86_mode mode, struct x86_insn *out)
{
	struct cursor c = { bytes, n, 0 };
	bool long64 = mode == X86_MODE_LONG64;
	bool def16 = mode == X86_MODE_REAL16 || mode == X86_MODE_PROT16;
	bool opsize_pfx = false, addrsize_pfx = false;
	uint8_t rex = 0, op, modrm = 0;
	bool two_byte = false, has_modrm = true;
	int opsize, addr_size, r;
	size_t tail, imm_len = 0;
	struct x86_insn in;

	memset(&in, 0, sizeof(in));

	/* legacy prefixes and REX; a REX only counts right before the opcode */
	for (;;) {
		r = need(&c, 1);
		if (r)
			return r;
		op = bytes[c.pos];
		switch (op) {
		case 0x66:
			opsize_pfx = true;
			break;
		case 0x67:
			addrsize_pfx = true;
			break;
		case 0xf0:
			/* LOCK on MOV/MOVZX/MOVSX is #UD before any memory
			 * access (KVM's emulator injects #UD too): not ours */
			return -EINVAL;
		case 0x2e: case 0x36: case 0x3e: case 0x26: case 0x64: case 0x65:
			break;
		default:
			if (long64 && (op & 0xf0) == 0x40) {
				rex = op;
				c.pos++;
				continue;
			}
			goto prefixes_done;
		}
		rex = 0;                /* a legacy prefix after REX voids it */
		c.pos++;
	}
prefixes_done:
	c.pos++;                        /* the opcode byte */

	if (long64 && (rex & 0x08))
		opsize = 8;
	else if (def16)
		opsize = opsize_pfx ? 4 : 2;
	else
		opsize = opsize_pfx ? 2 : 4;
	if (long64)
		addr_size = addrsize_pfx ? 4 : 8;
	else if (def16)
		addr_size = addrsize_pfx ? 4 : 2;
	else
		addr_size = addrsize_pfx ? 2 : 4;

	if (op == 0x0f) {
		r = need(&c, 1);
		if (r)
			return r;
		op = bytes[c.pos++];
		two_byte = true;
	}

	if (!two_byte) {
		switch (op) {
		case 0x88: /* mov r/m8, r8 */
			in.op = X86_OP_STORE;
			in.mem_size = in.reg_size = 1;
			break;
		case 0x89: /* mov r/m, r */
			in.op = X86_OP_STORE;
			in.mem_size = in.reg_size = opsize;
			break;
		case 0x8a: /* mov r8, r/m8 */
			in.op = X86_OP_LOAD;
			in.mem_size = in.reg_size = 1;
			break;
		case 0x8b: /* mov r, r/m */
			in.op = X86_OP_LOAD;
			in.mem_size = in.reg_size = opsize;
			break;
		case 0xc6: /* mov r/m8, imm8 */
			in.op = X86_OP_STORE_IMM;
			in.mem_size = in.reg_size = 1;
			imm_len = 1;
			break;
		case 0xc7: /* mov r/m, imm16/imm32 (sign-extended for 64) */
			in.op = X86_OP_STORE_IMM;
			in.mem_size = in.reg_size = opsize;
			imm_len = opsize == 2 ? 2 : 4;
			break;
		case 0x63:
			/* movsxd r64, r/m32 (ARPL outside long mode).  Without
			 * REX.W it is a plain 16/32-bit move whose exact form
			 * the vendors document differently and no compiler
			 * emits: not taken. */
			if (!long64 || opsize != 8)
				return -EINVAL;
			in.op = X86_OP_LOAD_SX;
			in.reg_size = 8;
			in.mem_size = 4;
			break;
		case 0xa0: case 0xa1: case 0xa2: case 0xa3: /* mov al/eax <-> moffs */
			has_modrm = false;
			in.op = (op & 2) ? X86_OP_STORE : X86_OP_LOAD;
			in.mem_size = in.reg_size = (op & 1) ? opsize : 1;
			in.reg = 0;
			break;
		default:
			return -EINVAL;
		}
	} else {
		switch (op) {
		case 0xb6: case 0xb7: case 0xbe: case 0xbf:
			in.op = (op & 8) ? X86_OP_LOAD_SX : X86_OP_LOAD_ZX;
			in.mem_size = (op & 1) ? 2 : 1;
			in.reg_size = opsize;
			break;
		default:
			return -EINVAL;
		}
	}

	if (has_modrm) {
		unsigned reg;

		r = need(&c, 1);
		if (r)
			return r;
		modrm = bytes[c.pos++];
		if ((modrm >> 6) == 3)
			return -EINVAL; /* register operand: no memory access */
		reg = (modrm >> 3) & 7;
		if (in.op == X86_OP_STORE_IMM) {
			if (reg != 0)
				return -EINVAL; /* C6/C7 /1../7: #UD (or XABORT/XBEGIN) */
			in.reg = 0;
		} else if (in.reg_size == 1 && !rex && reg >= 4) {
			in.reg = reg - 4;       /* AH CH DH BH */
			in.reg_high8 = true;
		} else {
			in.reg = reg | ((rex & 0x04) ? 8 : 0);
		}
		r = modrm_tail(&c, modrm, addr_size, &tail);
		if (r)
			return r;
	} else {
		tail = addr_size;       /* moffs */
	}
	r = need(&c, tail);
	if (r)
		return r;
	c.pos += tail;

	if (imm_len) {
		uint64_t imm;

		r = need(&c, imm_len);
		if (r)
			return r;
		imm = get_le(&c, imm_len);
		c.pos += imm_len;
		if (in.mem_size == 8)
			imm = (uint64_t)(int64_t)(int32_t)imm;
		in.imm = imm;
	}

	in.len = c.pos;
	*out = in;
	return 0;
}
