/* SPDX-License-Identifier: MIT */
/* MONITOR/MWAIT, which the hostkvm backend retires for PVM (cused/x86/decode_mwait.c) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>
#include "cused/x86/decode.h"

#define DEC(mode, ...) ({ static const uint8_t b_[] = { __VA_ARGS__ }; \
	x86_decode_monitor_mwait(b_, sizeof(b_), mode, &mwait, &len); })

static void monitor_mwait(void **state)
{
	bool mwait = true;
	uint8_t len = 0;

	(void)state;
	assert_int_equal(DEC(X86_MODE_LONG64, 0x0f, 0x01, 0xc8), 0);
	assert_false(mwait);
	assert_int_equal(len, 3);
	assert_int_equal(DEC(X86_MODE_PROT32, 0x0f, 0x01, 0xc9, 0x90), 0);
	assert_true(mwait);
	assert_int_equal(len, 3);
	/* address-size and segment prefixes, REX in 64-bit mode */
	assert_int_equal(DEC(X86_MODE_LONG64, 0x67, 0x2e, 0x48, 0x0f, 0x01, 0xc8), 0);
	assert_false(mwait);
	assert_int_equal(len, 6);
	assert_int_equal(DEC(X86_MODE_REAL16, 0x66, 0x0f, 0x01, 0xc9), 0);
	assert_int_equal(len, 4);
}

static void not_monitor_mwait(void **state)
{
	bool mwait;
	uint8_t len;

	(void)state;
	/* LOCK and REP are #UD, the guest's to take */
	assert_int_equal(DEC(X86_MODE_LONG64, 0xf0, 0x0f, 0x01, 0xc8), -EINVAL);
	assert_int_equal(DEC(X86_MODE_LONG64, 0xf3, 0x0f, 0x01, 0xc9), -EINVAL);
	/* neighbours in the 0F 01 group: VMCALL, CLAC, MONITORX */
	assert_int_equal(DEC(X86_MODE_LONG64, 0x0f, 0x01, 0xc1), -EINVAL);
	assert_int_equal(DEC(X86_MODE_LONG64, 0x0f, 0x01, 0xca), -EINVAL);
	assert_int_equal(DEC(X86_MODE_LONG64, 0x0f, 0x01, 0xfa), -EINVAL);
	/* 0x48 is DEC eax outside 64-bit mode, not a REX prefix */
	assert_int_equal(DEC(X86_MODE_PROT32, 0x48, 0x0f, 0x01, 0xc8), -EINVAL);
	/* truncated, and too long to be an instruction */
	assert_int_equal(DEC(X86_MODE_LONG64, 0x0f, 0x01), -EAGAIN);
	assert_int_equal(DEC(X86_MODE_LONG64, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66, 0x66,
			     0x66, 0x66, 0x66, 0x66, 0x0f, 0x01, 0xc8), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(monitor_mwait),
		cmocka_unit_test(not_monitor_mwait),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
