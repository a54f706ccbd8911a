/* SPDX-License-Identifier: MIT */
/*
 * kmod backend, without the device: raw VMX exits -> struct tramp_exit
 * (kmod_exit_translate with vendor Intel, cused/tramp/kmod_vmx_exit.c) and
 * the field writes that retire the instruction (kmod_complete_plan), in
 * the exit-record layout cused-tramp.ko's VMX side fills (kmod.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "cused/tramp/kmod.h"

/* VM-exit instruction information of INS/OUTS: address size 9:7, segment 17:15 */
#define II(asz, seg) ((uint64_t)((asz) << 7 | (seg) << 15) << 32)
#define A16 0
#define A32 1
#define A64 2

struct fx {
	struct cused_tramp_exit raw;
	uint64_t snap[KS_NR];
	struct tramp_exit ex;
	struct kmod_last last;
	uint8_t iobuf[KMOD_IOBUF];
	struct cused_field_val w[KMOD_MAX_WRITES];
	unsigned nw;
};

static void fx_init(struct fx *f, uint32_t reason, uint64_t qual, uint64_t rip, uint32_t len)
{
	memset(f, 0, sizeof(*f));
	f->raw.vendor = CUSED_VENDOR_INTEL;
	f->raw.reason = reason;
	f->raw.qual = qual;
	f->raw.rip = rip;
	f->raw.insn_len = len;
	f->snap[KS_RIP] = rip;
	f->snap[KS_RFLAGS] = 0x2;
	f->snap[KS_APIC_BASE] = 0xfee00900;
}

static void translate(struct fx *f)
{
	kmod_exit_translate(&f->raw, f->snap, &f->ex, &f->last, f->iobuf, f->w, &f->nw);
}

static uint64_t written(const struct cused_field_val *w, unsigned n, uint32_t id)
{
	int hits = 0;
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		if (w[i].id == id) {
			hits++;
			v = w[i].val;
		}
	if (hits != 1)
		fail_msg("field %#x written %d times", id, hits);
	return v;
}

static bool is_written(const struct cused_field_val *w, unsigned n, uint32_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (w[i].id == id)
			return true;
	return false;
}

static void complete_ok(struct fx *f)
{
	assert_int_equal(kmod_complete_plan(&f->last, f->snap, &f->ex, f->w, &f->nw), 0);
}

/* OUT %al,$0xe9: port and size from the qualification, data from AL, RIP past it at once */
static void test_io_out8(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_IO, 0xe9u << 16 | 0 /* 1 byte */, 0x1014, 2);
	f.snap[KS_RAX] = 0x1234567872;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_IO);
	assert_int_equal(f.ex.io.port, 0xe9);
	assert_int_equal(f.ex.io.size, 1);
	assert_int_equal(f.ex.io.in, 0);
	assert_int_equal(f.ex.io.count, 1);
	assert_int_equal(f.ex.io.data[0], 0x72);
	assert_int_equal(f.nw, 1);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1016);
	complete_ok(&f);
	assert_int_equal(f.nw, 0);
}

/* IN of each size: RAX merged at completion, RIP from the instruction length */
static void test_io_in_sizes(void **state)
{
	static const struct { uint32_t q; uint8_t size; uint64_t want; } c[] = {
		{ 0, 1, 0x11223344556677bbull },
		{ 1, 2, 0x112233445566aabbull },
		{ 3, 4, 0x00000000ccddaabbull },
	};

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fx f;

		fx_init(&f, VMX_EXIT_IO, 0x10u << 16 | VMX_IO_IN | c[i].q, 0x111a, 1);
		f.snap[KS_RAX] = 0x1122334455667788ull;
		translate(&f);
		assert_int_equal(f.ex.reason, TX_IO);
		assert_int_equal(f.ex.io.in, 1);
		assert_int_equal(f.ex.io.size, c[i].size);
		assert_int_equal(f.nw, 0);
		memcpy(f.ex.io.data, "\xbb\xaa\xdd\xcc", 4);
		complete_ok(&f);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RAX), c[i].want);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x111b);
	}
}

/* REP OUTSB with an FS override in 64-bit code: segment and address size from the
 * instruction information, one element per exit, RIP only after the last */
