/* SPDX-License-Identifier: MIT */
/*
 * The guest page-table walker used for KVM_TRANSLATE and instruction
 * emulation.  It reads guest page tables through callbacks so that it needs
 * no VM and can be tested on a plain buffer.
 *
 * Assumptions where the walker cannot see the guest's CPUID: MAXPHYADDR is
 * 52 (no address bit is reserved for being above it; PSE-36 carries 8 high
 * bits), 1 GB pages are supported, protection keys are off, and non-leaf
 * bit 8 is not reserved (Intel behaviour).
 */
#ifndef CUSED_MMU_WALK_H
#define CUSED_MMU_WALK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct walk_regs { uint64_t cr0, cr3, cr4, efer; };
struct walk_mem {
	int (*read)(void *ctx, uint64_t gpa, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t gpa, const void *buf, size_t len);
	void *ctx;
};

#define WALK_WRITE (1u << 1)  /* same bit values as x86 #PF error code: P=0 W=1 U=2 RSVD=3 I/D=4 */
#define WALK_USER  (1u << 2)
#define WALK_FETCH (1u << 4)

/* #PF error code bits the walker reports besides the access bits above */
#define WALK_PF_PRESENT (1u << 0)
#define WALK_PF_RSVD    (1u << 3)

/*
 * level: 1 for a 4 KB leaf, 2 for 2/4 MB, 3 for 1 GB, 0 with paging off; on
 * a fault, the level of the entry that faulted.  writable/user/nx: the rights of the walk (R/W and U/S ANDed,
 * XD ORed over the levels read), whether or not the access was allowed; on
 * a not-present or reserved-bit fault they cover only the levels above it.
 */
struct walk_result { uint64_t gpa; uint32_t error_code; int level; bool writable, user, nx; };

/*
 * Translate gva for access (WALK_* bits; 0 is a supervisor read).
 * Returns 0 on success, -EFAULT on a page fault (res->error_code holds the
 * #PF error code).  As KVM's walker: with paging off the address is returned
 * unchanged, and in long mode bits above the paging width (47 or 56) are not
 * checked for canonical form — the caller does that where the CPU would #GP.
 * With set_ad, sets Accessed on every level walked and Dirty on the leaf for
 * a write, as the CPU does, and only when the translation succeeds.
 */
int mmu_walk(const struct walk_regs *r, const struct walk_mem *m, uint64_t gva, uint32_t access,
	     bool set_ad, struct walk_result *res);

#endif
