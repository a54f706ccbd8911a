/* SPDX-License-Identifier: MIT */
/*
 * slot_rw: the backends' own guest-physical access (string I/O, emulated
 * refusals).  A store into a read-only slot must be refused before it
 * touches the daemon's PROT_READ mapping (it used to SIGSEGV the daemon on
 * kmod), and no guest-chosen gpa/len may reach outside the slot.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <cmocka.h>
#include "cused/tramp/slot_rw.h"

#define GPA 0x100000ULL
#define SIZE 0x2000ULL

static void *map(int prot)
{
	void *p = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	assert_ptr_not_equal(p, MAP_FAILED);
	memset(p, 0xab, SIZE);
	assert_int_equal(mprotect(p, SIZE, prot), 0);
	return p;
}

static void rw_inside(void **state)
{
	struct slot_view s = { GPA, SIZE, map(PROT_READ | PROT_WRITE), true };
	uint8_t buf[8] = { 1, 2, 3, 4, 5, 6, 7, 8 }, back[8];

	(void)state;
	assert_int_equal(slot_rw(&s, GPA + SIZE - 8, buf, 8, true), 0);
	assert_int_equal(slot_rw(&s, GPA + SIZE - 8, back, 8, false), 0);
	assert_memory_equal(buf, back, 8);
	assert_int_equal(slot_rw(&s, GPA, back, 1, false), 0);
	assert_int_equal(back[0], 0xab);
	munmap(s.hva, SIZE);
}

static void readonly_write_refused(void **state)
{
	struct slot_view s = { GPA, SIZE, map(PROT_READ), false };
	uint8_t buf[4] = { 0 };

	(void)state;
	/* the store would fault in the daemon: refused first */
	assert_int_equal(slot_rw(&s, GPA + 16, buf, 4, true), -EFAULT);
	assert_int_equal(slot_rw(&s, GPA + 16, buf, 4, false), 0);
	assert_int_equal(buf[0], 0xab);
	munmap(s.hva, SIZE);
}

static void outside_is_enoent(void **state)
{
	struct slot_view s = { GPA, SIZE, map(PROT_READ | PROT_WRITE), true };
	uint8_t buf[16];

	(void)state;
	assert_int_equal(slot_rw(&s, GPA - 1, buf, 1, false), -ENOENT);
	assert_int_equal(slot_rw(&s, GPA + SIZE, buf, 1, false), -ENOENT);
	/* straddles the end */
	assert_int_equal(slot_rw(&s, GPA + SIZE - 4, buf, 8, true), -ENOENT);
	/* gpa + len would wrap */
	assert_int_equal(slot_rw(&s, UINT64_MAX - 2, buf, 8, false), -ENOENT);
	assert_int_equal(slot_rw(&s, GPA + 8, buf, SIZE_MAX, false), -ENOENT);
	munmap(s.hva, SIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rw_inside),
		cmocka_unit_test(readonly_write_refused),
		cmocka_unit_test(outside_is_enoent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
