/* SPDX-License-Identifier: MIT */
/* x86_decode_mov_dr: MOV to/from DRn as Linux and firmware write it */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include "cused/x86/decode.h"

static void dec(const uint8_t *b, size_t n, enum x86_mode m, int want, struct x86_mov_dr *d)
{
	assert_int_equal(x86_decode_mov_dr(b, n, m, d), want);
}

/* Linux's native_set_debugreg: mov %rsi,%dr0 (0f 23 c6), long mode */
static void test_to_dr_long(void **state)
{
	static const uint8_t b[] = { 0x0f, 0x23, 0xc6, 0xe9 };
	struct x86_mov_dr d;

	dec(b, sizeof(b), X86_MODE_LONG64, 0, &d);
	assert_int_equal(d.len, 3);
	assert_true(d.to_dr);
	assert_int_equal(d.dr, 0);
	assert_int_equal(d.gpr, 6);     /* rsi */
	assert_true(d.wide);
}

/* mov %dr3,%r9 (41 0f 21 d9): REX.B extends the GPR */
static void test_from_dr_rex(void **state)
{
	static const uint8_t b[] = { 0x41, 0x0f, 0x21, 0xd9 };
	struct x86_mov_dr d;

	dec(b, sizeof(b), X86_MODE_LONG64, 0, &d);
	assert_int_equal(d.len, 4);
	assert_false(d.to_dr);
	assert_int_equal(d.dr, 3);
	assert_int_equal(d.gpr, 9);
}

/* 32-bit mode: 32-bit operand; 0x41 is INC ECX there, not REX */
static void test_prot32(void **state)
{
	static const uint8_t b[] = { 0x0f, 0x21, 0xd0 };      /* mov %dr2,%eax */
	static const uint8_t inc[] = { 0x41, 0x0f, 0x21, 0xd0 };
	struct x86_mov_dr d;

	dec(b, sizeof(b), X86_MODE_PROT32, 0, &d);
	assert_int_equal(d.dr, 2);
	assert_int_equal(d.gpr, 0);
	assert_false(d.wide);
	dec(inc, sizeof(inc), X86_MODE_PROT32, -EINVAL, &d);
}

/* REX.R names DR8+ (#UD), LOCK is #UD, other opcodes are not ours, short input asks for more */
static void test_refused(void **state)
{
	static const uint8_t rexr[] = { 0x44, 0x0f, 0x23, 0xc0 };
	static const uint8_t lock[] = { 0xf0, 0x0f, 0x23, 0xc0 };
	static const uint8_t movcr[] = { 0x0f, 0x22, 0xc0 };
	static const uint8_t shrt[] = { 0x0f, 0x23 };
	struct x86_mov_dr d;

	dec(rexr, sizeof(rexr), X86_MODE_LONG64, -EINVAL, &d);
	dec(lock, sizeof(lock), X86_MODE_LONG64, -EINVAL, &d);
	dec(movcr, sizeof(movcr), X86_MODE_LONG64, -EINVAL, &d);
	dec(shrt, sizeof(shrt), X86_MODE_LONG64, -EAGAIN, &d);
	dec(shrt, 0, X86_MODE_LONG64, -EAGAIN, &d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_dr_long),
		cmocka_unit_test(test_from_dr_rex),
		cmocka_unit_test(test_prot32),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
