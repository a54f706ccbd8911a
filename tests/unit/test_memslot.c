/* SPDX-License-Identifier: MIT */
/* KVM_SET_USER_MEMORY_REGION rules and guest-physical copies (cused/mmu/memslot). */
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
#define VALID (KVM_MEM_LOG_DIRTY_PAGES | KVM_MEM_READONLY)

static struct kvm_userspace_memory_region region(uint32_t slot, uint32_t flags, uint64_t gpa,
						 uint64_t size, uint64_t uaddr)
{
	return (struct kvm_userspace_memory_region){
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = uaddr,
	};
}

/* check then commit, as the VM does; returns the check result */
static int set(struct memslot_table *t, uint32_t slot, uint32_t flags, uint64_t gpa,
	       uint64_t size, uint64_t uaddr, void *hva)
{
	struct kvm_userspace_memory_region r = region(slot, flags, gpa, size, uaddr);
	int ch = memslot_check(t, &r, VALID);

	if (ch >= 0)
		assert_int_equal(memslot_commit(t, &r, ch, hva, NULL), 0);
	return ch;
}

static int check(struct memslot_table *t, uint32_t slot, uint32_t flags, uint64_t gpa,
		 uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region r = region(slot, flags, gpa, size, uaddr);

	return memslot_check(t, &r, VALID);
}

static void test_create(void **state)
{
	struct memslot_table *t = *state;
	struct memslot *s;

	assert_int_equal(set(t, 3, 0, 0x100000, 4 * PG, 0x7f0000000000, NULL), MEMSLOT_CREATE);
	s = memslot_by_id(t, 3);
	assert_non_null(s);
	assert_int_equal(s->id, 3);
	assert_int_equal(s->gpa, 0x100000);
	assert_int_equal(s->size, 4 * PG);
	assert_int_equal(s->uaddr, 0x7f0000000000);
	assert_null(s->dirty);
	assert_null(memslot_by_id(t, 2));
	assert_null(memslot_by_id(t, CUSED_USER_MEMSLOTS));
	assert_ptr_equal(memslot_at(t, 0), s);
	assert_null(memslot_at(t, 1));
	/* the same request again changes nothing */
	assert_int_equal(check(t, 3, 0, 0x100000, 4 * PG, 0x7f0000000000), MEMSLOT_NONE);
}

static void test_overlap_and_adjacent(void **state)
{
	struct memslot_table *t = *state;

	assert_int_equal(set(t, 0, 0, 0x10000, 4 * PG, 0x1000000, NULL), MEMSLOT_CREATE);
	/* overlapping the start, the end, inside, and enclosing */
	assert_int_equal(check(t, 1, 0, 0xf000, 2 * PG, 0x2000000), -EEXIST);
	assert_int_equal(check(t, 1, 0, 0x13000, 2 * PG, 0x2000000), -EEXIST);
	assert_int_equal(check(t, 1, 0, 0x11000, PG, 0x2000000), -EEXIST);
	assert_int_equal(check(t, 1, 0, 0, 0x100000, 0x2000000), -EEXIST);
	/* touching on either side is fine */
	assert_int_equal(set(t, 1, 0, 0x14000, PG, 0x2000000, NULL), MEMSLOT_CREATE);
	assert_int_equal(set(t, 2, 0, 0xf000, PG, 0x3000000, NULL), MEMSLOT_CREATE);
	/* the failed checks left nothing behind */
	assert_non_null(memslot_at(t, 2));
	assert_null(memslot_at(t, 3));
	/* iteration is in gpa order */
	assert_int_equal(memslot_at(t, 0)->id, 2);
	assert_int_equal(memslot_at(t, 1)->id, 0);
	assert_int_equal(memslot_at(t, 2)->id, 1);
}

