/* SPDX-License-Identifier: MIT */
/*
 * Register side of MMIO emulation: what a store puts on the bus and what a
 * load does to its destination register.  Hand-written cases for every
 * width/extension rule, decoded end to end from instruction bytes, and (on
 * an x86-64 host) checked against the host CPU executing the same
 * instruction on ordinary memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "cused/x86/decode.h"
#include "cused/x86/emulate.h"

static size_t parse_hex(const char *s, uint8_t *out, size_t max)
{
	size_t n = 0;
	unsigned v;
	int used;

	while (*s) {
		if (*s == ' ') {
			s++;
			continue;
		}
		if (sscanf(s, "%2x%n", &v, &used) != 1 || used != 2 || n == max)
			fail_msg("bad hex: %s", s);
		out[n++] = v;
		s += 2;
	}
	return n;
}

static struct x86_insn decode64(const char *hex)
{
	uint8_t b[16];
	size_t n = parse_hex(hex, b, sizeof(b));
	struct x86_insn in;

	if (x86_decode(b, n, X86_MODE_LONG64, &in))
		fail_msg("cannot decode %s", hex);
	assert_int_equal(in.len, n);
	return in;
}

/* a register file where every byte is recognisable */
static void fill_gprs(struct x86_gprs *g)
{
	for (int i = 0; i < 16; i++)
		g->r[i] = 0x1122334455667788ull + 0x0101010101010101ull * (uint64_t)i * 0x10;
}

static void le(uint8_t d[8], uint64_t v)
{
	for (int i = 0; i < 8; i++)
		d[i] = v >> (8 * i);
}

/* apply, then check the destination and that no other register moved */
static void check_load(struct x86_insn in, uint64_t old, uint64_t data, uint64_t want)
{
	struct x86_gprs g, before;
	uint8_t d[8];

	fill_gprs(&g);
	g.r[in.reg] = old;
	before = g;
	le(d, data);
	x86_load_apply(&in, &g, d);
	if (g.r[in.reg] != want)
		fail_msg("op %d mem %u reg %u/%u%s: %#llx <- %#llx gives %#llx, want %#llx",
			 in.op, in.mem_size, in.reg, in.reg_size, in.reg_high8 ? "h" : "",
			 (unsigned long long)old, (unsigned long long)data,
			 (unsigned long long)g.r[in.reg], (unsigned long long)want);
	for (int i = 0; i < 16; i++)
		if (i != in.reg)
			assert_int_equal(g.r[i], before.r[i]);
}

static struct x86_insn mk(enum x86_mem_op op, uint8_t mem, uint8_t reg, uint8_t rsize, bool hi)
{
	struct x86_insn in = { .len = 3, .op = op, .mem_size = mem, .reg = reg,
			       .reg_size = rsize, .reg_high8 = hi };
	return in;
}

/* ------------------------------------------------------------- loads */

static void test_load_mov(void **state)
{
	const uint64_t old = 0x1122334455667788ull;
	/* data bytes past mem_size are garbage the device left: ignored */
	const uint64_t data = 0xdeadbeefcafef00dull;

	check_load(mk(X86_OP_LOAD, 1, 0, 1, false), old, data, 0x112233445566770dull); /* al */
	check_load(mk(X86_OP_LOAD, 1, 0, 1, true),  old, data, 0x1122334455660d88ull); /* ah */
	check_load(mk(X86_OP_LOAD, 1, 3, 1, true),  old, data, 0x1122334455660d88ull); /* bh */
	check_load(mk(X86_OP_LOAD, 1, 4, 1, false), old, data, 0x112233445566770dull); /* spl */
	check_load(mk(X86_OP_LOAD, 1, 15, 1, false), old, data, 0x112233445566770dull); /* r15b */
	check_load(mk(X86_OP_LOAD, 2, 0, 2, false), old, data, 0x112233445566f00dull); /* ax: merge */
	check_load(mk(X86_OP_LOAD, 4, 0, 4, false), old, data, 0x00000000cafef00dull); /* eax: zero-ext */
	check_load(mk(X86_OP_LOAD, 4, 9, 4, false), ~0ull, 0x80000000, 0x80000000ull); /* r9d */
	check_load(mk(X86_OP_LOAD, 8, 0, 8, false), old, data, data);                  /* rax */
	check_load(mk(X86_OP_LOAD, 8, 13, 8, false), old, data, data);
}

