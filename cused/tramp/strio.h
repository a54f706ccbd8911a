/* SPDX-License-Identifier: MIT */
/*
 * String port I/O (INS/OUTS, REP or not) the way KVM's emulator turns it
 * into KVM_EXIT_IO, for any backend that must do it itself (kmod always,
 * hostkvm when the host refuses): OUTS one element per exit; INS as many
 * elements as fit min(bytes left in rDI's page, STRIO_BUF / size, rCX),
 * read ahead in one exit.  RIP stays on the instruction until the last
 * element is done, so a REP resumes by executing it again.
 *
 * Pure bookkeeping plus one memory mover that reaches guest memory only
 * through struct walk_mem callbacks: tests/unit/test_strio.c drives it on
 * a plain buffer.
 */
#ifndef CUSED_TRAMP_STRIO_H
#define CUSED_TRAMP_STRIO_H

#include <stdbool.h>
#include <stdint.h>
#include "cused/mmu/walk.h"

/* the I/O buffer: KVM moves at most 1024 bytes of INS per exit */
#define STRIO_BUF 1024

/* one INS/OUTS in flight */
struct strio {
	bool in, rep;
	uint8_t size;           /* 1, 2, 4 */
	uint8_t seg;            /* CUSED_SEG_ES (INS) or the OUTS source segment */
	uint64_t addr_mask;     /* 0xffff, 0xffffffff or ~0 by address size */
	uint64_t off;           /* rSI/rDI & addr_mask at the exit */
	int step;               /* +size, or -size with RFLAGS.DF */
};

/*
 * Start an exit for s->in/rep/size/seg/addr_mask (the caller's decode) at
 * the given registers: fills the rest of *s and returns the element count
 * of the exit (1 for OUTS and plain INS/OUTS; the INS read-ahead batch),
 * or 0 for REP with rCX = 0, which only retires the instruction.
 */
uint32_t strio_begin(struct strio *s, uint64_t rcx, uint64_t rsi, uint64_t rdi,
		     uint64_t rflags);

/* offset in s->seg of element i of the exit */
uint64_t strio_elem_off(const struct strio *s, unsigned i);

/* a string register after moving by delta, as the address size updates it */
uint64_t strio_reg_add(uint64_t reg, int64_t delta, uint64_t mask);

/*
 * Retiring an exit of count elements given the registers now (the client
 * may have changed rCX in between, as KVM allows): n elements are consumed
 * (count, or rCX if that is less for REP; the rest of an INS read-ahead is
 * dropped), rSI/rDI becomes *reg, rCX *rcx (REP only), and *retire says
 * RIP moves past the instruction.
 */
struct strio_retire { unsigned n; uint64_t reg, rcx; bool retire; };
void strio_retire(const struct strio *s, unsigned count, uint64_t cur_reg, uint64_t cur_rcx,
		  struct strio_retire *out);

/* where the elements live: paging registers, segment base, and 64-bit code */
struct strio_env {
	struct walk_regs wr;
	struct walk_mem mem;    /* guest-physical RAM; -EFAULT where there is none */
	uint64_t seg_base;
	bool long64;            /* EFER.LMA && CS.L */
};

/*
 * Move n elements between data and s->seg:strio_elem_off(s, i), through
 * the guest's page tables (supervisor access, A/D set).  0, or -EFAULT if
 * an element is not guest RAM or its page faults.
 */
int strio_mem(const struct strio *s, const struct strio_env *env, uint8_t *data, unsigned n,
	      bool write);

#endif
