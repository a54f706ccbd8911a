/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical access through the daemon's own mapping of one backend
 * slot, for what a backend emulates itself (string I/O, refused
 * instructions).  Both backends keep their own slot tables; the rules of
 * an access are here once.
 */
#ifndef CUSED_TRAMP_SLOT_RW_H
#define CUSED_TRAMP_SLOT_RW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct slot_view {
	uint64_t gpa, size;
	uint8_t *hva;       /* the daemon's mapping of the whole slot */
	bool writable;      /* false: a KVM_MEM_READONLY slot, mapped PROT_READ */
};

/*
 * Copy len bytes between buf and guest-physical gpa if [gpa, gpa+len) lies
 * inside slot s.  -ENOENT: not inside s (try the next slot).  -EFAULT: a
 * write to a read-only slot (ROM to the guest; the daemon's mapping is
 * read-only, so the store would kill the daemon), or the client's file
 * shrank under the mapping.  0: copied.
 */
int slot_rw(const struct slot_view *s, uint64_t gpa, void *buf, size_t len, bool write);

#endif
