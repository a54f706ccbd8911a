/* SPDX-License-Identifier: MIT */
/* Hyper-V: the HV CPUID table (cused/x86/hyperv_cpuid.c) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "cused/x86/hyperv.h"

static const struct kvm_cpuid_entry2 *leaf(const struct kvm_cpuid_entry2 *e, uint32_t fn)
{
	for (unsigned i = 0; i < HV_CPUID_NENT; i++)
		if (e[i].function == fn)
			return &e[i];
	return NULL;
}

/* the values Linux 6.1 kvm_get_hv_cpuid() reports on a VMX-less host */
static void cpuid_matches_kvm(void **state)
{
	struct kvm_cpuid_entry2 e[HV_CPUID_NENT];
	static const uint32_t order[HV_CPUID_NENT] = {
		0x40000000, 0x40000001, 0x40000002, 0x40000003, 0x40000004,
		0x40000005, 0x40000080, 0x40000081, 0x40000082, 0x4000000A,
	};

	(void)state;
	memset(e, 0xaa, sizeof(e));
	hv_cpuid_build(e, true, true);
	for (unsigned i = 0; i < HV_CPUID_NENT; i++) {
		assert_int_equal(e[i].function, order[i]);
		assert_int_equal(e[i].index, 0);
		assert_int_equal(e[i].flags, 0);
		assert_int_equal(e[i].padding[0] | e[i].padding[1] | e[i].padding[2], 0);
	}
	assert_int_equal(e[0].eax, 0x40000082);
	assert_memory_equal(&e[0].ebx, "Linu", 4);
	assert_memory_equal(&e[0].ecx, "x KV", 4);
	assert_memory_equal(&e[0].edx, "M Hv", 4);
	assert_int_equal(e[1].eax, 0x31237648);
	assert_int_equal(e[2].eax, 0x3839);
	assert_int_equal(e[2].ebx, 0xA0000);
	assert_int_equal(leaf(e, 0x40000003)->eax, 0x2aff);
	assert_int_equal(leaf(e, 0x40000003)->ebx, 0x830);
	assert_int_equal(leaf(e, 0x40000003)->edx, 0x80d12);
	assert_int_equal(leaf(e, 0x40000004)->eax, 0xe2c);
	assert_int_equal(leaf(e, 0x40000004)->ebx, 0xfff);
	assert_int_equal(leaf(e, 0x40000005)->eax, 1024);
	assert_int_equal(leaf(e, 0x40000005)->ebx, 64);
	assert_int_equal(leaf(e, 0x40000080)->eax, 0);
	assert_memory_equal(&leaf(e, 0x40000080)->ebx, "Linu", 4);
	assert_memory_equal(&leaf(e, 0x40000081)->eax, "VS#1", 4);
	assert_int_equal(leaf(e, 0x40000082)->eax, 2);
	assert_int_equal(leaf(e, 0x4000000A)->eax, 1u << 19);
	assert_int_equal(leaf(e, 0x4000000A)->ebx, 1);
}

/* direct stimers and cluster IPIs need a LAPIC; no SMT sets NO_NONARCH_CORESHARING */
static void cpuid_lapic_and_smt(void **state)
{
	struct kvm_cpuid_entry2 e[HV_CPUID_NENT];

	(void)state;
	hv_cpuid_build(e, false, false);
	assert_int_equal(leaf(e, 0x40000003)->edx & (1u << 19), 0);
	assert_int_equal(leaf(e, 0x40000004)->eax & (1u << 10), 0);
	assert_int_not_equal(leaf(e, 0x40000004)->eax & (1u << 18), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(cpuid_matches_kvm),
		cmocka_unit_test(cpuid_lapic_and_smt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
