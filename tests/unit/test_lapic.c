/* SPDX-License-Identifier: MIT */
/*
 * The LAPIC register file (cused/irq/lapic.c, lapic_state.c) against KVM's
 * arch/x86/kvm/lapic.c: reset values, write masks and read-only bits, the
 * x2APIC MSR path against the MMIO path, #GP rules, base MSR transitions,
 * KVM_GET/SET_LAPIC.  Interrupt flow is in test_lapic_irq.c.
 */
#include "lapic_fixture.h"

/* macros, not const objects: C initializers of static tables need constants */
#define AP ((struct lapic_config){ .vcpu_id = 3, .vcpu_index = 3, .caps = { .x2apic = true } })
#define BSP ((struct lapic_config){ .vcpu_id = 0, .vcpu_index = 0, .bsp = true, \
				    .caps = { .x2apic = true } })

static void test_reset_values(void **state)
{
	static const struct { const char *name; struct lapic_config cfg; unsigned off; uint32_t want; } t[] = {
		{ "ap id", AP, 0x20, 3u << 24 },
		{ "version: 6 LVTs, no directed EOI", AP, 0x30, 0x50014 },
		{ "version with CMCI", { .vcpu_id = 1, .caps = { .cmci = true } }, 0x30, 0x60014 },
		{ "version with directed EOI", { .caps = { .directed_eoi = true } }, 0x30, 0x1050014 },
		{ "dfr flat", AP, 0xe0, 0xffffffff },
		{ "spiv", AP, 0xf0, 0xff },
		{ "tpr", AP, 0x80, 0 },
		{ "ppr", AP, 0xa0, 0 },
		{ "ldr", AP, 0xd0, 0 },
		{ "lvtt masked", AP, 0x320, 0x10000 },
		{ "ap lint0 masked", AP, 0x350, 0x10000 },
		{ "bsp lint0 ExtINT", BSP, 0x350, 0x700 },
		{ "bsp lint1 masked", BSP, 0x360, 0x10000 },
		{ "lverr masked", AP, 0x370, 0x10000 },
		{ "tdcr", AP, 0x3e0, 0 },
		{ "icr", AP, 0x300, 0 },
	};
	struct tenv te;

	(void)state;
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lapic *l;

		tenv_init(&te);
		l = mk_lapic(&te, &t[i].cfg);
		if (rd(l, t[i].off) != t[i].want)
			fail_msg("%s: %#x, want %#x", t[i].name, rd(l, t[i].off), t[i].want);
		lapic_destroy(l);
	}
	tenv_init(&te);
	struct lapic *b = mk_lapic(&te, &BSP), *a = mk_lapic(&te, &AP);
	assert_int_equal(lapic_get_base(b), 0xfee00900);
	assert_int_equal(lapic_get_base(a), 0xfee00800);
	assert_true(lapic_accept_pic_intr(b));
	assert_false(lapic_accept_pic_intr(a));
	/* no_lint0_reenable: the BSP's LINT0 stays masked */
	struct lapic_config q = BSP;
	q.no_lint0_reenable = true;
	struct lapic *c = mk_lapic(&te, &q);
	assert_int_equal(rd(c, 0x350), 0x10000);
	lapic_destroy(a);
	lapic_destroy(b);
	lapic_destroy(c);
}