static void test_load_zx(void **state)
{
	const uint64_t old = 0x1122334455667788ull;

	check_load(mk(X86_OP_LOAD_ZX, 1, 0, 4, false), ~0ull, 0xff80, 0x80);
	check_load(mk(X86_OP_LOAD_ZX, 1, 0, 8, false), ~0ull, 0xff80, 0x80);
	check_load(mk(X86_OP_LOAD_ZX, 1, 0, 2, false), old, 0xff80, 0x1122334455660080ull);
	check_load(mk(X86_OP_LOAD_ZX, 2, 0, 4, false), ~0ull, 0xffff8001, 0x8001);
	check_load(mk(X86_OP_LOAD_ZX, 2, 12, 8, false), ~0ull, 0xffff8001, 0x8001);
	check_load(mk(X86_OP_LOAD_ZX, 2, 0, 2, false), old, 0x12348001, 0x1122334455668001ull);
}

static void test_load_sx(void **state)
{
	const uint64_t old = 0x1122334455667788ull;

	check_load(mk(X86_OP_LOAD_SX, 1, 0, 4, false), old, 0x80, 0x00000000ffffff80ull);
	check_load(mk(X86_OP_LOAD_SX, 1, 0, 4, false), old, 0x7f, 0x7f);
	check_load(mk(X86_OP_LOAD_SX, 1, 0, 8, false), old, 0x80, 0xffffffffffffff80ull);
	check_load(mk(X86_OP_LOAD_SX, 1, 0, 2, false), old, 0x80, 0x112233445566ff80ull);
	check_load(mk(X86_OP_LOAD_SX, 2, 0, 4, false), old, 0x8000, 0x00000000ffff8000ull);
	check_load(mk(X86_OP_LOAD_SX, 2, 0, 8, false), old, 0x8000, 0xffffffffffff8000ull);
	check_load(mk(X86_OP_LOAD_SX, 2, 0, 8, false), old, 0x7fff, 0x7fff);
	check_load(mk(X86_OP_LOAD_SX, 4, 0, 8, false), old, 0x80000000, 0xffffffff80000000ull);
	check_load(mk(X86_OP_LOAD_SX, 4, 0, 8, false), old, 0xdeadbeef7fffffffull, 0x7fffffff); /* upper data ignored */
}

/* the same rules reached from the instruction bytes */
static void test_load_decoded(void **state)
{
	const uint64_t old = 0x1122334455667788ull;

	check_load(decode64("8a 26"), old, 0xab, 0x112233445566ab88ull);       /* mov ah,[rsi] */
	check_load(decode64("8a 3e"), old, 0xab, 0x112233445566ab88ull);       /* mov bh,[rsi] */
	check_load(decode64("40 8a 26"), old, 0xab, 0x11223344556677abull);    /* mov spl,[rsi] */
	check_load(decode64("40 8a 3e"), old, 0xab, 0x11223344556677abull);    /* mov dil,[rsi] */
	check_load(decode64("44 8a 26"), old, 0xab, 0x11223344556677abull);    /* mov r12b,[rsi] */
	check_load(decode64("8b 06"), old, 0x8badf00d, 0x8badf00dull);         /* mov eax,[rsi] */
	check_load(decode64("66 8b 06"), old, 0x8badf00d, 0x112233445566f00dull);
	check_load(decode64("48 0f be 06"), old, 0xfe, ~1ull);                 /* movsx rax,byte */
	check_load(decode64("0f b7 06"), old, 0xfffe, 0xfffe);                 /* movzx eax,word */
	check_load(decode64("48 63 06"), old, 0xfffffffe, ~1ull);              /* movsxd */
	check_load(decode64("48 a1 00 00 00 00 00 10 00 00"), old, 7, 7);      /* mov rax,moffs */

	/* which register: ah/spl are the same ModRM reg field */
	{
		struct x86_gprs g;
		uint8_t d[8];
		struct x86_insn ah = decode64("8a 26"), spl = decode64("40 8a 26");

		uint64_t rax, rsp;

		fill_gprs(&g);
		rax = g.r[0];
		rsp = g.r[4];
		le(d, 0x5a);
		x86_load_apply(&ah, &g, d);
		assert_int_equal(g.r[0], (rax & ~0xff00ull) | 0x5a00);
		assert_int_equal(g.r[4], rsp);
		x86_load_apply(&spl, &g, d);
		assert_int_equal(g.r[4], (rsp & ~0xffull) | 0x5a);
		assert_int_equal(g.r[0], (rax & ~0xff00ull) | 0x5a00);
	}
}

