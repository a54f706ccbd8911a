/* SPDX-License-Identifier: MIT */
/*
 * String port I/O shared by the backends (cused/tramp/strio.c) and its
 * decoder (cused/x86/decode_strio.c): KVM's batching, retiring with the
 * client's rCX, the element walk, and the INS/OUTS encodings.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "cused/tramp/strio.h"
#include "cused/tramp_abi.h"
#include "cused/x86/decode.h"

#define DF (1u << 10)

static struct strio ins(uint8_t size, uint64_t mask)
{
	return (struct strio){ .in = true, .rep = true, .size = size, .seg = CUSED_SEG_ES,
			       .addr_mask = mask };
}

static void batch_is_page_and_buffer_bounded(void **state)
{
	struct strio s = ins(1, ~0ull);

	(void)state;
	/* 8192 bytes from 0x1fe8: the 24 left in the page first */
	assert_int_equal(strio_begin(&s, 8192, 0, 0x1fe8, 0), 24);
	assert_int_equal(strio_elem_off(&s, 23), 0x1fff);
	/* then at most 1024 bytes */
	assert_int_equal(strio_begin(&s, 8192, 0, 0x2000, 0), 1024);
	/* never more than rCX */
	assert_int_equal(strio_begin(&s, 2, 0, 0x2000, 0), 2);
	/* 4-byte elements: 1024 / 4 */
	s = ins(4, ~0ull);
	assert_int_equal(strio_begin(&s, 5000, 0, 0x3000, 0), 256);
	/* DF: the bytes below rDI in its page, going down */
	s = ins(2, ~0ull);
	assert_int_equal(strio_begin(&s, 100, 0, 0x3010, DF), 16);
	assert_int_equal(s.step, -2);
	assert_int_equal(strio_elem_off(&s, 1), 0x300e);
	/* REP with rCX = 0 only retires; the address size masks rCX */
	assert_int_equal(strio_begin(&s, 0, 0, 0x3000, 0), 0);
	s = ins(1, 0xffff);
	assert_int_equal(strio_begin(&s, 0x10000, 0, 0x3000, 0), 0);
}

static void outs_is_one_element(void **state)
{
	struct strio s = { .rep = true, .size = 2, .seg = CUSED_SEG_FS, .addr_mask = 0xffffffff };

	(void)state;
	assert_int_equal(strio_begin(&s, 50, 0x1234567890, 0, 0), 1);
	assert_int_equal(s.off, 0x34567890);
	s.rep = false;
	assert_int_equal(strio_begin(&s, 0, 0x10, 0, 0), 1);
}

static void retire_follows_the_clients_rcx(void **state)
{
	struct strio s = ins(1, ~0ull);
	struct strio_retire r;

	(void)state;
	strio_begin(&s, 2, 0, 0x1000, 0);
	/* userspace_io_test: count 2 read ahead, rCX set to 1 -> one element, retired */
	strio_retire(&s, 2, 0x1000, 1, &r);
	assert_int_equal(r.n, 1);
	assert_int_equal(r.reg, 0x1001);
	assert_int_equal(r.rcx, 0);
	assert_true(r.retire);
	/* count 3, rCX set to 8192 -> three elements, not retired */
	strio_retire(&s, 3, 0x1000, 8192, &r);
	assert_int_equal(r.n, 3);
	assert_int_equal(r.reg, 0x1003);
	assert_int_equal(r.rcx, 8189);
	assert_false(r.retire);
	/* 16-bit address size: DI and CX wrap, the upper bits stay */
	s = ins(2, 0xffff);
	strio_begin(&s, 0x20003, 0, 0xabcd0000fffe, 0);
	strio_retire(&s, 1, 0xabcd0000fffe, 0x20003, &r);
	assert_int_equal(r.reg, 0xabcd00000000);
	assert_int_equal(r.rcx, 0x20002);
	assert_false(r.retire);
	/* without REP: one element, rCX untouched, retired */
	s.rep = false;
	strio_retire(&s, 1, 0x10, 77, &r);
	assert_int_equal(r.rcx, 77);
	assert_int_equal(r.reg, 0x12);
	assert_true(r.retire);
}

static uint8_t ram[0x4000];