/* what a 32-bit MMIO write leaves readable: KVM's masks and read-only registers */
static const struct { const char *name; unsigned off; uint32_t val, want; } masks[] = {
	{ "id keeps 31:24", 0x20, 0xffffffff, 0xff000000 },
	{ "version read-only", 0x30, 0, 0x50014 },
	{ "tpr 7:0", 0x80, 0xffffffff, 0xff },
	{ "arbpri reads 0", 0x90, 0xffffffff, 0 },
	{ "ldr 31:24", 0xd0, 0xffffffff, 0xff000000 },
	{ "dfr 27:0 read as ones", 0xe0, 0, 0x0fffffff },
	{ "spiv 9:0 (no directed EOI offered)", 0xf0, 0xffffffff, 0x3ff },
	{ "isr read-only", 0x100, 0xffffffff, 0 },
	{ "tmr read-only", 0x180, 0xffffffff, 0 },
	{ "irr read-only", 0x200, 0xffffffff, 0 },
	{ "esr not latched", 0x280, 0xffffffff, 0 },
	{ "icr2 31:24", 0x310, 0xffffffff, 0xff000000 },
	{ "lvtt: vector, pending, mask, periodic only", 0x320, 0xffffffff, 0x310ff },
	{ "lvt thermal: + mode", 0x330, 0xffffffff, 0x117ff },
	{ "lvt perf: + mode", 0x340, 0xffffffff, 0x117ff },
	{ "lint0: + polarity, remote irr, trigger", 0x350, 0xffffffff, 0x1f7ff },
	{ "lint1", 0x360, 0xffffffff, 0x1f7ff },
	{ "lvt error: vector and mask", 0x370, 0xffffffff, 0x110ff },
	{ "tmcct read-only", 0x390, 0xffffffff, 0 },
	{ "tdcr 3,1:0", 0x3e0, 0xffffffff, 0xb },
	{ "cmci absent with 6 LVTs", 0x2f0, 0xffffffff, 0 },
	{ "rrd unreadable", 0xc0, 0xffffffff, 0 },
};

static void test_write_masks(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	for (unsigned i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		wr(l, masks[i].off, masks[i].val);
		if (rd(l, masks[i].off) != masks[i].want)
			fail_msg("%s: %#x, want %#x", masks[i].name, rd(l, masks[i].off), masks[i].want);
	}
	lapic_destroy(l);
	/* with TSC deadline in CPUID the timer mode has two bits */
	struct lapic_config c = AP;
	c.caps.tsc_deadline = true;
	l = mk_lapic(&te, &c);
	sw_enable(l);
	wr(l, 0x320, 0xffffffff);
	assert_int_equal(rd(l, 0x320), 0x710ff);
	lapic_destroy(l);
}

static void test_sw_disable_masks_lvts(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	/* software-disabled at reset: an LVT write stays masked */
	wr(l, 0x370, 0x33);
	assert_int_equal(rd(l, 0x370), 0x10033);
	sw_enable(l);
	wr(l, 0x370, 0x33);
	wr(l, 0x360, 0x400);
	assert_int_equal(rd(l, 0x370), 0x33);
	wr(l, 0xf0, 0xff);
	assert_int_equal(rd(l, 0x370), 0x10033);
	assert_int_equal(rd(l, 0x360), 0x10400);
	lapic_destroy(l);
}

static void test_mmio_sizes_and_hole(void **state)
{
	struct tenv te;
	struct lapic *l;
	uint64_t q = 0x1234;
	uint8_t b = 0x77;
	uint16_t h;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	sw_enable(l);
	wr(l, 0x80, 0x5a);
	assert_int_equal(lapic_mmio_read(l, BASE + 0x80, &b, 1), 0);
	assert_int_equal(b, 0x5a);
	assert_int_equal(lapic_mmio_read(l, BASE + 0x81, &b, 1), 0);
	assert_int_equal(b, 0);
	assert_int_equal(lapic_mmio_read(l, BASE + 0x22, &h, 2), 0);
	assert_int_equal(h, 3u << 8);
	/* an 8-byte read is ignored (zeros), as are short or misaligned writes */
	assert_int_equal(lapic_mmio_read(l, BASE + 0x80, &q, 8), 0);
	assert_int_equal(q, 0);
	assert_int_equal(lapic_mmio_write(l, BASE + 0x80, &h, 2), 0);
	assert_int_equal(lapic_mmio_write(l, BASE + 0x84, &q, 4), 0);
	assert_int_equal(rd(l, 0x80), 0x5a);
	/* beyond the register file */
	assert_int_equal(rd(l, 0x800), 0);
	/* outside the page: not ours */
	assert_int_equal(lapic_mmio_read(l, BASE + 0x1000, &b, 1), -ENOENT);
	assert_int_equal(lapic_mmio_read(l, BASE - 1, &b, 1), -ENOENT);
	/* x2APIC mode: the MMIO hole reads all ones and drops writes */
	to_x2apic(l);
	assert_int_equal(rd(l, 0x80), 0xffffffff);
	wr(l, 0x80, 0);
	assert_int_equal(rdmsr_ok(l, 0x808), 0x5a);
	lapic_destroy(l);

	struct lapic_config c = AP;
	c.no_mmio_hole = true;
	l = mk_lapic(&te, &c);
	assert_int_equal(lapic_set_base(l, BASE, false), 0);
	assert_int_equal(lapic_mmio_read(l, BASE + 0x80, &b, 1), -ENOENT);
	lapic_destroy(l);
}

