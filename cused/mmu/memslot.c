/* SPDX-License-Identifier: MIT */
/* The slot table: storage by id, a gpa-sorted index, and commits. */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "cused/mmu/memslot.h"
#include "cused/mmu/dirty.h"

void memslot_table_init(struct memslot_table *t)
{
	memset(t, 0, sizeof(*t));
}

void memslot_table_fini(struct memslot_table *t)
{
	for (unsigned i = 0; i < CUSED_USER_MEMSLOTS; i++)
		dirty_bitmap_free(t->slot[i].dirty);
	memset(t, 0, sizeof(*t));
}

struct memslot *memslot_by_id(struct memslot_table *t, uint32_t id)
{
	if (id >= CUSED_USER_MEMSLOTS || !t->slot[id].size)
		return NULL;
	return &t->slot[id];
}

/* index in by_gpa of the first slot whose gpa is above gpa */
static unsigned upper_bound(const struct memslot_table *t, uint64_t gpa)
{
	unsigned lo = 0, hi = t->nr;

	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->slot[t->by_gpa[mid]].gpa <= gpa)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

const struct memslot *memslot_by_gpa(const struct memslot_table *t, uint64_t gpa)
{
	unsigned i = upper_bound(t, gpa);
	const struct memslot *s;

	/* slots never overlap, so only the last one starting at or below gpa can hold it */
	if (!i)
		return NULL;
	s = &t->slot[t->by_gpa[i - 1]];
	return gpa - s->gpa < s->size ? s : NULL;
}

struct memslot *memslot_at(struct memslot_table *t, unsigned i)
{
	return i < t->nr ? &t->slot[t->by_gpa[i]] : NULL;
}

static void index_insert(struct memslot_table *t, uint16_t id)
{
	unsigned i = upper_bound(t, t->slot[id].gpa);

	memmove(&t->by_gpa[i + 1], &t->by_gpa[i], (t->nr - i) * sizeof(t->by_gpa[0]));
	t->by_gpa[i] = id;
	t->nr++;
}

static void index_remove(struct memslot_table *t, uint16_t id)
{
	for (unsigned i = 0; i < t->nr; i++)
		if (t->by_gpa[i] == id) {
			memmove(&t->by_gpa[i], &t->by_gpa[i + 1],
				(t->nr - i - 1) * sizeof(t->by_gpa[0]));
			t->nr--;
			return;
		}
}

/*
 * Give the slot a bitmap iff flags ask for logging.  An existing bitmap is
 * kept, bits and all, as KVM does when a logging slot moves.
 */
static int set_logging(struct memslot *s, uint32_t flags)
{
	if (!(flags & KVM_MEM_LOG_DIRTY_PAGES)) {
		dirty_bitmap_free(s->dirty);
		s->dirty = NULL;
		return 0;
	}
	if (!s->dirty) {
		s->dirty = dirty_bitmap_new(s->size >> 12);
		if (!s->dirty)
			return -ENOMEM;
	}
	return 0;
}

int memslot_commit(struct memslot_table *t, const struct kvm_userspace_memory_region *r,
		   enum memslot_change ch, void *hva, void **old_hva)
{
	uint16_t id = (uint16_t)r->slot;
	struct memslot *s;
	struct memslot n;
	int err;

	if (old_hva)
		*old_hva = NULL;
	if (ch == MEMSLOT_NONE)
		return 0;
	if (id >= CUSED_USER_MEMSLOTS)
		return -EINVAL;
	s = &t->slot[id];
	/* a change that does not fit the table means memslot_check was skipped */
	if ((ch == MEMSLOT_CREATE) != !s->size)
		return -EINVAL;

	switch (ch) {
	case MEMSLOT_CREATE:
		n = (struct memslot){
			.id = id, .flags = r->flags, .gpa = r->guest_phys_addr,
			.size = r->memory_size, .uaddr = r->userspace_addr, .hva = hva,
		};
		err = set_logging(&n, n.flags);
		if (err)
			return err;
		*s = n;
		index_insert(t, id);
		return 0;
	case MEMSLOT_DELETE:
		if (old_hva)
			*old_hva = s->hva;
		index_remove(t, id);
		dirty_bitmap_free(s->dirty);
		memset(s, 0, sizeof(*s));
		return 0;
	case MEMSLOT_MOVE:
	case MEMSLOT_FLAGS:
		err = set_logging(s, r->flags);
		if (err)
			return err;
		s->flags = r->flags;
		if (s->gpa != r->guest_phys_addr) {
			index_remove(t, id);
			s->gpa = r->guest_phys_addr;
			index_insert(t, id);
		}
		return 0;
	default:
		return -EINVAL;
	}
}