static void test_delete(void **state)
{
	struct memslot_table *t = *state;
	struct kvm_userspace_memory_region r;
	char mem[1];
	void *old = NULL;

	assert_int_equal(set(t, 5, KVM_MEM_LOG_DIRTY_PAGES, 0x20000, 2 * PG, 0x1000000, mem),
			 MEMSLOT_CREATE);
	/* delete ignores the other fields, as KVM does */
	r = region(5, 0, 0x999000, 0, 0x5000);
	assert_int_equal(memslot_check(t, &r, VALID), MEMSLOT_DELETE);
	assert_int_equal(memslot_commit(t, &r, MEMSLOT_DELETE, NULL, &old), 0);
	assert_ptr_equal(old, mem);
	assert_null(memslot_by_id(t, 5));
	assert_null(memslot_by_gpa(t, 0x20000));
	assert_null(memslot_at(t, 0));
	/* deleting it again, or a slot never created */
	assert_int_equal(check(t, 5, 0, 0x20000, 0, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 6, 0, 0, 0, 0), -EINVAL);
	/* the id is free for a new slot */
	assert_int_equal(set(t, 5, 0, 0x20000, PG, 0x1000000, NULL), MEMSLOT_CREATE);
}

static void test_move(void **state)
{
	struct memslot_table *t = *state;
	struct kvm_userspace_memory_region r;
	char mem[1];
	void *old = &old;
	struct memslot *s;

	assert_int_equal(set(t, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x100000, 4 * PG, 0x1000000, mem),
			 MEMSLOT_CREATE);
	assert_int_equal(set(t, 2, 0, 0x200000, 4 * PG, 0x2000000, NULL), MEMSLOT_CREATE);
	s = memslot_by_id(t, 1);
	dirty_mark(s, 0x101000);
	/* onto another slot: refused */
	assert_int_equal(check(t, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x1ff000, 4 * PG, 0x1000000), -EEXIST);
	/* overlapping its own old place is fine */
	r = region(1, KVM_MEM_LOG_DIRTY_PAGES, 0x102000, 4 * PG, 0x1000000);
	assert_int_equal(memslot_check(t, &r, VALID), MEMSLOT_MOVE);
	assert_int_equal(memslot_commit(t, &r, MEMSLOT_MOVE, (void *)1, &old), 0);
	assert_null(old);
	assert_ptr_equal(memslot_by_id(t, 1), s);
	assert_int_equal(s->gpa, 0x102000);
	assert_ptr_equal(s->hva, mem);
	/* the bitmap survives the move, as in KVM */
	assert_non_null(s->dirty);
	assert_int_equal(dirty_word(s, 0), 2);
	assert_null(memslot_by_gpa(t, 0x101fff));
	assert_ptr_equal(memslot_by_gpa(t, 0x102000), s);
	assert_ptr_equal(memslot_by_gpa(t, 0x105fff), s);
	/* move past the other slot: gpa order follows */
	assert_int_equal(set(t, 1, KVM_MEM_LOG_DIRTY_PAGES, 0x300000, 4 * PG, 0x1000000, NULL),
			 MEMSLOT_MOVE);
	assert_int_equal(memslot_at(t, 0)->id, 2);
	assert_int_equal(memslot_at(t, 1)->id, 1);
	assert_ptr_equal(memslot_by_gpa(t, 0x300000), s);
	/* moving and dropping logging at once */
	assert_int_equal(set(t, 1, 0, 0x400000, 4 * PG, 0x1000000, NULL), MEMSLOT_MOVE);
	assert_null(s->dirty);
	assert_int_equal(s->flags, 0);
}

static void test_flags_only(void **state)
{
	struct memslot_table *t = *state;
	struct memslot *s;

	assert_int_equal(set(t, 0, 0, 0, 130 * PG, 0x1000000, NULL), MEMSLOT_CREATE);
	s = memslot_by_id(t, 0);
	assert_null(s->dirty);
	assert_int_equal(set(t, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 130 * PG, 0x1000000, NULL),
			 MEMSLOT_FLAGS);
	assert_int_equal(s->flags, KVM_MEM_LOG_DIRTY_PAGES);
	assert_non_null(s->dirty);
	/* 130 pages round up to three longs, all clear */
	assert_int_equal(dirty_bitmap_bytes(s), 24);
	assert_int_equal(dirty_word(s, 0) | dirty_word(s, 1) | dirty_word(s, 2), 0);
	assert_int_equal(set(t, 0, 0, 0, 130 * PG, 0x1000000, NULL), MEMSLOT_FLAGS);
	assert_null(s->dirty);
	assert_int_equal(s->flags, 0);
	/* a flags-only change is not an overlap with itself */
	assert_int_equal(s->gpa, 0);
}

