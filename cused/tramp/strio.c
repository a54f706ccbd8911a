/* SPDX-License-Identifier: MIT */
/* INS/OUTS bookkeeping shared by the backends; see strio.h. */
#include <errno.h>
#include "cused/tramp/strio.h"
#include "cused/tramp_abi.h"

#define RFLAGS_DF (1u << 10)

uint32_t strio_begin(struct strio *s, uint64_t rcx, uint64_t rsi, uint64_t rdi,
		     uint64_t rflags)
{
	uint64_t cnt = s->rep ? rcx & s->addr_mask : 1;
	uint64_t n = 1;
	bool df = rflags & RFLAGS_DF;

	s->off = (s->in ? rdi : rsi) & s->addr_mask;
	s->step = df ? -(int)s->size : s->size;
	if (!cnt)
		return 0;
	if (s->in) {
		/* KVM compares bytes left in the page with elements here; so do we */
		uint64_t in_page = df ? (s->off & 4095) : 4096 - (s->off & 4095);

		n = in_page < STRIO_BUF / s->size ? in_page : STRIO_BUF / s->size;
		n = n < cnt ? n : cnt;
		if (!n)
			n = 1;
	}
	return (uint32_t)n;
}

uint64_t strio_elem_off(const struct strio *s, unsigned i)
{
	return (s->off + (int64_t)s->step * i) & s->addr_mask;
}

uint64_t strio_reg_add(uint64_t reg, int64_t delta, uint64_t mask)
{
	if (mask == 0xffff)
		return (reg & ~0xffffull) | ((reg + delta) & 0xffff);
	if (mask == 0xffffffff)
		return (uint32_t)(reg + delta);    /* a 32-bit write zero-extends */
	return reg + delta;
}

void strio_retire(const struct strio *s, unsigned count, uint64_t cur_reg, uint64_t cur_rcx,
		  struct strio_retire *out)
{
	uint64_t left = cur_rcx & s->addr_mask;
	unsigned n = count;

	/* a client that lowered rCX gets only that many; 0 retires at once */
	if (s->rep && left < n)
		n = (unsigned)left;
	out->n = n;
	out->reg = strio_reg_add(cur_reg, (int64_t)s->step * n, s->addr_mask);
	out->rcx = s->rep ? strio_reg_add(cur_rcx, -(int64_t)n, s->addr_mask) : cur_rcx;
	out->retire = !s->rep || !(out->rcx & s->addr_mask);
}

int strio_mem(const struct strio *s, const struct strio_env *env, uint8_t *data, unsigned n,
	      bool write)
{
	/* in 64-bit code only FS and GS bases count */
	bool flat = env->long64 && s->seg != CUSED_SEG_FS && s->seg != CUSED_SEG_GS;

	for (unsigned i = 0; i < n; i++) {
		uint64_t lin = (flat ? 0 : env->seg_base) + strio_elem_off(s, i);

		if (!env->long64)
			lin &= 0xffffffffu;
		for (unsigned done = 0; done < s->size;) {
			struct walk_result res;
			unsigned chunk = 4096 - ((lin + done) & 4095);
			uint8_t *p = data + (size_t)i * s->size + done;
			int r;

			if (chunk > s->size - done)
				chunk = s->size - done;
			r = mmu_walk(&env->wr, &env->mem, lin + done, write ? WALK_WRITE : 0, true,
				     &res);
			if (!r)
				r = write ? env->mem.write(env->mem.ctx, res.gpa, p, chunk) :
					    env->mem.read(env->mem.ctx, res.gpa, p, chunk);
			if (r)
				return -EFAULT;
			done += chunk;
		}
	}
	return 0;
}
