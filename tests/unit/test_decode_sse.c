/* SPDX-License-Identifier: MIT */
/* SSE zero idioms the hostkvm backend emulates for PVM (cused/x86/decode_sse.c) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <cmocka.h>
#include "cused/x86/decode.h"

static int dec(const uint8_t *b, size_t n, enum x86_mode m, uint8_t *xmm, uint8_t *len)
{
	return x86_decode_xmm_zero(b, n, m, xmm, len);
}

static void zero_idioms(void **state)
{
	uint8_t xmm = 0xff, len = 0;

	(void)state;
	/* pxor %xmm0,%xmm0 (the selftests' ucall entry) */
	assert_int_equal(dec((const uint8_t[]){ 0x66, 0x0f, 0xef, 0xc0 }, 4, X86_MODE_LONG64,
			     &xmm, &len), 0);
	assert_int_equal(xmm, 0);
	assert_int_equal(len, 4);
	/* xorps %xmm3,%xmm3 */
	assert_int_equal(dec((const uint8_t[]){ 0x0f, 0x57, 0xdb }, 3, X86_MODE_PROT32, &xmm, &len), 0);
	assert_int_equal(xmm, 3);
	assert_int_equal(len, 3);
	/* xorpd %xmm9,%xmm9: REX.R and REX.B */
	assert_int_equal(dec((const uint8_t[]){ 0x66, 0x45, 0x0f, 0x57, 0xc9 }, 5, X86_MODE_LONG64,
			     &xmm, &len), 0);
	assert_int_equal(xmm, 9);
	assert_int_equal(len, 5);
}

static void not_zero_idioms(void **state)
{
	uint8_t xmm, len;

	(void)state;
	/* pxor %xmm1,%xmm0: two registers */
	assert_int_equal(dec((const uint8_t[]){ 0x66, 0x0f, 0xef, 0xc1 }, 4, X86_MODE_LONG64,
			     &xmm, &len), -EINVAL);
	/* REX.R only: xmm8 with xmm0 */
	assert_int_equal(dec((const uint8_t[]){ 0x66, 0x44, 0x0f, 0xef, 0xc0 }, 5, X86_MODE_LONG64,
			     &xmm, &len), -EINVAL);
	/* pxor (%rax),%xmm0: memory operand */
	assert_int_equal(dec((const uint8_t[]){ 0x66, 0x0f, 0xef, 0x00 }, 4, X86_MODE_LONG64,
			     &xmm, &len), -EINVAL);
	/* 0f ef without 66 is MMX */
	assert_int_equal(dec((const uint8_t[]){ 0x0f, 0xef, 0xc0 }, 3, X86_MODE_LONG64, &xmm, &len),
			 -EINVAL);
	/* F3 prefix: another instruction */
	assert_int_equal(dec((const uint8_t[]){ 0xf3, 0x0f, 0x57, 0xc0 }, 4, X86_MODE_LONG64,
			     &xmm, &len), -EINVAL);
	/* 0x45 is INC EBP outside 64-bit mode, not REX */
	assert_int_equal(dec((const uint8_t[]){ 0x45, 0x0f, 0x57, 0xc0 }, 4, X86_MODE_PROT32,
			     &xmm, &len), -EINVAL);
	/* truncated */
	assert_int_equal(dec((const uint8_t[]){ 0x66, 0x0f }, 2, X86_MODE_LONG64, &xmm, &len),
			 -EAGAIN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(zero_idioms),
		cmocka_unit_test(not_zero_idioms),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