static void test_einval_rules(void **state)
{
	struct memslot_table *t = *state;
	struct kvm_userspace_memory_region r;

	/* flags outside the valid set; READONLY only when the caller allows it */
	assert_int_equal(check(t, 0, 4, 0, PG, 0x1000000), -EINVAL);
	r = region(0, KVM_MEM_READONLY, 0, PG, 0x1000000);
	assert_int_equal(memslot_check(t, &r, KVM_MEM_LOG_DIRTY_PAGES), -EINVAL);
	assert_int_equal(memslot_check(t, &r, VALID), MEMSLOT_CREATE);
	/* alignment */
	assert_int_equal(check(t, 0, 0, 0, PG + 1, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 0, 0, 0x800, PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 0, 0, 0, PG, 0x1000010), -EINVAL);
	/* address space 1 (SMM) and beyond */
	assert_int_equal(check(t, 1u << 16, 0, 0, PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 0xffff0000, 0, 0, PG, 0x1000000), -EINVAL);
	/* slot id */
	assert_int_equal(check(t, CUSED_USER_MEMSLOTS, 0, 0, PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, CUSED_USER_MEMSLOTS - 1, 0, 0, PG, 0x1000000), MEMSLOT_CREATE);
	/* guest range wraps */
	assert_int_equal(check(t, 0, 0, 0xffffffffffffe000ULL, 3 * PG, 0x1000000), -EINVAL);
	/* ending exactly at 2^64 wraps to 0 too */
	assert_int_equal(check(t, 0, 0, 0xfffffffffffff000ULL, PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 0, 0, 0xffffffffffffe000ULL, PG, 0x1000000), MEMSLOT_CREATE);
	/* too many pages */
	assert_int_equal(check(t, 0, 0, 0, (CUSED_MEM_MAX_NR_PAGES + 1) * PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 0, 0, 0, CUSED_MEM_MAX_NR_PAGES * PG, 0x1000000), MEMSLOT_CREATE);
	/* user range: access_ok up to TASK_SIZE_MAX, no wrap */
	assert_int_equal(check(t, 0, 0, 0, PG, 0x7ffffffff000ULL), -EINVAL);
	assert_int_equal(check(t, 0, 0, 0, PG, 0x7fffffffe000ULL), MEMSLOT_CREATE);
	assert_int_equal(check(t, 0, 0, 0, 2 * PG, 0xfffffffffffff000ULL), -EINVAL);
	assert_int_equal(check(t, 0, 0, 0, PG, 0x800000000000ULL), -EINVAL);

	/* changing an existing slot's uaddr, size or READONLY */
	assert_int_equal(set(t, 7, 0, 0x100000, 2 * PG, 0x1000000, NULL), MEMSLOT_CREATE);
	/* a delete is still subject to the general checks that come first */
	assert_int_equal(check(t, 7, 0, 0x100000, 0, 0x1000000), MEMSLOT_DELETE);
	assert_int_equal(check(t, 7, 8, 0x100000, 0, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 7, 0, 0x100000, 0, 0x1000001), -EINVAL);
	assert_int_equal(check(t, 7, 0, 0x100800, 0, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 7 | (1u << 16), 0, 0x100000, 0, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 7, 0, 0x100000, 2 * PG, 0x2000000), -EINVAL);
	assert_int_equal(check(t, 7, 0, 0x100000, 3 * PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 7, KVM_MEM_READONLY, 0x100000, 2 * PG, 0x1000000), -EINVAL);
	assert_int_equal(check(t, 7, KVM_MEM_READONLY | KVM_MEM_LOG_DIRTY_PAGES, 0x200000, 2 * PG,
			       0x1000000), -EINVAL);
	/* none of it touched the slot */
	assert_int_equal(memslot_by_id(t, 7)->uaddr, 0x1000000);
	assert_int_equal(memslot_by_id(t, 7)->size, 2 * PG);
	assert_int_equal(memslot_by_id(t, 7)->flags, 0);
}