/* the same register writes through MMIO (xAPIC) and MSRs (x2APIC) read back alike */
static void test_msr_path_equals_mmio(void **state)
{
	static const struct { unsigned off; uint32_t val; } seq[] = {
		{ 0xf0, 0x1ff }, { 0x80, 0x37 }, { 0x320, 0x200ef }, { 0x330, 0xffffffff },
		{ 0x340, 0x4ff }, { 0x350, 0x8731 }, { 0x360, 0xffffffff }, { 0x370, 0x12345 },
		{ 0x3e0, 0xa }, { 0x80, 0x20 },
	};
	static const unsigned cmp[] = { 0x30, 0x80, 0xa0, 0xf0, 0x100, 0x180, 0x200, 0x280, 0x320,
					0x330, 0x340, 0x350, 0x360, 0x370, 0x3e0 };
	struct tenv te;
	struct lapic *x, *y;

	(void)state;
	tenv_init(&te);
	x = mk_lapic(&te, &AP);
	y = mk_lapic(&te, &AP);
	to_x2apic(y);
	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		wr(x, seq[i].off, seq[i].val);
		assert_int_equal(lapic_msr_write(y, 0x800 + (seq[i].off >> 4), seq[i].val), 0);
	}
	for (unsigned i = 0; i < sizeof(cmp) / sizeof(cmp[0]); i++)
		if (rd(x, cmp[i]) != rdmsr_ok(y, 0x800 + (cmp[i] >> 4)))
			fail_msg("reg %#x: mmio %#x msr %#llx", cmp[i], rd(x, cmp[i]),
				 (unsigned long long)rdmsr_ok(y, 0x800 + (cmp[i] >> 4)));
	/* x2APIC: ID is the vCPU id, LDR is derived (cluster 0, bit 3) */
	assert_int_equal(rdmsr_ok(y, 0x802), 3);
	assert_int_equal(rdmsr_ok(y, 0x80d), 1u << 3);
	lapic_destroy(x);
	lapic_destroy(y);
}