static void test_load_ignores_stores(void **state)
{
	struct x86_gprs g, before;
	uint8_t d[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct x86_insn st = decode64("48 89 06"), si = decode64("48 c7 06 01 00 00 00");

	fill_gprs(&g);
	before = g;
	x86_load_apply(&st, &g, d);
	x86_load_apply(&si, &g, d);
	assert_memory_equal(&g, &before, sizeof(g));
}

/* ------------------------------------------------------------- stores */

static void check_store(struct x86_insn in, const struct x86_gprs *g, uint64_t want)
{
	uint8_t d[8], w[8];

	memset(d, 0xcc, sizeof(d));
	x86_store_data(&in, g, d);
	le(w, want);
	if (memcmp(d, w, 8))
		fail_msg("op %d mem %u reg %u%s imm %#llx: data %02x %02x %02x %02x %02x %02x %02x %02x,"
			 " want %#llx", in.op, in.mem_size, in.reg, in.reg_high8 ? "h" : "",
			 (unsigned long long)in.imm, d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[7],
			 (unsigned long long)want);
}

static void test_store_reg(void **state)
{
	struct x86_gprs g;

	fill_gprs(&g);
	g.r[0] = 0x1122334455667788ull;
	g.r[3] = 0x0102030405060708ull;
	g.r[4] = 0xa1a2a3a4a5a6a7a8ull;
	g.r[14] = 0xf0e0d0c0b0a09080ull;

	check_store(mk(X86_OP_STORE, 1, 0, 1, false), &g, 0x88);           /* al */
	check_store(mk(X86_OP_STORE, 1, 0, 1, true), &g, 0x77);            /* ah */
	check_store(mk(X86_OP_STORE, 1, 3, 1, true), &g, 0x07);            /* bh */
	check_store(mk(X86_OP_STORE, 1, 4, 1, false), &g, 0xa8);           /* spl */
	check_store(mk(X86_OP_STORE, 2, 0, 2, false), &g, 0x7788);
	check_store(mk(X86_OP_STORE, 4, 0, 4, false), &g, 0x55667788);
	check_store(mk(X86_OP_STORE, 8, 0, 8, false), &g, 0x1122334455667788ull);
	check_store(mk(X86_OP_STORE, 8, 14, 8, false), &g, 0xf0e0d0c0b0a09080ull);

	check_store(decode64("88 26"), &g, 0x77);                            /* mov [rsi],ah */
	check_store(decode64("40 88 26"), &g, 0xa8);                         /* mov [rsi],spl */
	check_store(decode64("44 88 36"), &g, 0x80);                         /* mov [rsi],r14b */
	check_store(decode64("66 89 1e"), &g, 0x0708);                       /* mov [rsi],bx */
	check_store(decode64("4c 89 36"), &g, 0xf0e0d0c0b0a09080ull);        /* mov [rsi],r14 */
	check_store(decode64("a3 00 00 00 00 00 10 00 00"), &g, 0x55667788); /* mov moffs,eax */
	check_store(decode64("a2 00 00 00 00 00 10 00 00"), &g, 0x88);
}

static void test_store_imm(void **state)
{
	struct x86_gprs g;

	fill_gprs(&g);
	check_store(decode64("c6 06 ab"), &g, 0xab);
	check_store(decode64("66 c7 06 34 82"), &g, 0x8234);
	check_store(decode64("c7 06 78 56 34 12"), &g, 0x12345678);
	/* imm32 into a 4-byte store: no sign extension past 4 bytes */
	check_store(decode64("c7 06 00 00 00 80"), &g, 0x80000000ull);
	/* imm32 sign-extended for the 8-byte store */
	check_store(decode64("48 c7 06 00 00 00 80"), &g, 0xffffffff80000000ull);
	check_store(decode64("48 c7 06 fe ff ff ff"), &g, 0xfffffffffffffffeull);
	check_store(decode64("48 c7 06 ff ff ff 7f"), &g, 0x7fffffffull);
	check_store(decode64("48 c7 44 24 08 01 00 00 00"), &g, 1);
	/* a load has nothing to put on the bus */
	check_store(decode64("48 8b 06"), &g, 0);
}

/* real and 32-bit modes: same register rules, 16-bit default size */
static void test_legacy_modes(void **state)
{
	struct x86_gprs g;
	struct x86_insn in;
	uint8_t b[] = { 0x89, 0x07 }, d[8];     /* mov [bx],ax */
	uint8_t l[] = { 0x66, 0x8b, 0x07 };     /* mov eax,[bx] */

	fill_gprs(&g);
	g.r[0] = 0xffffffff12345678ull;
	assert_int_equal(x86_decode(b, sizeof(b), X86_MODE_REAL16, &in), 0);
	x86_store_data(&in, &g, d);
	assert_int_equal(d[0], 0x78);
	assert_int_equal(d[1], 0x56);
	assert_int_equal(d[2], 0);
	assert_int_equal(x86_decode(l, sizeof(l), X86_MODE_REAL16, &in), 0);
	le(d, 0xcafef00d);
	x86_load_apply(&in, &g, d);
	assert_int_equal(g.r[0], 0xcafef00dull);  /* like KVM: 32-bit write clears 63:32 */
}

/* --------------------------------------------- host CPU as the oracle */
#if defined(__x86_64__)
static uint64_t rng = 0x243f6a8885a308d3ull;
static uint64_t rnd64(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

#define HOST_LOAD(asmins, init, memv) ({					\
	uint64_t _r = (init), _m = (memv);					\
	__asm__ volatile(asmins : "+a"(_r) : "m"(_m));				\
	_r; })

