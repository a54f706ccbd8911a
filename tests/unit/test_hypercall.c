/* SPDX-License-Identifier: MIT */
/* KVM's hypercall ABI (cused/x86/hypercall): kvm_emulate_hypercall's answers, Linux 6.1 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>
#include "cused/x86/hypercall.h"

#define NEG(e) (-(uint64_t)(e))

static uint64_t call(uint64_t nr, unsigned cpl, bool op64, bool enforce, uint32_t features)
{
	struct hypercall_in in = { .nr = nr, .cpl = cpl, .op_64_bit = op64,
				   .pv_enforce = enforce, .pv_features = features };

	return hypercall_answer(&in);
}

static void test_answers(void **state)
{
	/* kvm_pv_test: with enforcement and no PV features, each is -KVM_ENOSYS */
	assert_int_equal(call(KVM_HC_KICK_CPU, 0, true, true, 0), NEG(KVM_ENOSYS));
	assert_int_equal(call(KVM_HC_SEND_IPI, 0, true, true, 0), NEG(KVM_ENOSYS));
	assert_int_equal(call(KVM_HC_SCHED_YIELD, 0, true, true, 0), NEG(KVM_ENOSYS));
	/* with the feature bit, or without enforcement (fix_hypercall_test), the hints succeed */
	assert_int_equal(call(KVM_HC_SCHED_YIELD, 0, true, true, 1u << KVM_FEATURE_PV_SCHED_YIELD), 0);
	assert_int_equal(call(KVM_HC_SCHED_YIELD, 0, true, false, 0), 0);
	assert_int_equal(call(KVM_HC_KICK_CPU, 0, true, false, 0), 0);
	assert_int_equal(call(KVM_HC_VAPIC_POLL_IRQ, 0, true, true, 0), 0);
	assert_int_equal(call(KVM_HC_CLOCK_PAIRING, 0, true, false, 0), NEG(KVM_EOPNOTSUPP));
	assert_int_equal(call(KVM_HC_MAP_GPA_RANGE, 0, true, false, 0), NEG(KVM_ENOSYS));
	assert_int_equal(call(4242, 0, true, false, 0), NEG(KVM_ENOSYS));
	/* CPL > 0: -KVM_EPERM whatever the number */
	assert_int_equal(call(KVM_HC_VAPIC_POLL_IRQ, 3, true, false, 0), NEG(KVM_EPERM));
	/* 32-bit callers: the number is truncated, so is the answer */
	assert_int_equal(call((1ull << 32) | KVM_HC_VAPIC_POLL_IRQ, 0, false, false, 0), 0);
	assert_int_equal(call(4242, 0, false, false, 0), (uint32_t)NEG(KVM_ENOSYS));
	assert_int_equal(call((1ull << 32) | KVM_HC_VAPIC_POLL_IRQ, 0, true, false, 0),
			 NEG(KVM_ENOSYS));
}

static void test_insns(void **state)
{
	static const uint8_t vmcall[] = { 0x0f, 0x01, 0xc1 }, vmmcall[] = { 0x0f, 0x01, 0xd9 },
			     other[] = { 0x0f, 0x01, 0xd8 };
	uint8_t n[HYPERCALL_INSN_LEN];

	assert_true(hypercall_insn_is(vmcall, 3));
	assert_true(hypercall_insn_is(vmmcall, 3));
	assert_false(hypercall_insn_is(other, 3));     /* VMRUN */
	assert_false(hypercall_insn_is(vmcall, 2));    /* not all fetched */
	hypercall_insn_native(false, n);
	assert_memory_equal(n, vmmcall, 3);
	hypercall_insn_native(true, n);
	assert_memory_equal(n, vmcall, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answers),
		cmocka_unit_test(test_insns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