static void test_rep_outsb_fs(void **state)
{
	uint64_t rsi = 0x1210, rcx = 3;

	for (int i = 0; i < 3; i++) {
		struct fx f;

		fx_init(&f, VMX_EXIT_IO, 0xe9u << 16 | VMX_IO_STR | VMX_IO_REP, 0x112f, 3);
		f.raw.info2 = II(A64, CUSED_SEG_FS);
		f.snap[KS_RSI] = rsi;
		f.snap[KS_RCX] = rcx;
		translate(&f);
		assert_int_equal(f.ex.reason, TX_IO);
		assert_int_equal(f.ex.io.count, 1);
		assert_true(f.last.str);
		assert_int_equal(f.last.sio.seg, CUSED_SEG_FS);
		assert_int_equal(f.last.sio.addr_mask, ~0ull);
		assert_int_equal(kmod_str_elem_off(&f.last, 0), rsi);
		assert_int_equal(f.nw, 0);
		complete_ok(&f);
		rsi = written(f.w, f.nw, CUSED_F_RSI);
		rcx = written(f.w, f.nw, CUSED_F_RCX);
		assert_int_equal(rsi, 0x1211 + i);
		assert_int_equal(rcx, 2 - i);
		if (i < 2)
			assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
		else
			assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1132);
	}
}

/* REP INSW in 16-bit code: ES always, a batch bounded by the bytes left in the page
 * (compared with elements, as KVM does), DI wraps at 16 bits */
static void test_rep_insw_a16(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_IO, 0x10u << 16 | VMX_IO_IN | VMX_IO_STR | VMX_IO_REP | 1, 0x20, 2);
	f.raw.info2 = II(A16, CUSED_SEG_DS);   /* INS ignores the segment field */
	f.snap[KS_RDI] = 0xabcdfffc;
	f.snap[KS_RCX] = 0x5;
	translate(&f);
	assert_int_equal(f.ex.io.size, 2);
	assert_int_equal(f.last.sio.seg, CUSED_SEG_ES);
	assert_int_equal(f.ex.io.count, 4);            /* 4 bytes left in the page */
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDI), 0xabcd0004);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RCX), 1);
	assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
}

/* REP with rCX = 0 retires without an exit for the daemon */
static void test_rep_zero(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_IO, 0xe9u << 16 | VMX_IO_STR | VMX_IO_REP, 0x112f, 2);
	f.raw.info2 = II(A32, CUSED_SEG_DS);
	f.snap[KS_RCX] = 0xffffffff00000000ull;        /* ECX = 0 */
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1131);
}

static void test_hlt(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_HLT, 0, 0x11d3, 1);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_HLT);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x11d4);
}

/* VMCALL is KVM's hypercall on VMX: to the daemon, RIP untouched here */
static void test_vmcall(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_VMCALL, 0, 0x11d3, 3);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_HYPERCALL);
	for (unsigned i = 0; i < f.nw; i++)
		assert_int_not_equal(f.w[i].id, CUSED_F_RIP);
}

static void test_msr(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_RDMSR, 0, 0x1150, 2);
	f.snap[KS_RCX] = 0xdeadbeef000001a0ull;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_RDMSR);
	assert_int_equal(f.ex.msr.index, 0x1a0);
	f.ex.msr.data = 0x1234567800001800ull;
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RAX), 0x1800);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDX), 0x12345678);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1152);

	fx_init(&f, VMX_EXIT_WRMSR, 0, 0x1140, 2);
	f.snap[KS_RCX] = 0x175;
	f.snap[KS_RAX] = 0xffffffff34567000ull;
	f.snap[KS_RDX] = 0xffffffff00000012ull;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_WRMSR);
	assert_int_equal(f.ex.msr.data, 0x1234567000ull);
	f.ex.msr.error = 1;                             /* refused: #GP(0), RIP stays */
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ),
			 (1ull << 31) | 3 << 8 | 1 << 11 | 13);
	assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
}