static void test_x2apic_gp(void **state)
{
	static const struct { const char *name; bool write; uint32_t msr; uint64_t val; } gp[] = {
		{ "write ID", true, 0x802, 0 },
		{ "write version", true, 0x803, 0 },
		{ "write PPR", true, 0x80a, 0 },
		{ "write LDR", true, 0x80d, 0 },
		{ "write DFR", true, 0x80e, 0xffffffff },
		{ "write ISR", true, 0x810, 0 },
		{ "write IRR", true, 0x820, 0 },
		{ "write ESR non-zero", true, 0x828, 1 },
		{ "write CMCI without CMCI", true, 0x82f, 0x10000 },
		{ "write ICR bit 13", true, 0x830, 1u << 13 },
		{ "write ICR bit 16", true, 0x830, 1u << 16 },
		{ "write ICR bit 20", true, 0x830, 1u << 20 },
		{ "write ICR2", true, 0x831, 0 },
		{ "write TMCCT", true, 0x839, 0 },
		{ "write SELF_IPI bit 8", true, 0x83f, 0x100 },
		{ "write TPR bit 32", true, 0x808, 1ull << 32 },
		{ "write unused 0x8ff", true, 0x8ff, 0 },
		{ "read ARBPRI", false, 0x809, 0 },
		{ "read EOI", false, 0x80b, 0 },
		{ "read RRD", false, 0x80c, 0 },
		{ "read DFR", false, 0x80e, 0 },
		{ "read ICR2", false, 0x831, 0 },
		{ "read SELF_IPI", false, 0x83f, 0 },
		{ "read unused 0x8ff", false, 0x8ff, 0 },
		{ "read CMCI without CMCI", false, 0x82f, 0 },
	};
	struct tenv te;
	struct lapic *l;
	uint64_t v;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	/* xAPIC mode: every x2APIC MSR faults */
	assert_int_equal(lapic_msr_read(l, 0x808, &v), LAPIC_GP);
	assert_int_equal(lapic_msr_write(l, 0x808, 0), LAPIC_GP);
	to_x2apic(l);
	for (unsigned i = 0; i < sizeof(gp) / sizeof(gp[0]); i++) {
		int r = gp[i].write ? lapic_msr_write(l, gp[i].msr, gp[i].val)
				    : lapic_msr_read(l, gp[i].msr, &v);
		if (r != LAPIC_GP)
			fail_msg("%s: %d, want #GP", gp[i].name, r);
	}
	/* and the legal neighbours */
	assert_int_equal(lapic_msr_write(l, 0x828, 0), 0);
	assert_int_equal(lapic_msr_write(l, 0x80b, 0), 0);
	assert_int_equal(lapic_msr_write(l, 0x830, 1u << 12 | 0x30), 0);
	assert_int_equal(rdmsr_ok(l, 0x830), 0x30);   /* busy cleared */
	lapic_destroy(l);
}

static void test_base_msr_transitions(void **state)
{
	const uint64_t D = BASE, X = BASE | 1u << 11, X2 = X | 1u << 10;
	static const struct { const char *name; int from; uint64_t to; bool host; bool x2cpuid; int want; } t[] = {
		{ "xapic -> x2apic", 1, 2, false, true, 0 },
		{ "x2apic -> xapic (guest)", 2, 1, false, true, LAPIC_GP },
		{ "x2apic -> xapic (host)", 2, 1, true, true, 0 },
		{ "x2apic -> disabled", 2, 0, false, true, 0 },
		{ "disabled -> x2apic (guest)", 0, 2, false, true, LAPIC_GP },
		{ "disabled -> x2apic (host)", 0, 2, true, true, 0 },
		{ "disabled -> xapic", 0, 1, false, true, 0 },
		{ "EXTD without ENABLE", 1, 3, true, true, LAPIC_GP },
		{ "x2apic without CPUID", 1, 2, false, false, LAPIC_GP },
		{ "reserved bit 0", 1, 4, true, true, LAPIC_GP },
		{ "above MAXPHYADDR", 1, 5, true, true, LAPIC_GP },
		{ "BSP bit and moved base", 1, 6, false, true, 0 },
	};
	const uint64_t val[] = { D, X, X2, BASE | 1u << 10, X | 1, X | 1ull << 36, (X + 0x1000) | 1u << 8 };
	struct tenv te;

	(void)state;
	tenv_init(&te);
	for (unsigned i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		struct lapic_config c = AP;
		struct lapic *l;

		c.caps.x2apic = t[i].x2cpuid;
		l = mk_lapic(&te, &c);
		if (t[i].from != 1)
			assert_int_equal(lapic_set_base(l, val[t[i].from], true), 0);
		int r = lapic_set_base(l, val[t[i].to], t[i].host);
		if (r != t[i].want)
			fail_msg("%s: %d, want %d", t[i].name, r, t[i].want);
		assert_int_equal(lapic_get_base(l), r ? val[t[i].from] : val[t[i].to]);
		lapic_destroy(l);
	}
	/* leaving x2APIC through disabled gives back the xAPIC ID */
	struct lapic *l = mk_lapic(&te, &AP);
	to_x2apic(l);
	assert_int_equal(lapic_set_base(l, D, false), 0);
	assert_int_equal(lapic_set_base(l, D, false), 0);     /* same value: no-op */
	assert_int_equal(lapic_set_base(l, X, false), 0);
	assert_int_equal(rd(l, 0x20), 3u << 24);
	lapic_destroy(l);
}

