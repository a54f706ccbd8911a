/* SPDX-License-Identifier: MIT */
/*
 * Halt-poll window adaptation (cused/kvm/halt_poll.c) against Linux 6.1
 * kvm_vcpu_halt, grow_halt_poll_ns and shrink_halt_poll_ns.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cused/kvm/halt_poll.h"

static void test_defaults(void **state)
{
	struct halt_poll_params p = halt_poll_defaults();

	(void)state;
	/* x86 KVM: grow 2, grow_start 10000, shrink 2; polling off here (halt_poll.h) */
	assert_int_equal(p.max_ns, 0);
	assert_int_equal(p.grow, 2);
	assert_int_equal(p.grow_start, 10000);
	assert_int_equal(p.shrink, 2);
}

static void test_grow(void **state)
{
	struct halt_poll_params p = halt_poll_defaults();
	uint32_t cur = 0;

	p.max_ns = 200000;   /* --halt-poll-ns 200000: KVM's default */

	(void)state;
	/* a vCPU starts without polling; a short halt starts it at grow_start */
	assert_int_equal(halt_poll_window(&cur, &p), 0);
	halt_poll_update(&cur, &p, 5000, true);
	assert_int_equal(cur, 10000);
	/* a short halt the window missed doubles it */
	halt_poll_update(&cur, &p, 15000, true);
	assert_int_equal(cur, 20000);
	/* a halt the window covered leaves it alone */
	halt_poll_update(&cur, &p, 20000, true);
	assert_int_equal(cur, 20000);
	halt_poll_update(&cur, &p, 100, true);
	assert_int_equal(cur, 20000);
	/* growth stops at the ceiling */
	for (int i = 0; i < 10; i++)
		halt_poll_update(&cur, &p, 199999, true);
	assert_int_equal(cur, 200000);
	/* a halt of exactly the ceiling neither grows nor shrinks */
	cur = 100000;
	halt_poll_update(&cur, &p, 200000, true);
	assert_int_equal(cur, 100000);
	/* grow 0: never grows */
	p.grow = 0;
	cur = 0;
	halt_poll_update(&cur, &p, 5000, true);
	assert_int_equal(cur, 0);
}

static void test_shrink(void **state)
{
	struct halt_poll_params p = halt_poll_defaults();
	uint32_t cur = 160000;

	p.max_ns = 200000;   /* --halt-poll-ns 200000: KVM's default */
	(void)state;
	/* a long block: polling was wasted, shrink by halt_poll_ns_shrink */
	halt_poll_update(&cur, &p, 1000000, true);
	assert_int_equal(cur, 80000);
	/* a failed (invalid) wake-up shrinks whatever its length */
	halt_poll_update(&cur, &p, 100, false);
	assert_int_equal(cur, 40000);
	/* a long block with no window: nothing to shrink, nothing grows */
	cur = 0;
	halt_poll_update(&cur, &p, 1000000, true);
	assert_int_equal(cur, 0);
	/* shrink 0 resets */
	p.shrink = 0;
	cur = 160000;
	halt_poll_update(&cur, &p, 1000000, true);
	assert_int_equal(cur, 0);
}

static void test_ceiling(void **state)
{
	struct halt_poll_params p = halt_poll_defaults();
	uint32_t cur = 200000;

	(void)state;
	/* a lowered ceiling clamps the next window (kvm_vcpu_halt's first step) */
	p.max_ns = 50000;
	assert_int_equal(halt_poll_window(&cur, &p), 50000);
	assert_int_equal(cur, 50000);
	/* 0 turns polling off and keeps it off */
	p.max_ns = 0;
	assert_int_equal(halt_poll_window(&cur, &p), 0);
	halt_poll_update(&cur, &p, 5000, true);
	assert_int_equal(cur, 0);
	assert_int_equal(halt_poll_window(&cur, &p), 0);
}

static void test_cpu_to_spare(void **state)
{
	(void)state;
	/* the caller itself is running: 1 or 2 of 2 CPUs leaves room */
	assert_true(halt_poll_cpu_to_spare("0.50 0.40 0.30 1/300 1234\n", 2));
	assert_true(halt_poll_cpu_to_spare("9.50 9.40 9.30 2/300 1234\n", 2));
	/* a runnable task waits for a CPU: do not spin */
	assert_false(halt_poll_cpu_to_spare("0.50 0.40 0.30 3/300 1234\n", 2));
	assert_false(halt_poll_cpu_to_spare("0.50 0.40 0.30 11/153 1234\n", 2));
	assert_true(halt_poll_cpu_to_spare("0.50 0.40 0.30 11/153 1234\n", 16));
	/* nonsense: no polling */
	assert_false(halt_poll_cpu_to_spare("", 2));
	assert_false(halt_poll_cpu_to_spare("0.50 0.40 0.30", 2));
	assert_false(halt_poll_cpu_to_spare("0.50 0.40 0.30 x/300 1", 2));
	assert_false(halt_poll_cpu_to_spare("0.50 0.40 0.30 0/300 1", 2));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cpu_to_spare),
		cmocka_unit_test(test_defaults), cmocka_unit_test(test_grow),
		cmocka_unit_test(test_shrink), cmocka_unit_test(test_ceiling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