/* MONITOR (39) / MWAIT (36): NOP by the exit's instruction length, or #UD with RIP kept */
static void test_monitor_mwait(void **state)
{
	static const uint32_t reasons[] = { VMX_EXIT_MONITOR, VMX_EXIT_MWAIT };

	for (unsigned i = 0; i < 2; i++) {
		struct fx f;

		fx_init(&f, reasons[i], 0, 0x5000, 4);   /* with a prefix: length 4 */
		translate(&f);
		assert_int_equal(f.ex.reason, TX_MWAIT);
		assert_int_equal(f.ex.mwait.is_mwait, i == 1);
		complete_ok(&f);
		assert_int_equal(f.nw, 1);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x5004);

		fx_init(&f, reasons[i], 0, 0x5000, 3);
		translate(&f);
		f.ex.mwait.ud = 1;
		complete_ok(&f);
		assert_int_equal(f.nw, 1);
		assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ), (1ull << 31) | 3 << 8 | 6);
		assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
	}
}

static void test_cpuid(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_CPUID, 0, 0x3000, 2);
	f.snap[KS_RAX] = 0xffffffff00000007ull;
	f.snap[KS_RCX] = 1;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_CPUID);
	assert_int_equal(f.ex.cpuid.function, 7);
	assert_int_equal(f.ex.cpuid.index, 1);
	f.ex.cpuid.ebx = 2;
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RBX), 2);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x3002);
}

/* EPT violation and misconfiguration: MMIO for the daemon's decoder, fetched at RIP */
static void test_ept(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_EPT_VIOLATION, 0x182 /* write, GLA valid */, 0x1108, 0);
	f.raw.gpa = 0xd0000008;
	f.raw.gla = 0x8;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NPF);
	assert_int_equal(f.ex.npf.gpa, 0xd0000008);
	assert_int_equal(f.ex.npf.write, 1);
	assert_int_equal(f.ex.npf.insn_len, 0);
	assert_int_equal(f.nw, 0);
	fx_init(&f, VMX_EXIT_EPT_VIOLATION, 0x81 /* read */, 0x1108, 0);
	f.raw.gpa = 0xfee00030;
	translate(&f);
	assert_int_equal(f.ex.npf.write, 0);
	fx_init(&f, VMX_EXIT_EPT_MISCONFIG, 0, 0x1108, 0);
	f.raw.gpa = 0xd0001000;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NPF);
	assert_int_equal(f.ex.npf.gpa, 0xd0001000);
}

/* WBINVD and INVD retire as no-ops in place, as KVM does */
static void test_wbinvd_invd(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_WBINVD, 0, 0xe9907, 2);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0xe9909);
	fx_init(&f, VMX_EXIT_INVD, 0, 0xe9907, 0);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0xe9909);
}

static void test_simple_reasons(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_TRIPLE_FAULT, 0, 0x10, 0);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_SHUTDOWN);
	fx_init(&f, VMX_EXIT_INTR_WINDOW, 0, 0x10, 0);
	f.snap[KS_RFLAGS] = 0x202;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_IRQ_WINDOW);
	assert_true(f.ex.irq_ready);
	assert_int_equal(f.nw, 0);
}

/* a CPU-detected failed entry gives the full exit reason, VMfail the instruction error */
static void test_fail_entry(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_FAILED_ENTRY | VMX_EXIT_INVALID_STATE, 0, 0x10, 0);
	f.raw.entry_failed = 1;
	f.raw.intr_info = (1u << 31) | 0x20;            /* stale: not re-queued */
	translate(&f);
	assert_int_equal(f.ex.reason, TX_FAIL_ENTRY);
	assert_int_equal(f.ex.fail_entry.hw_reason, 0x80000021);
	assert_int_equal(f.nw, 0);
	assert_false(f.ex.irq_ready);
	fx_init(&f, VMX_EXIT_VMFAIL, 7 /* invalid control fields */, 0x10, 0);
	f.raw.entry_failed = 1;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_FAIL_ENTRY);
	assert_int_equal(f.ex.fail_entry.hw_reason, 7);
}

