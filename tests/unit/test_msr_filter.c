/* SPDX-License-Identifier: MIT */
/* KVM_X86_SET_MSR_FILTER: Linux 6.1's argument checks and kvm_msr_allowed (cused/kvm/msr_filter.c) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include "cused/kvm/ioctl.h"
#include "cused/kvm/msr_filter.h"

/* the client's memory is ours; address 1 is unreadable */
static int mem_read(void *ctx, uint64_t uaddr, void *buf, size_t len)
{
	(void)ctx;
	if (uaddr == 1)
		return -EFAULT;
	memcpy(buf, (const void *)(uintptr_t)uaddr, len);
	return 0;
}

static const struct client_mem mem = { .read = mem_read };

static long set(struct msr_filter_ref *ref, const struct kvm_msr_filter *f)
{
	struct ioctl_req rq = { .cmd = KVM_X86_SET_MSR_FILTER, .in = f, .in_len = sizeof(*f),
				.mem = &mem };

	return msr_filter_set(ref, &rq);
}

static void test_errors(void **state)
{
	struct msr_filter_ref ref;
	uint8_t bits[0x600] = { 0 };
	struct kvm_msr_filter f = { 0 };

	(void)state;
	msr_filter_ref_init(&ref);
	f.flags = 2;
	assert_int_equal(set(&ref, &f), -EINVAL);
	/* deny-all with no range */
	f.flags = KVM_MSR_FILTER_DEFAULT_DENY;
	assert_int_equal(set(&ref, &f), -EINVAL);
	/* an empty allow-all filter is fine */
	f.flags = 0;
	assert_int_equal(set(&ref, &f), 0);
	f.ranges[3] = (struct kvm_msr_filter_range){ .flags = 0, .nmsrs = 1, .base = 0x10,
						     .bitmap = bits };
	assert_int_equal(set(&ref, &f), -EINVAL);
	f.ranges[3].flags = 4;
	assert_int_equal(set(&ref, &f), -EINVAL);
	/* 0x600 bytes of bitmap at most */
	f.ranges[3].flags = KVM_MSR_FILTER_READ;
	f.ranges[3].nmsrs = 0x3001;
	assert_int_equal(set(&ref, &f), -EINVAL);
	f.ranges[3].nmsrs = 0x3000;
	assert_int_equal(set(&ref, &f), 0);
	/* an unreadable bitmap fails the call and keeps the filter before it */
	f.ranges[3].nmsrs = 1;
	f.ranges[3].bitmap = (uint8_t *)1;
	assert_int_equal(set(&ref, &f), -EFAULT);
	assert_false(msr_filter_allowed(&ref, 0x10, false));
	/* a range with nmsrs 0 is skipped, whatever else it says */
	memset(&f, 0, sizeof(f));
	f.ranges[0] = (struct kvm_msr_filter_range){ .flags = 0xff, .nmsrs = 0, .bitmap = NULL };
	assert_int_equal(set(&ref, &f), 0);
	assert_true(msr_filter_allowed(&ref, 0x10, false));
	msr_filter_ref_fini(&ref);
}

/* QEMU 7.2's filter: reads of MSR_CORE_THREAD_COUNT go to userspace */
static void test_qemu_filter(void **state)
{
	struct msr_filter_ref ref;
	uint64_t deny = 0;
	struct kvm_msr_filter f = { .flags = 0 };

	(void)state;
	msr_filter_ref_init(&ref);
	assert_true(msr_filter_allowed(&ref, 0x35, false));
	f.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ, .nmsrs = 1,
						     .base = 0x35, .bitmap = (uint8_t *)&deny };
	assert_int_equal(set(&ref, &f), 0);
	assert_false(msr_filter_allowed(&ref, 0x35, false));
	assert_true(msr_filter_allowed(&ref, 0x35, true));
	assert_true(msr_filter_allowed(&ref, 0x34, false));
	assert_true(msr_filter_allowed(&ref, 0x36, false));
	msr_filter_ref_fini(&ref);
}

/* default deny: the first matching range decides; x2APIC MSRs are never filtered */
static void test_default_deny(void **state)
{
	struct msr_filter_ref ref;
	/* KVM reads whole longs of bitmap (BITS_TO_LONGS(nmsrs)), so do we */
	uint64_t allow_odd = 0xaaaa, none = 0;
	struct kvm_msr_filter f = { .flags = KVM_MSR_FILTER_DEFAULT_DENY };

	(void)state;
	msr_filter_ref_init(&ref);
	f.ranges[0] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_WRITE, .nmsrs = 16,
						     .base = 0x100, .bitmap = (uint8_t *)&allow_odd };
	f.ranges[1] = (struct kvm_msr_filter_range){ .flags = KVM_MSR_FILTER_READ |
						     KVM_MSR_FILTER_WRITE, .nmsrs = 8, .base = 0x100,
						     .bitmap = (uint8_t *)&none };
	assert_int_equal(set(&ref, &f), 0);
	assert_true(msr_filter_allowed(&ref, 0x101, true));
	assert_false(msr_filter_allowed(&ref, 0x100, true));
	assert_true(msr_filter_allowed(&ref, 0x10f, true));
	/* reads skip range 0 (WRITE only) and hit range 1 */
	assert_false(msr_filter_allowed(&ref, 0x101, false));
	/* beyond every range: the default */
	assert_false(msr_filter_allowed(&ref, 0x110, true));
	assert_false(msr_filter_allowed(&ref, 0x10, false));
	assert_true(msr_filter_allowed(&ref, 0x800, false));
	assert_true(msr_filter_allowed(&ref, 0x8ff, true));
	assert_false(msr_filter_allowed(&ref, 0x900, true));
	msr_filter_ref_fini(&ref);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_qemu_filter),
		cmocka_unit_test(test_default_deny),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
