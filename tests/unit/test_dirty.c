/* SPDX-License-Identifier: MIT */
/* KVM_GET_DIRTY_LOG lookup rules and take-and-clear (cused/mmu/dirty). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/mmu/memslot.h"
#include "cused/mmu/dirty.h"
#include "memslot_fixture.h"

#define PG 4096ULL

static void add(struct memslot_table *t, uint32_t slot, uint32_t flags, uint64_t gpa,
		uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = 0x10000000ULL * (slot + 1),
	};
	int ch = memslot_check(t, &r, KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY);

	assert_true(ch > 0);
	assert_int_equal(memslot_commit(t, &r, ch, hva, NULL), 0);
}

static void test_bitmap_bytes(void **state)
{
	struct memslot s = { .size = PG };

	assert_int_equal(dirty_bitmap_bytes(&s), 8);
	s.size = 64 * PG;
	assert_int_equal(dirty_bitmap_bytes(&s), 8);
	s.size = 65 * PG;
	assert_int_equal(dirty_bitmap_bytes(&s), 16);
	s.size = CUSED_MEM_MAX_NR_PAGES * PG;
	assert_int_equal(dirty_bitmap_bytes(&s), (1ULL << 31) / 8);
}

static void test_lookup_errors(void **state)
{
	struct memslot_table *t = *state;
	struct memslot *s = NULL;

	add(t, 0, 0, 0, PG, NULL);
	add(t, 1, KVM_MEM_LOG_DIRTY_PAGES, PG, PG, NULL);
	/* invalid ids before existence */
	assert_int_equal(dirty_log_lookup(t, 1u << 16, &s), -EINVAL);
	assert_int_equal(dirty_log_lookup(t, (1u << 16) | 1, &s), -EINVAL);
	assert_int_equal(dirty_log_lookup(t, CUSED_USER_MEMSLOTS, &s), -EINVAL);
	assert_int_equal(dirty_log_lookup(t, 0xffff, &s), -EINVAL);
	/* valid id, but no slot or no logging */
	assert_int_equal(dirty_log_lookup(t, 2, &s), -ENOENT);
	assert_int_equal(dirty_log_lookup(t, CUSED_USER_MEMSLOTS - 1, &s), -ENOENT);
	assert_int_equal(dirty_log_lookup(t, 0, &s), -ENOENT);
	assert_null(s);
	assert_int_equal(dirty_log_lookup(t, 1, &s), 0);
	assert_ptr_equal(s, memslot_by_id(t, 1));
}

static void test_lookup_follows_flags(void **state)
{
	struct memslot_table *t = *state;
	struct kvm_userspace_memory_region r = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .memory_size = PG,
		.userspace_addr = 0x10000000,
	};
	struct memslot *s;

	add(t, 0, 0, 0, PG, NULL);
	assert_int_equal(dirty_log_lookup(t, 0, &s), -ENOENT);
	assert_int_equal(memslot_commit(t, &r, memslot_check(t, &r, KVM_MEM_LOG_DIRTY_PAGES),
					NULL, NULL), 0);
	assert_int_equal(dirty_log_lookup(t, 0, &s), 0);
	r.flags = 0;
	assert_int_equal(memslot_commit(t, &r, memslot_check(t, &r, KVM_MEM_LOG_DIRTY_PAGES),
					NULL, NULL), 0);
	assert_int_equal(dirty_log_lookup(t, 0, &s), -ENOENT);
}

static void test_take_and_clear(void **state)
{
	struct memslot_table *t = *state;
	uint8_t *mem = calloc(1, 100 * PG);
	uint64_t out[2];
	struct memslot *s;
	uint8_t v = 1;

	add(t, 3, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 100 * PG, mem);
	assert_int_equal(dirty_log_lookup(t, 3, &s), 0);
	assert_int_equal(dirty_bitmap_bytes(s), 16);
	dirty_mark(s, 0x100000);
	dirty_mark(s, 0x100fff);               /* same page */
	dirty_mark(s, 0x100000 + 63 * PG);
	dirty_mark(s, 0x100000 + 99 * PG + 5);
	/* outside the slot: ignored */
	dirty_mark(s, 0x100000 + 100 * PG);
	dirty_mark(s, 0xff000);
	/* what the backend would OR in */
	assert_int_equal(dirty_or_word(s, 1, 1ULL << 2), 0);
	assert_int_equal(memslot_write(t, 0x100000 + 70 * PG, &v, 1), 0);
	memset(out, 0xff, sizeof(out));
	dirty_log_take(s, 0, 2, out);
	assert_int_equal(out[0], 1ULL | (1ULL << 63));
	assert_int_equal(out[1], (1ULL << 2) | (1ULL << 6) | (1ULL << 35));
	/* taken means cleared */
	assert_int_equal(dirty_word(s, 0) | dirty_word(s, 1), 0);
	memset(out, 0xff, sizeof(out));
	dirty_log_take(s, 0, 2, out);
	assert_int_equal(out[0] | out[1], 0);
	memslot_table_fini(t);
	free(mem);
}

