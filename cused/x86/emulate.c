/* SPDX-License-Identifier: MIT */
/*
 * Register side of MMIO emulation; see emulate.h.  Register write rules
 * follow KVM's emulator (assign_register): a 32-bit write clears bits 63:32
 * in every mode, 8- and 16-bit writes keep the rest of the register.
 */
#include <string.h>
#include "cused/x86/emulate.h"

static uint64_t size_mask(unsigned size)
{
	return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
}

static uint64_t sign_extend(uint64_t v, unsigned size)
{
	unsigned shift;

	if (size >= 8)
		return v;
	shift = 64 - 8 * size;
	return (uint64_t)((int64_t)(v << shift) >> shift);
}

static bool is_store(enum x86_mem_op op)
{
	return op == X86_OP_STORE || op == X86_OP_STORE_IMM;
}

void x86_store_data(const struct x86_insn *in, const struct x86_gprs *g, uint8_t data[8])
{
	unsigned size = in->mem_size > 8 ? 8 : in->mem_size;
	uint64_t v;

	memset(data, 0, 8);
	if (in->op == X86_OP_STORE_IMM) {
		v = in->imm;
	} else if (in->op == X86_OP_STORE) {
		v = g->r[in->reg & 15];
		if (in->reg_high8)
			v >>= 8;
	} else {
		return;
	}
	for (unsigned i = 0; i < size; i++)
		data[i] = v >> (8 * i);
}

void x86_load_apply(const struct x86_insn *in, struct x86_gprs *g, const uint8_t data[8])
{
	unsigned msize = in->mem_size > 8 ? 8 : in->mem_size;
	unsigned rsize = in->reg_size > 8 ? 8 : in->reg_size;
	uint64_t *reg = &g->r[in->reg & 15];
	uint64_t v = 0;

	if (is_store(in->op))
		return;
	for (unsigned i = 0; i < msize; i++)
		v |= (uint64_t)data[i] << (8 * i);
	if (in->op == X86_OP_LOAD_SX)
		v = sign_extend(v, msize);
	/* LOAD and LOAD_ZX: v is already zero-extended */
	v &= size_mask(rsize);

	switch (rsize) {
	case 1:
		if (in->reg_high8)
			*reg = (*reg & ~0xff00ull) | v << 8;
		else
			*reg = (*reg & ~0xffull) | v;
		break;
	case 2:
		*reg = (*reg & ~0xffffull) | v;
		break;
	default:
		/* 4: zero-extends to 64 bits; 8: whole register */
		*reg = v;
		break;
	}
}
