/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cused/mmu/dirty.h"
#include "cused/util/log.h"

struct dirty_bitmap *dirty_bitmap_new(uint64_t npages)
{
	uint64_t nwords = (npages + 63) / 64;
	size_t nroot = (size_t)((nwords + DIRTY_MID_WORDS - 1) / DIRTY_MID_WORDS);
	size_t sz = sizeof(struct dirty_bitmap) + nroot * sizeof(uint64_t **);
	struct dirty_bitmap *b = calloc(1, sz);

	if (!b)
		return NULL;
	b->nwords = nwords;
	b->nroot = nroot;
	b->footprint = sz;
	return b;
}

void dirty_bitmap_free(struct dirty_bitmap *b)
{
	if (!b)
		return;
	for (size_t i = 0; i < b->nroot; i++) {
		if (!b->root[i])
			continue;
		for (size_t j = 0; j < DIRTY_MID_PTRS; j++)
			free(b->root[i][j]);
		free(b->root[i]);
	}
	free(b);
}

/* the leaf holding word w, allocating it (and its mid page) if asked */
static uint64_t *leaf_of(struct dirty_bitmap *b, uint64_t w, bool alloc)
{
	uint64_t ***mid = &b->root[w / DIRTY_MID_WORDS];
	uint64_t **leaf;

	if (!*mid) {
		if (!alloc)
			return NULL;
		*mid = calloc(DIRTY_MID_PTRS, sizeof(**mid));
		if (!*mid)
			return NULL;
		b->footprint += DIRTY_MID_PTRS * sizeof(**mid);
	}
	leaf = &(*mid)[(w % DIRTY_MID_WORDS) / DIRTY_LEAF_WORDS];
	if (!*leaf && alloc) {
		*leaf = calloc(DIRTY_LEAF_WORDS, sizeof(uint64_t));
		if (*leaf)
			b->footprint += DIRTY_LEAF_WORDS * sizeof(uint64_t);
	}
	return *leaf;
}

/* free the leaf holding word w, and its mid page if that empties */
static void leaf_drop(struct dirty_bitmap *b, uint64_t w)
{
	uint64_t **mid = b->root[w / DIRTY_MID_WORDS];
	uint64_t **leaf = &mid[(w % DIRTY_MID_WORDS) / DIRTY_LEAF_WORDS];

	free(*leaf);
	*leaf = NULL;
	b->footprint -= DIRTY_LEAF_WORDS * sizeof(uint64_t);
	for (size_t j = 0; j < DIRTY_MID_PTRS; j++)
		if (mid[j])
			return;
	free(mid);
	b->root[w / DIRTY_MID_WORDS] = NULL;
	b->footprint -= DIRTY_MID_PTRS * sizeof(*mid);
}

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

void dirty_log_take(struct memslot *s, uint64_t first, size_t n, uint64_t *out)
{
	struct dirty_bitmap *b = s->dirty;
	uint64_t w = first, end = first + n;

	memset(out, 0, n * sizeof(*out));
	if (!b)
		return;
	if (end > b->nwords)
		end = b->nwords;
	while (w < end) {
		uint64_t lbase = w - w % DIRTY_LEAF_WORDS;
		uint64_t lend = lbase + DIRTY_LEAF_WORDS < end ? lbase + DIRTY_LEAF_WORDS : end;
		uint64_t *leaf = leaf_of(b, w, false);

		if (leaf) {
			memcpy(out + (w - first), leaf + (w - lbase), (lend - w) * sizeof(*out));
			memset(leaf + (w - lbase), 0, (lend - w) * sizeof(*out));
			/* taken whole (or up to the bitmap's end): give the memory back */
			if (w == lbase && (lend == lbase + DIRTY_LEAF_WORDS || lend == b->nwords))
				leaf_drop(b, w);
		}
		w = lend;
	}
}

int dirty_or_word(struct memslot *s, uint64_t w, uint64_t bits)
{
	uint64_t *leaf;

	if (!s->dirty || w >= s->dirty->nwords)
		return -EINVAL;
	if (!bits)
		return 0;
	leaf = leaf_of(s->dirty, w, true);
	if (!leaf)
		return -ENOMEM;
	leaf[w % DIRTY_LEAF_WORDS] |= bits;
	return 0;
}

uint64_t dirty_word(const struct memslot *s, uint64_t w)
{
	const uint64_t *leaf;

	if (!s->dirty || w >= s->dirty->nwords)
		return 0;
	leaf = leaf_of(s->dirty, w, false);
	return leaf ? leaf[w % DIRTY_LEAF_WORDS] : 0;
}

void dirty_mark(struct memslot *s, uint64_t gpa)
{
	uint64_t page;

	if (!s->dirty || gpa < s->gpa || gpa - s->gpa >= s->size)
		return;
	page = (gpa - s->gpa) >> 12;
	if (dirty_or_word(s, page / 64, 1ULL << (page % 64)))
		log_err("dirty log: no memory to mark gpa %#llx", (unsigned long long)gpa);
}