static int ram_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	(void)ctx;
	if (gpa >= sizeof(ram) || len > sizeof(ram) - gpa)
		return -EFAULT;
	memcpy(buf, ram + gpa, len);
	return 0;
}

static int ram_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	(void)ctx;
	if (gpa >= sizeof(ram) || len > sizeof(ram) - gpa)
		return -EFAULT;
	memcpy(ram + gpa, buf, len);
	return 0;
}

static void mem_moves_elements(void **state)
{
	/* paging off: linear = physical; segment base counts outside 64-bit code */
	struct strio_env env = { .mem = { ram_read, ram_write, NULL }, .seg_base = 0x1000 };
	struct strio s = ins(2, 0xffff);
	uint8_t data[6] = { 1, 2, 3, 4, 5, 6 }, back[6];

	(void)state;
	memset(ram, 0, sizeof(ram));
	strio_begin(&s, 3, 0, 0x10, DF);
	assert_int_equal(strio_mem(&s, &env, data, 3, true), 0);
	/* element i at 0x1000 + 0x10 - 2i */
	assert_int_equal(ram[0x1010], 1);
	assert_int_equal(ram[0x100e], 3);
	assert_int_equal(ram[0x100d], 6);
	assert_int_equal(strio_mem(&s, &env, back, 3, false), 0);
	assert_memory_equal(back, data, 6);
	/* 64-bit code ignores the ES base */
	env.long64 = true;
	s = ins(1, ~0ull);
	strio_begin(&s, 1, 0, 0x20, 0);
	assert_int_equal(strio_mem(&s, &env, data, 1, true), 0);
	assert_int_equal(ram[0x20], 1);
	/* no RAM there */
	strio_begin(&s, 1, 0, 0x10000, 0);
	assert_int_equal(strio_mem(&s, &env, data, 1, true), -EFAULT);
}

static void decodes_ins_outs(void **state)
{
	struct x86_strio d;

	(void)state;
	/* rep insb, 64-bit */
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0xf3, 0x6c }, 2, X86_MODE_LONG64, &d), 0);
	assert_true(d.in && d.rep);
	assert_int_equal(d.len, 2);
	assert_int_equal(d.size, 1);
	assert_int_equal(d.addr_size, 8);
	assert_int_equal(d.seg, CUSED_SEG_ES);
	/* fs rep outsw with a 32-bit address, REX.W ignored */
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0x66, 0x64, 0x67, 0xf3, 0x48, 0x6f },
					  6, X86_MODE_LONG64, &d), 0);
	assert_false(d.in);
	assert_int_equal(d.len, 6);
	assert_int_equal(d.size, 2);
	assert_int_equal(d.addr_size, 4);
	assert_int_equal(d.seg, CUSED_SEG_FS);
	/* insd in 16-bit code needs 66; 67 gives 32-bit addresses there */
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0x66, 0x67, 0x6d }, 3, X86_MODE_REAL16,
					  &d), 0);
	assert_int_equal(d.size, 4);
	assert_int_equal(d.addr_size, 4);
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0x6e }, 1, X86_MODE_PROT32, &d), 0);
	assert_int_equal(d.addr_size, 4);
	assert_int_equal(d.seg, CUSED_SEG_DS);
	assert_false(d.rep);
	/* not INS/OUTS, LOCK, truncated, too long */
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0x66, 0x0f, 0xef, 0xc0 }, 4,
					  X86_MODE_LONG64, &d), -EINVAL);
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0xf0, 0x6c }, 2, X86_MODE_LONG64, &d),
			 -EINVAL);
	assert_int_equal(x86_decode_strio((const uint8_t[]){ 0xf3 }, 1, X86_MODE_LONG64, &d),
			 -EAGAIN);
	uint8_t longer[16];
	memset(longer, 0x66, sizeof(longer));
	longer[15] = 0x6c;
	assert_int_equal(x86_decode_strio(longer, 16, X86_MODE_LONG64, &d), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(batch_is_page_and_buffer_bounded),
		cmocka_unit_test(outs_is_one_element),
		cmocka_unit_test(retire_follows_the_clients_rcx),
		cmocka_unit_test(mem_moves_elements),
		cmocka_unit_test(decodes_ins_outs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
