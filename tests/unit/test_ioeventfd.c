/* SPDX-License-Identifier: MIT */
/*
 * KVM_IOEVENTFD table rules and matching (cused/irq/ioeventfd.c) against
 * Linux 6.1 virt/kvm/eventfd.c: kvm_assign_ioeventfd's argument checks,
 * ioeventfd_check_collision, kvm_deassign_ioeventfd_idx, ioeventfd_in_range.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <cmocka.h>
#include "cused/irq/ioeventfd.h"

#define DM KVM_IOEVENTFD_FLAG_DATAMATCH
#define PIO KVM_IOEVENTFD_FLAG_PIO
#define DEASSIGN KVM_IOEVENTFD_FLAG_DEASSIGN

/* KVM_IOEVENTFD on a fresh dup of efd (the set consumes its fd) */
static int ioev(struct ioeventfd_set *s, int efd, uint64_t addr, uint32_t len, uint32_t flags,
		uint64_t dm)
{
	struct kvm_ioeventfd a = { .datamatch = dm, .addr = addr, .len = len, .fd = efd,
				   .flags = flags };

	return ioeventfd_ioctl(s, &a, efd < 0 ? -EBADF : dup(efd));
}

static uint64_t count(int efd)
{
	uint64_t v = 0;

	if (read(efd, &v, 8) != 8)
		return 0;
	return v;
}

static void test_arg_rules(void **state)
{
	struct ioeventfd_set *s;
	int e = eventfd(0, EFD_NONBLOCK), p[2];

	assert_int_equal(ioeventfd_set_create(&s), 0);
	assert_int_equal(pipe(p), 0);
	/* len */
	assert_int_equal(ioev(s, e, 0x1000, 3, 0, 0), -EINVAL);
	assert_int_equal(ioev(s, e, 0x1000, 16, 0, 0), -EINVAL);
	/* wrap */
	assert_int_equal(ioev(s, e, ~0ULL - 2, 4, 0, 0), -EINVAL);
	assert_int_equal(ioev(s, e, ~0ULL - 3, 4, 0, 0), -EINVAL);   /* sums to 0 */
	assert_int_equal(ioev(s, e, ~0ULL - 4, 4, 0, 0), 0);
	/* flags: bit 4 and CCW are inside KVM's mask, bit 5 is not */
	assert_int_equal(ioev(s, e, 0x2000, 4, 1u << 5, 0), -EINVAL);
	assert_int_equal(ioev(s, e, 0x2000, 4, 1u << 4, 0), 0);
	assert_int_equal(ioev(s, e, 0x2000, 4, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0), 0);
	/* DATAMATCH without length */
	assert_int_equal(ioev(s, e, 0x3000, 0, DM, 0), -EINVAL);
	/* the fd: argument rules come first, then EBADF, then "is it an eventfd" */
	assert_int_equal(ioev(s, -1, 0x3000, 3, 0, 0), -EINVAL);
	assert_int_equal(ioev(s, -1, 0x3000, 4, 0, 0), -EBADF);
	assert_int_equal(ioev(s, p[0], 0x3000, 4, 0, 0), -EINVAL);
	/* deassign checks no arguments, only the fd and the match */
	assert_int_equal(ioev(s, -1, 0x3000, 3, DEASSIGN, 0), -EBADF);
	assert_int_equal(ioev(s, p[0], 0x3000, 4, DEASSIGN, 0), -EINVAL);
	assert_int_equal(ioev(s, e, 0x3000, 3, DEASSIGN, 0), -ENOENT);
	ioeventfd_set_destroy(s);
	close(e);
	close(p[0]);
	close(p[1]);
}