static void test_commit_refuses_mismatch(void **state)
{
	struct memslot_table *t = *state;
	struct kvm_userspace_memory_region r = region(0, 0, 0, PG, 0x1000000);

	/* change kinds that do not fit the table mean check was skipped */
	assert_int_equal(memslot_commit(t, &r, MEMSLOT_DELETE, NULL, NULL), -EINVAL);
	assert_int_equal(memslot_commit(t, &r, MEMSLOT_MOVE, NULL, NULL), -EINVAL);
	assert_int_equal(memslot_commit(t, &r, MEMSLOT_CREATE, NULL, NULL), 0);
	assert_int_equal(memslot_commit(t, &r, MEMSLOT_CREATE, NULL, NULL), -EINVAL);
	assert_null(memslot_at(t, 1));
}

static void test_lookup_by_gpa(void **state)
{
	struct memslot_table *t = *state;

	assert_null(memslot_by_gpa(t, 0));
	assert_int_equal(set(t, 4, 0, 0x10000, 2 * PG, 0x1000000, NULL), MEMSLOT_CREATE);
	assert_int_equal(set(t, 9, 0, 0x40000, PG, 0x2000000, NULL), MEMSLOT_CREATE);
	assert_int_equal(set(t, 1, 0, 0xfffff000, PG, 0x3000000, NULL), MEMSLOT_CREATE);
	assert_null(memslot_by_gpa(t, 0));
	assert_null(memslot_by_gpa(t, 0xffff));
	assert_int_equal(memslot_by_gpa(t, 0x10000)->id, 4);
	assert_int_equal(memslot_by_gpa(t, 0x11fff)->id, 4);
	assert_null(memslot_by_gpa(t, 0x12000));
	assert_null(memslot_by_gpa(t, 0x3ffff));
	assert_int_equal(memslot_by_gpa(t, 0x40000)->id, 9);
	assert_int_equal(memslot_by_gpa(t, 0x40fff)->id, 9);
	assert_null(memslot_by_gpa(t, 0x41000));
	assert_int_equal(memslot_by_gpa(t, 0xffffffff)->id, 1);
	assert_null(memslot_by_gpa(t, 0x100000000ULL));
	assert_null(memslot_by_gpa(t, ~0ULL));
}

static void test_read_write_across_slots(void **state)
{
	struct memslot_table *t = *state;
	uint8_t *a = calloc(1, 2 * PG), *b = calloc(1, PG);
	uint8_t in[64], out[64];

	for (unsigned i = 0; i < sizeof(in); i++)
		in[i] = (uint8_t)(i + 1);
	assert_int_equal(set(t, 0, 0, 0x10000, 2 * PG, 0x1000000, a), MEMSLOT_CREATE);
	assert_int_equal(set(t, 1, 0, 0x12000, PG, 0x2000000, b), MEMSLOT_CREATE);
	/* 16 bytes in a, 48 in b */
	assert_int_equal(memslot_write(t, 0x12000 - 16, in, sizeof(in)), 0);
	assert_memory_equal(a + 2 * PG - 16, in, 16);
	assert_memory_equal(b, in + 16, 48);
	memset(out, 0, sizeof(out));
	assert_int_equal(memslot_read(t, 0x12000 - 16, out, sizeof(out)), 0);
	assert_memory_equal(out, in, sizeof(out));
	/* reading or writing past the end of b: nothing copied */
	memset(out, 0xee, sizeof(out));
	assert_int_equal(memslot_read(t, 0x13000 - 8, out, 16), -EFAULT);
	assert_int_equal(out[0], 0xee);
	assert_int_equal(memslot_write(t, 0x13000 - 8, in, 16), -EFAULT);
	assert_int_equal(b[PG - 8], 0);
	/* a hole, before any slot, and a wrapping range */
	assert_int_equal(memslot_read(t, 0x20000, out, 1), -EFAULT);
	assert_int_equal(memslot_read(t, 0xfff, out, 1), -EFAULT);
	assert_int_equal(memslot_read(t, ~0ULL, out, 2), -EFAULT);
	assert_int_equal(memslot_read(t, 0x20000, out, 0), 0);
	memslot_table_fini(t);
	free(a);
	free(b);
}

