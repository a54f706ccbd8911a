/* SPDX-License-Identifier: MIT */
/* The per-client log rate limiter (cused/util/log.c) on a fake clock. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "cused/util/log.h"

#define SEC 1000000000ULL

static unsigned admitted(struct log_limiter *l, uint32_t key, uint64_t now, unsigned tries)
{
	unsigned n = 0;

	for (unsigned i = 0; i < tries; i++) {
		struct log_verdict v = log_limit_admit(l, key, now);

		assert_int_equal(v.report_n, 0);
		n += v.admit;
	}
	return n;
}

static void test_burst_then_drop(void **state)
{
	struct log_limiter l;

	log_limit_init(&l, 5, 10 * SEC);
	assert_int_equal(admitted(&l, 1, 0, 100000), 5);
	/* still inside the window */
	assert_int_equal(admitted(&l, 1, 10 * SEC - 1, 10), 0);
}

static void test_window_reports_count(void **state)
{
	struct log_limiter l;
	struct log_verdict v;

	log_limit_init(&l, 3, 10 * SEC);
	assert_int_equal(admitted(&l, 7, 100, 50), 3);
	v = log_limit_admit(&l, 7, 100 + 10 * SEC);
	assert_true(v.admit);
	assert_int_equal(v.report_key, 7);
	assert_int_equal(v.report_n, 47);
	/* the report is given once; the new window has burst - 1 lines left */
	assert_int_equal(admitted(&l, 7, 100 + 10 * SEC, 10), 2);
}

static void test_clients_independent(void **state)
{
	struct log_limiter l;

	log_limit_init(&l, 4, 10 * SEC);
	assert_int_equal(admitted(&l, 1, 0, 1000), 4);
	/* a flooding client does not silence another one */
	assert_int_equal(admitted(&l, 2, 1, 1000), 4);
	assert_int_equal(admitted(&l, 0, 2, 1000), 4);
}

static void test_table_full_bounded(void **state)
{
	struct log_limiter l;
	unsigned long total = 0, reported = 0;
	uint64_t now = 0;

	log_limit_init(&l, 2, 10 * SEC);
	/* more keys than slots, all in one window: entries are reused, the
	 * dropped counts of evicted keys are reported, and the table never grows */
	for (unsigned round = 0; round < 4; round++)
		for (uint32_t k = 1; k <= 2 * LOG_LIMIT_SLOTS; k++)
			for (unsigned i = 0; i < 10; i++) {
				struct log_verdict v = log_limit_admit(&l, k, now++);

				total += v.admit;
				reported += v.report_n;
			}
	/* each (key, round) gets at most a burst after being evicted */
	assert_true(total <= 4ULL * 2 * LOG_LIMIT_SLOTS * 2);
	assert_true(total + reported <= 4ULL * 2 * LOG_LIMIT_SLOTS * 10);
	assert_true(reported > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_burst_then_drop),
		cmocka_unit_test(test_window_reports_count),
		cmocka_unit_test(test_clients_independent),
		cmocka_unit_test(test_table_full_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