static void test_collisions(void **state)
{
	struct ioeventfd_set *s;
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(ioeventfd_set_create(&s), 0);
	assert_int_equal(ioev(s, a, 0x100, 2, PIO | DM, 1), 0);
	/* same bus/addr/len, same datamatch: EEXIST even with another eventfd */
	assert_int_equal(ioev(s, b, 0x100, 2, PIO | DM, 1), -EEXIST);
	/* another datamatch: fine */
	assert_int_equal(ioev(s, b, 0x100, 2, PIO | DM, 2), 0);
	/* a wildcard of the same len collides with any datamatch */
	assert_int_equal(ioev(s, b, 0x100, 2, PIO, 0), -EEXIST);
	/* another len at the same addr: fine; len 0 collides with everything */
	assert_int_equal(ioev(s, b, 0x100, 4, PIO, 0), 0);
	assert_int_equal(ioev(s, b, 0x100, 0, PIO, 0), -EEXIST);
	/* the MMIO bus is another bus; an overlapping but different addr is fine */
	assert_int_equal(ioev(s, b, 0x100, 0, 0, 0), 0);
	assert_int_equal(ioev(s, b, 0x100, 1, 0, 0), -EEXIST);
	assert_int_equal(ioev(s, b, 0x101, 2, PIO, 0), 0);
	/* deassign needs the same eventfd, addr, len, wildcard-ness and datamatch */
	assert_int_equal(ioev(s, b, 0x100, 2, PIO | DM | DEASSIGN, 1), -ENOENT);
	assert_int_equal(ioev(s, a, 0x100, 2, PIO | DEASSIGN, 1), -ENOENT);
	assert_int_equal(ioev(s, a, 0x100, 2, PIO | DM | DEASSIGN, 3), -ENOENT);
	assert_int_equal(ioev(s, a, 0x100, 2, DM | DEASSIGN, 1), -ENOENT);
	assert_int_equal(ioev(s, a, 0x100, 2, PIO | DM | DEASSIGN, 1), 0);
	assert_int_equal(ioev(s, a, 0x100, 2, PIO | DM | DEASSIGN, 1), -ENOENT);
	/* and the slot is free again */
	assert_int_equal(ioev(s, b, 0x100, 2, PIO | DM, 1), 0);
	ioeventfd_set_destroy(s);
	close(a);
	close(b);
}

/* a dup of the eventfd is the same eventfd (KVM compares eventfd_ctx) */
static void test_deassign_by_other_fd(void **state)
{
	struct ioeventfd_set *s;
	int a = eventfd(0, EFD_NONBLOCK), a2 = dup(a);
	uint8_t v = 7;

	assert_int_equal(ioeventfd_set_create(&s), 0);
	assert_int_equal(ioev(s, a, 0x80, 1, PIO, 0), 0);
	assert_int_equal(ioev(s, a2, 0x80, 1, PIO | DEASSIGN, 0), 0);
	assert_false(ioeventfd_write(s, IOEVENTFD_PIO, 0x80, 1, &v));
	ioeventfd_set_destroy(s);
	close(a);
	close(a2);
}

