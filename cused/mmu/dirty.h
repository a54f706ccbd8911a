/* SPDX-License-Identifier: MIT */
/*
 * Dirty page logging per slot, with the semantics of Linux 6.1
 * kvm_get_dirty_log_protect without manual protect: the log is taken and
 * cleared in one step.
 *
 * The bitmap is sparse so a slot costs what its guest touches, not its size
 * (a flat bitmap is 32 MiB per TiB of slot, and the daemon, not the client,
 * would pay it): a small root of pointers to mid-level pages of pointers to
 * 4 KiB leaves of bits, leaves and mid pages allocated on the first mark in
 * their range and freed when a take clears them.  Fixed cost per slot is the
 * root (<= 1 KiB at KVM's 2^31-page slot limit); each touched 128 MiB of
 * guest range adds one 4 KiB leaf (and one 4 KiB mid page per 64 GiB).
 * Bit b of word w is page 64 * w + b of the slot, as in KVM's
 * little-endian unsigned long bitmap on x86-64.
 */
#ifndef CUSED_MMU_DIRTY_H
#define CUSED_MMU_DIRTY_H

#include <stddef.h>
#include <stdint.h>
#include "cused/mmu/memslot.h"

#define DIRTY_LEAF_WORDS 512ULL                         /* 4 KiB of bits */
#define DIRTY_MID_PTRS 512ULL                           /* 4 KiB of pointers */
#define DIRTY_MID_WORDS (DIRTY_LEAF_WORDS * DIRTY_MID_PTRS)

struct dirty_bitmap {
	uint64_t nwords;          /* ALIGN(npages, 64) / 64 */
	size_t nroot;             /* DIV_ROUND_UP(nwords, DIRTY_MID_WORDS) */
	size_t footprint;         /* bytes held, this struct included */
	uint64_t **root[];        /* mid pages, each DIRTY_MID_PTRS leaves or NULL */
};

/* an empty bitmap for npages pages; NULL on allocation failure */
struct dirty_bitmap *dirty_bitmap_new(uint64_t npages);
/* frees every leaf and mid page too; NULL is a no-op */
void dirty_bitmap_free(struct dirty_bitmap *b);

/* ALIGN(npages, 64) / 8, what the client's bitmap must hold */
size_t dirty_bitmap_bytes(const struct memslot *s);
/*
 * Checks for KVM_GET_DIRTY_LOG: id invalid (as_id != 0 or >= CUSED_USER_MEMSLOTS)
 * -> -EINVAL; no such slot or slot without LOG_DIRTY_PAGES -> -ENOENT.
 * Returns the slot in *out.  Does not log: the caller says why it refused.
 */
int dirty_log_lookup(struct memslot_table *t, uint32_t id, struct memslot **out);
/*
 * Copy words [first, first + n) of the slot's bitmap to out and clear them
 * (zeros past the end of the bitmap or if the slot does not log).  The
 * caller takes the whole log chunk by chunk, after it has ORed in the
 * backend's hardware dirty bits.  Leaves a take clears entirely are freed.
 */
void dirty_log_take(struct memslot *s, uint64_t first, size_t n, uint64_t *out);
/* mark the page holding gpa; no-op if the slot does not log or gpa is outside it */
void dirty_mark(struct memslot *s, uint64_t gpa);
/* OR bits into word w (backends' collected bits); 0, -ENOMEM, or -EINVAL past the end */
int dirty_or_word(struct memslot *s, uint64_t w, uint64_t bits);
/* word w of the slot's bitmap, 0 where nothing is allocated */
uint64_t dirty_word(const struct memslot *s, uint64_t w);

#endif