#define HOST_STORE(asmins, init, memv) ({					\
	uint64_t _r = (init), _m = (memv);					\
	__asm__ volatile(asmins : "+m"(_m) : "a"(_r));				\
	_m; })

static void test_host_cpu(void **state)
{
	for (int it = 0; it < 2000; it++) {
		uint64_t old = rnd64(), mem = rnd64();

		/* bias towards sign bits set/clear */
		if (it & 1)
			mem ^= 0x8080808080808080ull;
#define L(hex, asmins) check_load(decode64(hex), old, mem, HOST_LOAD(asmins, old, mem))
		L("8a 06", "movb %1, %%al");
		L("8a 26", "movb %1, %%ah");
		L("66 8b 06", "movw %1, %%ax");
		L("8b 06", "movl %1, %%eax");
		L("48 8b 06", "movq %1, %%rax");
		L("0f b6 06", "movzbl %1, %%eax");
		L("66 0f b6 06", "movzbw %1, %%ax");
		L("48 0f b6 06", "movzbq %1, %%rax");
		L("0f b7 06", "movzwl %1, %%eax");
		L("48 0f b7 06", "movzwq %1, %%rax");
		L("0f be 06", "movsbl %1, %%eax");
		L("66 0f be 06", "movsbw %1, %%ax");
		L("48 0f be 06", "movsbq %1, %%rax");
		L("0f bf 06", "movswl %1, %%eax");
		L("48 0f bf 06", "movswq %1, %%rax");
		L("48 63 06", "movslq %1, %%rax");
#undef L
		{
			struct x86_gprs g;

			fill_gprs(&g);
			g.r[0] = old;
#define S(hex, asmins) check_store(decode64(hex), &g, HOST_STORE(asmins, old, 0) & \
			   (decode64(hex).mem_size == 8 ? ~0ull : (1ull << (8 * decode64(hex).mem_size)) - 1))
			S("88 06", "movb %%al, %0");
			S("88 26", "movb %%ah, %0");
			S("66 89 06", "movw %%ax, %0");
			S("89 06", "movl %%eax, %0");
			S("48 89 06", "movq %%rax, %0");
			S("c6 06 80", "movb $0x80, %0");
			S("66 c7 06 00 80", "movw $0x8000, %0");
			S("c7 06 00 00 00 80", "movl $0x80000000, %0");
			S("48 c7 06 00 00 00 80", "movq $-0x80000000, %0");
			S("48 c7 06 ff ff ff 7f", "movq $0x7fffffff, %0");
#undef S
		}
	}
}
#else
static void test_host_cpu(void **state)
{
	skip();
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_mov),
		cmocka_unit_test(test_load_zx),
		cmocka_unit_test(test_load_sx),
		cmocka_unit_test(test_load_decoded),
		cmocka_unit_test(test_load_ignores_stores),
		cmocka_unit_test(test_store_reg),
		cmocka_unit_test(test_store_imm),
		cmocka_unit_test(test_legacy_modes),
		cmocka_unit_test(test_host_cpu),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