static void test_readonly_write(void **state)
{
	struct memslot_table *t = *state;
	uint8_t *rw = calloc(1, PG), *ro = calloc(1, PG);
	uint8_t v[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, out[8];

	assert_int_equal(set(t, 0, 0, 0, PG, 0x1000000, rw), MEMSLOT_CREATE);
	assert_int_equal(set(t, 1, KVM_MEM_READONLY, PG, PG, 0x2000000, ro), MEMSLOT_CREATE);
	ro[0] = 0x5a;
	assert_int_equal(memslot_write(t, PG, v, 1), -EFAULT);
	assert_int_equal(ro[0], 0x5a);
	/* straddling into the read-only slot fails whole: the rw part stays untouched */
	assert_int_equal(memslot_write(t, PG - 4, v, 8), -EFAULT);
	assert_int_equal(rw[PG - 4], 0);
	/* reads are fine */
	assert_int_equal(memslot_read(t, PG - 4, out, 8), 0);
	assert_int_equal(out[4], 0x5a);
	memslot_table_fini(t);
	free(rw);
	free(ro);
}

static void test_no_hva_faults(void **state)
{
	struct memslot_table *t = *state;
	uint8_t v = 0;

	assert_int_equal(set(t, 0, 0, 0, PG, 0x1000000, NULL), MEMSLOT_CREATE);
	assert_int_equal(memslot_read(t, 0, &v, 1), -EFAULT);
	assert_int_equal(memslot_write(t, 0, &v, 1), -EFAULT);
}

static void test_write_marks_dirty(void **state)
{
	struct memslot_table *t = *state;
	uint8_t *a = calloc(1, 70 * PG), *b = calloc(1, 4 * PG);
	uint8_t v[16] = { 0 };
	struct memslot *sa, *sb;

	assert_int_equal(set(t, 0, KVM_MEM_LOG_DIRTY_PAGES, 0, 70 * PG, 0x1000000, a),
			 MEMSLOT_CREATE);
	assert_int_equal(set(t, 1, 0, 70 * PG, 4 * PG, 0x2000000, b), MEMSLOT_CREATE);
	sa = memslot_by_id(t, 0);
	sb = memslot_by_id(t, 1);
	/* straddles pages 2 and 3 */
	assert_int_equal(memslot_write(t, 3 * PG - 8, v, 16), 0);
	assert_int_equal(dirty_word(sa, 0), (1ULL << 2) | (1ULL << 3));
	/* page 65 lives in the second long */
	assert_int_equal(memslot_write(t, 65 * PG + 100, v, 1), 0);
	assert_int_equal(dirty_word(sa, 1), 1ULL << 1);
	/* reads never dirty */
	assert_int_equal(memslot_read(t, 10 * PG, v, 16), 0);
	assert_int_equal(dirty_word(sa, 0), (1ULL << 2) | (1ULL << 3));
	/* across into the non-logging slot: last page of a dirty, b has no bitmap */
	assert_int_equal(memslot_write(t, 70 * PG - 8, v, 16), 0);
	assert_int_equal(dirty_word(sa, 1), (1ULL << 1) | (1ULL << 5));
	assert_null(sb->dirty);
	memslot_table_fini(t);
	free(a);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create, setup, teardown),
		cmocka_unit_test_setup_teardown(test_overlap_and_adjacent, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_move, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flags_only, setup, teardown),
		cmocka_unit_test_setup_teardown(test_einval_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_commit_refuses_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_lookup_by_gpa, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_write_across_slots, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_write, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_hva_faults, setup, teardown),
		cmocka_unit_test_setup_teardown(test_write_marks_dirty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
