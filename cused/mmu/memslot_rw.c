/* SPDX-License-Identifier: MIT */
/*
 * Guest-physical copies for the daemon's own emulation (page walks, MMIO
 * instruction fetch, device models).  The whole range is checked before any
 * byte moves, so a failed write leaves guest memory untouched.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>
#include "cused/mmu/memslot.h"
#include "cused/mmu/dirty.h"
#include "cused/mmu/guestcopy.h"

/* 0 if [gpa, gpa+len) is all backed (and writable when write), else -EFAULT */
static int range_ok(const struct memslot_table *t, uint64_t gpa, size_t len, bool write)
{
	if (gpa + len < gpa)
		return -EFAULT;
	while (len) {
		const struct memslot *s = memslot_by_gpa(t, gpa);
		uint64_t chunk;

		if (!s || !s->hva || (write && (s->flags & KVM_MEM_READONLY)))
			return -EFAULT;
		chunk = s->gpa + s->size - gpa;
		if (chunk > len)
			chunk = len;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int memslot_read(const struct memslot_table *t, uint64_t gpa, void *buf, size_t len)
{
	uint8_t *p = buf;
	int r = range_ok(t, gpa, len, false);

	if (r)
		return r;
	while (len) {
		const struct memslot *s = memslot_by_gpa(t, gpa);
		uint64_t off = gpa - s->gpa;
		size_t chunk = s->size - off < len ? (size_t)(s->size - off) : len;

		/* the client shrank the file behind the slot: like unbacked memory */
		if (guest_copy(p, (const uint8_t *)s->hva + off, chunk))
			return -EFAULT;
		p += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}

int memslot_write(struct memslot_table *t, uint64_t gpa, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int r = range_ok(t, gpa, len, true);

	if (r)
		return r;
	while (len) {
		struct memslot *s = memslot_by_id(t, memslot_by_gpa(t, gpa)->id);
		uint64_t off = gpa - s->gpa;
		size_t chunk = s->size - off < len ? (size_t)(s->size - off) : len;

		if (guest_copy((uint8_t *)s->hva + off, p, chunk))
			return -EFAULT;
		/* every page the chunk touches, including a partial last one */
		for (uint64_t a = gpa & ~0xfffULL; a < gpa + chunk; a += 4096)
			dirty_mark(s, a);
		p += chunk;
		gpa += chunk;
		len -= chunk;
	}
	return 0;
}
