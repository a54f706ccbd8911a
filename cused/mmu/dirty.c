/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include "cused/mmu/dirty.h"

size_t dirty_bitmap_bytes(const struct memslot *s)
{
	uint64_t npages = s->size >> 12;

	/* whole longs, as KVM copies the bitmap in unsigned longs */
	return (size_t)(((npages + 63) & ~63ULL) / 8);
}

int dirty_log_lookup(struct memslot_table *t, uint32_t id, struct memslot **out)
{
	struct memslot *s;

	if ((id >> 16) || (uint16_t)id >= CUSED_USER_MEMSLOTS)
		return -EINVAL;
	s = memslot_by_id(t, id);
	if (!s || !s->dirty)
		return -ENOENT;
	*out = s;
	return 0;
}

void dirty_log_take(struct memslot *s, uint64_t *out)
{
	size_t n = dirty_bitmap_bytes(s);

	if (!s->dirty) {
		memset(out, 0, n);
		return;
	}
	memcpy(out, s->dirty, n);
	memset(s->dirty, 0, n);
}

void dirty_mark(struct memslot *s, uint64_t gpa)
{
	uint64_t page;

	if (!s->dirty || gpa < s->gpa || gpa - s->gpa >= s->size)
		return;
	page = (gpa - s->gpa) >> 12;
	/* bit order of the kernel's little-endian unsigned long bitmap on x86-64 */
	s->dirty[page / 64] |= 1ULL << (page % 64);
}