/* IDT-vectoring info re-queues the interrupted event; #AC is reflected; others internal */
static void test_events(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_EPT_VIOLATION, 0x1, 0x10, 0);
	f.raw.intr_info = (1u << 31) | 3 << 8 | 1 << 11 | 14;    /* #PF being delivered */
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NPF);
	assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ), (1u << 31) | 3 << 8 | 1 << 11 | 14);
	assert_false(f.ex.irq_ready);

	fx_init(&f, VMX_EXIT_EXCEPTION_NMI, 0, 0x10, 0);
	f.raw.info2 = (1u << 31) | 3 << 8 | 1 << 11 | 17;        /* #AC */
	f.raw.intr_info = (1u << 31) | 0x30;                      /* and an interrupted IRQ */
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ),
			 (1ull << 31) | 3 << 8 | 1 << 11 | 17);

	fx_init(&f, VMX_EXIT_EXCEPTION_NMI, 0, 0x10, 0);
	f.raw.info2 = (1u << 31) | 3 << 8 | 6;                    /* #UD: not intercepted */
	translate(&f);
	assert_int_equal(f.ex.reason, TX_INTERNAL);

	fx_init(&f, VMX_EXIT_CR_ACCESS, 3 << 4 /* LMSW */, 0x1234, 3);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_INTERNAL);
	assert_int_equal(f.ex.internal.suberror, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	assert_int_equal(f.ex.internal.data[0], VMX_EXIT_CR_ACCESS);
	assert_int_equal(f.ex.internal.data[3], 0x1234);
}

/* MOV to CR0/CR4 that touched a host-owned bit: retired here from the snapshot */
static void test_mov_cr(void **state)
{
	struct fx f;

	/* mov %eax,%cr0 clearing CD/NW: CR0 written, RIP past the 3 bytes */
	fx_init(&f, VMX_EXIT_CR_ACCESS, 0 | 0 << 8, 0x2000, 3);
	f.snap[KS_RAX] = 0x80000011;
	f.snap[KS_CR0] = 0xe0000011;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_CR0), 0x80000011);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x2003);
	assert_false(is_written(f.w, f.nw, CUSED_F_EFER));

	/* mov %edi,%cr0 setting PG with EFER.LME: LMA follows */
	fx_init(&f, VMX_EXIT_CR_ACCESS, 0 | 7 << 8, 0x2000, 3);
	f.snap[KS_RDI] = 0x80000031;
	f.snap[KS_EFER] = 0x100;
	translate(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_EFER), 0x500);

	/* NW without CD: #GP(0), RIP stays */
	fx_init(&f, VMX_EXIT_CR_ACCESS, 0 | 1 << 8, 0x2000, 3);
	f.snap[KS_RCX] = 0x20000011;
	translate(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ), (1ull << 31) | 3 << 8 | 1 << 11 | 13);
	assert_false(is_written(f.w, f.nw, CUSED_F_RIP));

	/* mov %rdx,%cr4 */
	fx_init(&f, VMX_EXIT_CR_ACCESS, 4 | 2 << 8, 0x2000, 3);
	f.snap[KS_RDX] = 0x2020;
	translate(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_CR4), 0x2020);

	/* a source register the snapshot lacks (r8): internal error */
	fx_init(&f, VMX_EXIT_CR_ACCESS, 0 | 8 << 8, 0x2000, 4);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_INTERNAL);
}

/* interrupt-window facts: IF, STI/MOV-SS shadow, CR8, APIC base */
static void test_irq_ready(void **state)
{
	struct fx f;

	fx_init(&f, VMX_EXIT_HLT, 0, 0x10, 1);
	f.snap[KS_RFLAGS] = 0x202;
	f.snap[KS_CR8] = 5;
	translate(&f);
	assert_true(f.ex.if_flag);
	assert_true(f.ex.irq_ready);
	assert_int_equal(f.ex.cr8, 5);
	assert_int_equal(f.ex.apic_base, 0xfee00900);
	f.snap[KS_INTERRUPTIBILITY] = 2;                /* MOV SS blocking */
	translate(&f);
	assert_false(f.ex.irq_ready);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_out8),
		cmocka_unit_test(test_vmcall),
		cmocka_unit_test(test_io_in_sizes),
		cmocka_unit_test(test_rep_outsb_fs),
		cmocka_unit_test(test_rep_insw_a16),
		cmocka_unit_test(test_rep_zero),
		cmocka_unit_test(test_hlt),
		cmocka_unit_test(test_msr),
		cmocka_unit_test(test_cpuid),
		cmocka_unit_test(test_monitor_mwait),
		cmocka_unit_test(test_ept),
		cmocka_unit_test(test_wbinvd_invd),
		cmocka_unit_test(test_simple_reasons),
		cmocka_unit_test(test_fail_entry),
		cmocka_unit_test(test_events),
		cmocka_unit_test(test_irq_ready),
		cmocka_unit_test(test_mov_cr),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
