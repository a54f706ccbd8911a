/* SPDX-License-Identifier: MIT */
/* kvmclock arithmetic and KVM's TSC write synchronization (cused/x86/pvclock.c) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "cused/x86/pvclock.h"

/* kvm_get_time_scale for the rates of real hosts, checked against the exact ratio */
static void test_time_scale(void **state)
{
	static const uint64_t khz[] = { 1000000, 2596142, 2500000, 3000000, 3400000, 1800000,
					100000, 5000000 };
	int8_t shift;
	uint32_t mul;

	(void)state;
	for (size_t i = 0; i < sizeof(khz) / sizeof(khz[0]); i++) {
		uint64_t hz = khz[i] * 1000, ns;

		pvclock_time_scale(1000000000ULL, hz, &shift, &mul);
		/* a normalized fraction: the top bit of mul is set */
		assert_true(mul & 0x80000000u);
		/* one second of cycles is a second, to within a nanosecond per second */
		ns = pvclock_scale_delta(hz, mul, shift);
		assert_in_range(ns, 1000000000ULL - 1, 1000000000ULL);
		/* an hour: still within a few nanoseconds per second */
		ns = pvclock_scale_delta(hz * 3600, mul, shift);
		assert_in_range(ns, 3600ULL * 1000000000 - 3600 * 2, 3600ULL * 1000000000);
	}
	/* the values Linux computes: 2.5 GHz is 0.4 ns/cycle = 0xcccccccc >> 1 */
	pvclock_time_scale(1000000000ULL, 2500000000ULL, &shift, &mul);
	assert_int_equal(shift, -1);
	assert_int_equal(mul, 0xcccccccc);
	/* 1 GHz: exactly 1 ns per cycle, 2^31 << 1 */
	pvclock_time_scale(1000000000ULL, 1000000000ULL, &shift, &mul);
	assert_int_equal(shift, 1);
	assert_int_equal(mul, 0x80000000);
	/* and the other direction (ns -> cycles), as kvm_set_tsc_khz uses it */
	pvclock_time_scale(2500000000ULL, 1000000000ULL, &shift, &mul);
	assert_int_equal(pvclock_scale_delta(1000, mul, shift), 2500);
}

/* what the guest reads: system_time + scaled (TSC - tsc_timestamp) */
static void test_read(void **state)
{
	struct pvclock_vcpu_time_info p = { .tsc_timestamp = 1000000, .system_time = 42 };
	int8_t shift;
	uint32_t mul;

	(void)state;
	assert_int_equal(sizeof(p), 32);
	assert_int_equal(offsetof(struct pvclock_vcpu_time_info, tsc_to_system_mul), 24);
	assert_int_equal(offsetof(struct pvclock_vcpu_time_info, flags), 29);
	assert_int_equal(sizeof(struct pvclock_wall_clock), 12);
	pvclock_time_scale(1000000000ULL, 2000000000ULL, &shift, &mul);
	p.tsc_shift = shift;
	p.tsc_to_system_mul = mul;
	assert_int_equal(pvclock_read(&p, 1000000), 42);
	assert_int_equal(pvclock_read(&p, 1000000 + 2000), 42 + 1000);
	assert_int_equal(pvclock_read(&p, 1000000 + 2000000000ULL * 10), 42 + 10000000000ULL);
}

#define KHZ 2000000ULL   /* 2 cycles per ns */

/* kvm_synchronize_tsc: creation joins, close writes join, far writes set their own */
static void test_sync(void **state)
{
	struct tsc_sync s = { 0 };
	int64_t off;

	(void)state;
	/* the first vCPU of a VM (no write yet at its rate): TSC 0 now */
	off = tsc_sync_write(&s, KHZ, 0, 5000000, 1000);
	assert_int_equal(off, -5000000);
	/* a second vCPU 1 ms later joins the first one's offset, not TSC 0 */
	off = tsc_sync_write(&s, KHZ, 0, 7000000, 1001000);
	assert_int_equal(off, -5000000);
	/* a host write within a second of where the TSCs are now: synchronizing */
	off = tsc_sync_write(&s, KHZ, 2000000 + 100, 7000000, 1001000);
	assert_int_equal(off, -5000000);
	/* a write 30 s ahead is a new offset and a new generation */
	off = tsc_sync_write(&s, KHZ, 60ULL * 1000000000, 8000000, 1500000);
	assert_int_equal(off, (int64_t)(60ULL * 1000000000 - 8000000));
	/* the next vCPU created joins that generation */
	off = tsc_sync_write(&s, KHZ, 0, 9000000, 2000000);
	assert_int_equal(off, (int64_t)(60ULL * 1000000000 - 8000000));
	/* another rate never matches */
	off = tsc_sync_write(&s, KHZ / 2, 0, 9000000, 2000000);
	assert_int_equal(off, -9000000);
}

/* KVM_VCPU_TSC_OFFSET records the write; a later vCPU creation joins it */
static void test_sync_offset(void **state)
{
	struct tsc_sync s = { 0 };

	(void)state;
	tsc_sync_write(&s, KHZ, 0, 1000, 10);
	tsc_sync_set_offset(&s, KHZ, 123456789, 2000, 20);
	assert_int_equal(s.last_offset, 123456789);
	assert_int_equal(s.last_write, 2000 + 123456789);
	assert_int_equal(tsc_sync_write(&s, KHZ, 0, 3000, 30), 123456789);
	/* the same offset again is a matched write: the generation stays */
	tsc_sync_set_offset(&s, KHZ, 123456789, 4000, 40);
	assert_int_equal(s.cur_offset, 123456789);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time_scale),
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_sync),
		cmocka_unit_test(test_sync_offset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
