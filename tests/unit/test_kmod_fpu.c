/* SPDX-License-Identifier: MIT */
/*
 * struct kvm_fpu <-> FXSAVE image, checked against the 64-bit FXSAVE layout
 * of the Intel SDM (vol. 1, table 10-2) byte by byte, not against the code.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "cused/tramp/kmod.h"

static void put16(uint8_t *b, unsigned off, uint16_t v) { memcpy(b + off, &v, 2); }
static void put32(uint8_t *b, unsigned off, uint32_t v) { memcpy(b + off, &v, 4); }
static void put64(uint8_t *b, unsigned off, uint64_t v) { memcpy(b + off, &v, 8); }

static void test_to_kvm_layout(void **state)
{
	uint8_t fx[512] = { 0 };
	struct kvm_fpu f;

	put16(fx, 0, 0x037f);                  /* FCW */
	put16(fx, 2, 0x3800);                  /* FSW */
	fx[4] = 0x81;                          /* abridged FTW */
	put16(fx, 6, 0x07df);                  /* FOP */
	put64(fx, 8, 0x1122334455667788ull);   /* FPU IP (64-bit form) */
	put64(fx, 16, 0x99aabbccddeeff00ull);  /* FPU DP */
	put32(fx, 24, 0x1f80);                 /* MXCSR */
	put32(fx, 28, 0xffbf);                 /* MXCSR_MASK: not in kvm_fpu */
	for (int i = 0; i < 8; i++)
		fx[32 + 16 * i] = 0x10 + i;    /* ST(i)/MM(i), 16 bytes apart */
	for (int i = 0; i < 16; i++)
		fx[160 + 16 * i + 15] = 0xa0 + i;  /* XMM(i), top byte */
	memset(&f, 0x5a, sizeof(f));
	kmod_fx_to_kvm(fx, &f);
	assert_int_equal(f.fcw, 0x037f);
	assert_int_equal(f.fsw, 0x3800);
	assert_int_equal(f.ftwx, 0x81);
	assert_int_equal(f.last_opcode, 0x07df);
	assert_int_equal(f.last_ip, 0x1122334455667788ull);
	assert_int_equal(f.last_dp, 0x99aabbccddeeff00ull);
	assert_int_equal(f.mxcsr, 0x1f80);
	for (int i = 0; i < 8; i++)
		assert_int_equal(f.fpr[i][0], 0x10 + i);
	for (int i = 0; i < 16; i++)
		assert_int_equal(f.xmm[i][15], 0xa0 + i);
	/* padding is zeroed, never stale caller memory */
	assert_int_equal(f.pad1, 0);
	assert_int_equal(f.pad2, 0);
}

static void test_from_kvm_keeps_the_rest(void **state)
{
	uint8_t fx[512], before[512];
	struct kvm_fpu f = { .fcw = 0x0f7f, .fsw = 0x0001, .ftwx = 0xff, .last_opcode = 0x1d9,
			     .last_ip = 0xdeadbeef, .last_dp = 0xfeedface, .mxcsr = 0x1fa0 };
	struct kvm_fpu back;

	for (int i = 0; i < 512; i++)
		fx[i] = (uint8_t)(i * 7 + 3);
	memcpy(before, fx, sizeof(fx));
	memset(f.fpr, 0x33, sizeof(f.fpr));
	memset(f.xmm, 0x44, sizeof(f.xmm));
	kmod_fx_from_kvm(fx, &f);
	/* MXCSR_MASK (28..31) and the reserved tail (416..511) are not kvm_fpu's */
	assert_memory_equal(fx + 28, before + 28, 4);
	assert_memory_equal(fx + 416, before + 416, 96);
	/* byte 5 (reserved next to the abridged tag) too */
	assert_int_equal(fx[5], before[5]);
	assert_int_equal(fx[24], 0xa0);
	assert_int_equal(fx[25], 0x1f);
	kmod_fx_to_kvm(fx, &back);
	assert_memory_equal(&back, &f, sizeof(f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_to_kvm_layout),
		cmocka_unit_test(test_from_kvm_keeps_the_rest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