static void test_mark_without_log(void **state)
{
	struct memslot s = { .gpa = 0, .size = PG };

	/* a slot that does not log has no bitmap to touch */
	dirty_mark(&s, 0);
	assert_null(s.dirty);
}

/* a slot at KVM's page limit costs what is marked, and takes give it back */
static void test_sparse_huge_slot(void **state)
{
	struct memslot_table *t = *state;
	const uint64_t size = CUSED_MEM_MAX_NR_PAGES * PG;   /* ~8 TiB */
	const uint64_t pages[] = { 0, 64 * 1000 + 3, (1ULL << 30) + 17, CUSED_MEM_MAX_NR_PAGES - 1 };
	uint64_t *chunk = malloc(8192 * sizeof(*chunk));
	uint64_t words, seen = 0;
	struct memslot *s;

	add(t, 7, KVM_MEM_LOG_DIRTY_PAGES, 1ULL << 40, size, NULL);
	assert_int_equal(dirty_log_lookup(t, 7, &s), 0);
	/* fixed cost: the root only (a flat bitmap would be 256 MiB) */
	assert_true(s->dirty->footprint <= 2048);
	for (unsigned i = 0; i < 4; i++)
		dirty_mark(s, (1ULL << 40) + pages[i] * PG);
	/* 4 leaves and at most 4 mid pages */
	assert_true(s->dirty->footprint <= 2048 + 8 * 4096);
	assert_int_equal(dirty_word(s, pages[1] / 64), 1ULL << 3);
	assert_int_equal(dirty_word(s, 5), 0);
	assert_int_equal(dirty_or_word(s, dirty_bitmap_bytes(s) / 8, 1), -EINVAL);

	/* taken in chunks, as KVM_GET_DIRTY_LOG copies out */
	words = dirty_bitmap_bytes(s) / 8;
	for (uint64_t w = 0; w < words; w += 8192) {
		size_t n = words - w < 8192 ? words - w : 8192;

		memset(chunk, 0xff, n * sizeof(*chunk));
		dirty_log_take(s, w, n, chunk);
		for (size_t i = 0; i < n; i++) {
			for (int b = 0; chunk[i] && b < 64; b++) {
				if (!(chunk[i] & (1ULL << b)))
					continue;
				assert_int_equal((w + i) * 64 + b, pages[seen]);
				seen++;
			}
		}
	}
	assert_int_equal(seen, 4);
	/* everything taken: back to the root alone */
	assert_true(s->dirty->footprint <= 2048);
	assert_int_equal(dirty_word(s, pages[1] / 64), 0);
	free(chunk);
	memslot_table_fini(t);
}

/* a take that covers part of a leaf clears only that part and keeps the leaf */
static void test_partial_take(void **state)
{
	struct memslot_table *t = *state;
	uint64_t out[3];
	struct memslot *s;
	size_t held;

	add(t, 2, KVM_MEM_LOG_DIRTY_PAGES, 0, 1024 * 64 * PG, NULL);
	assert_int_equal(dirty_log_lookup(t, 2, &s), 0);
	assert_int_equal(dirty_or_word(s, 10, 0xf0), 0);
	assert_int_equal(dirty_or_word(s, 12, 0x1), 0);
	held = s->dirty->footprint;
	dirty_log_take(s, 10, 2, out);
	assert_int_equal(out[0], 0xf0);
	assert_int_equal(out[1], 0);
	assert_int_equal(s->dirty->footprint, held);
	assert_int_equal(dirty_word(s, 10), 0);
	assert_int_equal(dirty_word(s, 12), 1);
	memslot_table_fini(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_bytes),
		cmocka_unit_test_setup_teardown(test_lookup_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_follows_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(test_take_and_clear, setup, teardown),
		cmocka_unit_test(test_mark_without_log),
		cmocka_unit_test_setup_teardown(test_sparse_huge_slot, setup, teardown),
		cmocka_unit_test_setup_teardown(test_partial_take, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