static void test_state_round_trip(void **state)
{
	struct kvm_lapic_state s, s2;
	struct tenv te;
	struct lapic *a, *b;
	uint32_t v;

	(void)state;
	tenv_init(&te);
	a = mk_lapic(&te, &AP);
	b = mk_lapic(&te, &AP);
	sw_enable(a);
	wr(a, 0x80, 0x20);
	wr(a, 0xd0, 0x08000000);
	wr(a, 0x360, 0x400);
	wr(a, 0x3e0, 0x3);
	assert_int_equal(lapic_get_state(a, &s), 0);
	/* the page is KVM's: LVR at 0x30, TPR at 0x80 */
	memcpy(&v, s.regs + 0x30, 4);
	assert_int_equal(v, 0x50014);
	memcpy(&v, s.regs + 0x80, 4);
	assert_int_equal(v, 0x20);
	/* a restore recomputes LVR and PPR from the page */
	v = 0x12345678;
	memcpy(s.regs + 0x30, &v, 4);
	v = 0xff;
	memcpy(s.regs + 0xa0, &v, 4);
	assert_int_equal(lapic_set_state(b, &s), 0);
	assert_int_equal(rd(b, 0x30), 0x50014);
	assert_int_equal(rd(b, 0xa0), 0x20);
	assert_int_equal(lapic_get_state(b, &s2), 0);
	assert_int_equal(lapic_get_state(a, &s), 0);
	assert_memory_equal(s.regs, s2.regs, sizeof(s.regs));
	lapic_destroy(b);

	/* x2APIC: userspace sees the ID in 31:24 unless it asked for 32-bit IDs */
	to_x2apic(a);
	assert_int_equal(lapic_get_state(a, &s), 0);
	memcpy(&v, s.regs + 0x20, 4);
	assert_int_equal(v, 3u << 24);
	assert_int_equal(lapic_set_state(a, &s), 0);
	assert_int_equal(rdmsr_ok(a, 0x802), 3);
	assert_int_equal(rdmsr_ok(a, 0x80d), 1u << 3);
	lapic_destroy(a);

	struct lapic_config c = AP;
	c.x2apic_format = true;
	a = mk_lapic(&te, &c);
	to_x2apic(a);
	assert_int_equal(lapic_get_state(a, &s), 0);
	memcpy(&v, s.regs + 0x20, 4);
	assert_int_equal(v, 3);
	v = 4;
	memcpy(s.regs + 0x20, &v, 4);
	assert_int_equal(lapic_set_state(a, &s), -EINVAL);
	lapic_destroy(a);
}

static void test_cr8(void **state)
{
	struct tenv te;
	struct lapic *l;

	(void)state;
	tenv_init(&te);
	l = mk_lapic(&te, &AP);
	lapic_set_cr8(l, 0x1b);
	assert_int_equal(rd(l, 0x80), 0xb0);
	assert_int_equal(rd(l, 0xa0), 0xb0);
	wr(l, 0x80, 0x4f);
	assert_int_equal(lapic_get_cr8(l), 4);
	lapic_destroy(l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reset_values),
		cmocka_unit_test(test_write_masks),
		cmocka_unit_test(test_sw_disable_masks_lvts),
		cmocka_unit_test(test_mmio_sizes_and_hole),
		cmocka_unit_test(test_msr_path_equals_mmio),
		cmocka_unit_test(test_x2apic_gp),
		cmocka_unit_test(test_base_msr_transitions),
		cmocka_unit_test(test_state_round_trip),
		cmocka_unit_test(test_cr8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