static void test_matching(void **state)
{
	struct ioeventfd_set *s;
	int w = eventfd(0, EFD_NONBLOCK), d = eventfd(0, EFD_NONBLOCK), z = eventfd(0, EFD_NONBLOCK);
	uint64_t v;

	assert_int_equal(ioeventfd_set_create(&s), 0);
	v = 0;
	/* nothing assigned: nothing matches */
	assert_false(ioeventfd_write(s, IOEVENTFD_MMIO, 0x1000, 4, &v));
	assert_int_equal(ioev(s, w, 0x1000, 4, 0, 0), 0);            /* wildcard */
	assert_int_equal(ioev(s, d, 0x2000, 2, DM, 0xbeef), 0);      /* datamatch */
	assert_int_equal(ioev(s, z, 0x3000, 0, 0, 0), 0);            /* any length */
	/* wildcard: exact addr and len, any data */
	v = 0x12345678;
	assert_true(ioeventfd_write(s, IOEVENTFD_MMIO, 0x1000, 4, &v));
	assert_true(ioeventfd_write(s, IOEVENTFD_MMIO, 0x1000, 4, &v));
	assert_false(ioeventfd_write(s, IOEVENTFD_MMIO, 0x1000, 2, &v));
	assert_false(ioeventfd_write(s, IOEVENTFD_MMIO, 0x1001, 4, &v));
	assert_false(ioeventfd_write(s, IOEVENTFD_PIO, 0x1000, 4, &v));
	assert_int_equal(count(w), 2);
	/* datamatch: the zero-extended value */
	v = 0xbeef;
	assert_true(ioeventfd_write(s, IOEVENTFD_MMIO, 0x2000, 2, &v));
	v = 0x1beef;   /* only 2 bytes are written: still 0xbeef */
	assert_true(ioeventfd_write(s, IOEVENTFD_MMIO, 0x2000, 2, &v));
	v = 0xbeee;
	assert_false(ioeventfd_write(s, IOEVENTFD_MMIO, 0x2000, 2, &v));
	assert_true(ioeventfd_matches(s, IOEVENTFD_MMIO, 0x2000, 2, &(uint64_t){ 0xbeef }));
	assert_int_equal(count(d), 2);
	/* len 0: any access at the address */
	assert_true(ioeventfd_write(s, IOEVENTFD_MMIO, 0x3000, 1, &v));
	assert_true(ioeventfd_write(s, IOEVENTFD_MMIO, 0x3000, 8, &v));
	assert_false(ioeventfd_write(s, IOEVENTFD_MMIO, 0x3001, 1, &v));
	assert_int_equal(count(z), 2);
	/* a CCW-bus ioeventfd never sees an x86 write */
	assert_int_equal(ioev(s, z, 0x4000, 4, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0), 0);
	assert_false(ioeventfd_write(s, IOEVENTFD_MMIO, 0x4000, 4, &v));
	assert_false(ioeventfd_write(s, IOEVENTFD_PIO, 0x4000, 4, &v));
	ioeventfd_set_destroy(s);
	close(w);
	close(d);
	close(z);
}

/* datamatch with bits above len never matches (KVM compares all 64) */
static void test_datamatch_high_bits(void **state)
{
	struct ioeventfd_set *s;
	int e = eventfd(0, EFD_NONBLOCK);
	uint64_t v = 0x01;

	assert_int_equal(ioeventfd_set_create(&s), 0);
	assert_int_equal(ioev(s, e, 0x60, 1, PIO | DM, 0x101), 0);
	assert_false(ioeventfd_write(s, IOEVENTFD_PIO, 0x60, 1, &v));
	ioeventfd_set_destroy(s);
	close(e);
}

/* a full counter drops the event instead of blocking the runner */
static void test_full_counter_never_blocks(void **state)
{
	struct ioeventfd_set *s;
	int e = eventfd(0, 0);   /* blocking, as a client's may be */
	uint64_t big = 0xfffffffffffffffeULL, v = 0;

	assert_int_equal(ioeventfd_set_create(&s), 0);
	assert_int_equal(ioev(s, e, 0x61, 1, PIO, 0), 0);
	assert_int_equal(write(e, &big, 8), 8);
	assert_true(ioeventfd_write(s, IOEVENTFD_PIO, 0x61, 1, &v));
	assert_int_equal(count(e), big);
	ioeventfd_set_destroy(s);
	close(e);
}

static void test_capacity(void **state)
{
	struct ioeventfd_set *s;
	int e = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(ioeventfd_set_create(&s), 0);
	for (unsigned i = 0; i < IOEVENTFD_MAX; i++)
		assert_int_equal(ioev(s, e, 0x10000 + i * 8, 8, 0, 0), 0);
	assert_int_equal(ioev(s, e, 0x1, 8, 0, 0), -ENOSPC);
	ioeventfd_set_destroy(s);
	close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_arg_rules),
		cmocka_unit_test(test_collisions),
		cmocka_unit_test(test_deassign_by_other_fd),
		cmocka_unit_test(test_matching),
		cmocka_unit_test(test_datamatch_high_bits),
		cmocka_unit_test(test_full_counter_never_blocks),
		cmocka_unit_test(test_capacity),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
