/* SPDX-License-Identifier: MIT */
/* Per-uid VM / vCPU accounting (cused/kvm/limits.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <cmocka.h>
#include "cused/kvm/limits.h"

static const struct cused_limits lim = {
	.max_vms_per_uid = 3, .max_vcpus_per_uid = 5, .max_log_pages_per_uid = 1000,
};

static int setup(void **state)
{
	*state = calloc(1, sizeof(struct uid_table));
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

static void test_vm_cap_per_uid(void **state)
{
	struct uid_table *t = *state;

	for (int i = 0; i < 3; i++)
		assert_int_equal(uid_charge(t, &lim, 1000, 1, 0), 0);
	assert_int_equal(uid_charge(t, &lim, 1000, 1, 0), -ENOMEM);
	/* another uid is unaffected */
	assert_int_equal(uid_charge(t, &lim, 1001, 1, 0), 0);
	assert_int_equal(uid_usage_of(t, 1000).vms, 3);
	/* released when a VM dies */
	uid_uncharge(t, 1000, 1, 0);
	assert_int_equal(uid_charge(t, &lim, 1000, 1, 0), 0);
	assert_int_equal(uid_charge(t, &lim, 1000, 1, 0), -ENOMEM);
}

static void test_vcpu_cap(void **state)
{
	struct uid_table *t = *state;

	assert_int_equal(uid_charge(t, &lim, 0, 0, 5), 0);
	assert_int_equal(uid_charge(t, &lim, 0, 0, 1), -ENOMEM);
	assert_int_equal(uid_usage_of(t, 0).vcpus, 5);
	uid_uncharge(t, 0, 0, 2);
	assert_int_equal(uid_charge(t, &lim, 0, 0, 3), -ENOMEM);
	assert_int_equal(uid_charge(t, &lim, 0, 0, 2), 0);
}

static void test_refused_charge_changes_nothing(void **state)
{
	struct uid_table *t = *state;

	assert_int_equal(uid_charge(t, &lim, 5, 1, 6), -ENOMEM);
	assert_int_equal(uid_usage_of(t, 5).vms, 0);
	assert_int_equal(uid_usage_of(t, 5).vcpus, 0);
}

static void test_uncharge_never_underflows(void **state)
{
	struct uid_table *t = *state;

	uid_uncharge(t, 9, 1, 1);
	assert_int_equal(uid_charge(t, &lim, 9, 1, 1), 0);
	uid_uncharge(t, 9, 4, 4);
	assert_int_equal(uid_usage_of(t, 9).vms, 0);
	assert_int_equal(uid_charge(t, &lim, 9, 3, 5), 0);
}

static void test_table_bounded(void **state)
{
	struct uid_table *t = *state;

	for (uid_t u = 0; u < CUSED_UID_SLOTS; u++)
		assert_int_equal(uid_charge(t, &lim, 100 + u, 1, 0), 0);
	/* no entry left for a new uid: refused, never grown */
	assert_int_equal(uid_charge(t, &lim, 99999, 1, 0), -ENOMEM);
	/* an entry whose counts reach zero is free again */
	uid_uncharge(t, 100, 1, 0);
	assert_int_equal(uid_charge(t, &lim, 99999, 1, 0), 0);
	assert_int_equal(uid_usage_of(t, 100).vms, 0);
}

static void test_log_budget(void **state)
{
	struct uid_table *t = *state;

	assert_int_equal(uid_charge_log(t, &lim, 7, 600), 0);
	assert_int_equal(uid_charge_log(t, &lim, 7, 401), -ENOMEM);
	assert_int_equal(uid_charge_log(t, &lim, 8, 1000), 0);     /* per uid */
	assert_int_equal(uid_charge_log(t, &lim, 7, 400), 0);
	assert_int_equal(uid_usage_of(t, 7).log_pages, 1000);
	uid_uncharge_log(t, 7, 1000);
	/* an entry holding only logged pages is in use; at zero it is free */
	assert_int_equal(uid_usage_of(t, 8).log_pages, 1000);
	assert_int_equal(uid_usage_of(t, 7).log_pages, 0);
	assert_int_equal(uid_charge_log(t, &lim, 7, UINT64_MAX), -ENOMEM);
}

/* client eventfds the daemon holds (irqfd/ioeventfd), per uid */
static void test_eventfd_budget(void **state)
{
	struct uid_table *t = *state;

	assert_int_equal(uid_charge_fds(t, 7, CUSED_MAX_EVENTFDS_PER_UID - 1), 0);
	assert_int_equal(uid_charge_fds(t, 7, 2), -ENOMEM);
	assert_int_equal(uid_charge_fds(t, 8, 2), 0);              /* per uid */
	assert_int_equal(uid_charge_fds(t, 7, 1), 0);
	assert_int_equal(uid_charge_fds(t, 7, 1), -ENOMEM);
	assert_int_equal(uid_usage_of(t, 7).fds, CUSED_MAX_EVENTFDS_PER_UID);
	/* an entry holding only fds is in use; at zero it is free */
	uid_uncharge_fds(t, 7, CUSED_MAX_EVENTFDS_PER_UID + 5);
	assert_int_equal(uid_usage_of(t, 7).fds, 0);
	assert_int_equal(uid_usage_of(t, 8).fds, 2);
	assert_int_equal(uid_charge_fds(t, 7, ~0u), -ENOMEM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_vm_cap_per_uid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_vcpu_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused_charge_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_uncharge_never_underflows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_table_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(test_log_budget, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eventfd_budget, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
