/* SPDX-License-Identifier: MIT */
/*
 * Dirty page logging per slot, with the semantics of Linux 6.1
 * kvm_get_dirty_log_protect without manual protect: the log is taken and
 * cleared in one step.
 */
#ifndef CUSED_MMU_DIRTY_H
#define CUSED_MMU_DIRTY_H

#include <stddef.h>
#include <stdint.h>
#include "cused/mmu/memslot.h"

/* ALIGN(npages, 64) / 8, what the client's bitmap must hold */
size_t dirty_bitmap_bytes(const struct memslot *s);
/*
 * Checks for KVM_GET_DIRTY_LOG: id invalid (as_id != 0 or >= CUSED_USER_MEMSLOTS)
 * -> -EINVAL; no such slot or slot without LOG_DIRTY_PAGES -> -ENOENT.
 * Returns the slot in *out.  Does not log: the caller says why it refused.
 */
int dirty_log_lookup(struct memslot_table *t, uint32_t id, struct memslot **out);
/* copy the slot's bitmap out (dirty_bitmap_bytes) and clear it; the caller has
 * already ORed in the backend's hardware dirty bits */
void dirty_log_take(struct memslot *s, uint64_t *out);
/* mark the page holding gpa; no-op if the slot does not log or gpa is outside it */
void dirty_mark(struct memslot *s, uint64_t gpa);

#endif
