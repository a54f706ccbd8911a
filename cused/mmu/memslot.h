/* SPDX-License-Identifier: MIT */
/*
 * Guest memory slots: the table KVM_SET_USER_MEMORY_REGION edits, and
 * guest-physical copies through it for the daemon's own emulation.
 *
 * The table is not locked here: the VM holds its lock around every call.
 * Slot pointers stay valid until that slot is deleted (slots live in an
 * array indexed by id; only a side index sorted by gpa moves).
 */
#ifndef CUSED_MMU_MEMSLOT_H
#define CUSED_MMU_MEMSLOT_H

#include <stddef.h>
#include <stdint.h>
#include <linux/kvm.h>

#define CUSED_USER_MEMSLOTS 512          /* reported as KVM_CAP_NR_MEMSLOTS */
#define CUSED_MEM_MAX_NR_PAGES ((1ULL << 31) - 1)  /* like KVM_MEM_MAX_NR_PAGES */

struct dirty_bitmap;

struct memslot {
	uint32_t id;        /* slot id as the client named it (address space 0 only) */
	uint32_t flags;     /* KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY */
	uint64_t gpa, size; /* page aligned; size 0 means the slot is unused */
	uint64_t uaddr;     /* client's userspace_addr */
	void *hva;          /* daemon's own mapping of the range; NULL allowed in tests */
	struct dirty_bitmap *dirty; /* sparse, one bit per page, iff LOG_DIRTY_PAGES (dirty.h) */
};

enum memslot_change { MEMSLOT_NONE, MEMSLOT_CREATE, MEMSLOT_DELETE, MEMSLOT_MOVE, MEMSLOT_FLAGS };

struct memslot_table {
	struct memslot slot[CUSED_USER_MEMSLOTS];  /* indexed by id */
	uint16_t by_gpa[CUSED_USER_MEMSLOTS];      /* ids of used slots, ascending gpa */
	unsigned nr;                               /* used slots */
};

void memslot_table_init(struct memslot_table *t);
/* frees bitmaps; does not munmap hva */
void memslot_table_fini(struct memslot_table *t);

/*
 * Validate a KVM_SET_USER_MEMORY_REGION as Linux 6.1 __kvm_set_memory_region
 * and check_memory_region_flags do, errno for errno.  Returns the change kind
 * (>= 0) or -errno.  Modifies nothing.
 */
int memslot_check(const struct memslot_table *t, const struct kvm_userspace_memory_region *r,
		  uint32_t valid_flags);
/*
 * Apply a change returned by memslot_check.  hva is the daemon mapping for
 * CREATE (ignored otherwise).  *old_hva (may be NULL) receives the hva the
 * caller must unmap for DELETE, NULL otherwise.  MOVE keeps hva and the dirty
 * bitmap; FLAGS allocates or frees the bitmap.  -ENOMEM leaves the table as
 * it was; -EINVAL if ch does not fit the table (check was not called).
 */
int memslot_commit(struct memslot_table *t, const struct kvm_userspace_memory_region *r,
		   enum memslot_change ch, void *hva, void **old_hva);

/* NULL for an unused or out-of-range id */
struct memslot *memslot_by_id(struct memslot_table *t, uint32_t id);
const struct memslot *memslot_by_gpa(const struct memslot_table *t, uint64_t gpa);
/* iterate: returns slot i of n (ascending gpa), NULL past the end */
struct memslot *memslot_at(struct memslot_table *t, unsigned i);

/*
 * Guest-physical copy through slots' hva; may cross slot boundaries.
 * -EFAULT if any byte is unmapped (or, for write, in a READONLY slot), and
 * then nothing is copied.  Writes mark pages dirty in slots that log.
 */
int memslot_read(const struct memslot_table *t, uint64_t gpa, void *buf, size_t len);
int memslot_write(struct memslot_table *t, uint64_t gpa, const void *buf, size_t len);

#endif
