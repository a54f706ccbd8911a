/* SPDX-License-Identifier: MIT */
/*
 * kmod backend, without the device: raw SVM exits -> struct tramp_exit
 * (kmod_exit_translate) and the field writes that retire an instruction
 * (kmod_complete_plan), as cused/tramp/kmod_exit.c computes them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <string.h>
#include <cmocka.h>
#include "cused/tramp/kmod.h"
#include "cused/kvm/vcpu_mmio.h"

struct fx {
	struct cused_tramp_exit raw;
	uint64_t snap[KS_NR];
	struct tramp_exit ex;
	struct kmod_last last;
	uint8_t iobuf[16];
	struct cused_field_val w[KMOD_MAX_WRITES];
	unsigned nw;
};

static void fx_init(struct fx *f, uint32_t reason, uint64_t qual, uint64_t info2, uint64_t rip)
{
	memset(f, 0, sizeof(*f));
	f->raw.vendor = CUSED_VENDOR_AMD;
	f->raw.reason = reason;
	f->raw.qual = qual;
	f->raw.info2 = info2;
	f->raw.rip = rip;
	f->snap[KS_RIP] = rip;
	f->snap[KS_RFLAGS] = 0x2;
	f->snap[KS_APIC_BASE] = 0xfee00900;
}

static void translate(struct fx *f)
{
	kmod_exit_translate(&f->raw, f->snap, &f->ex, &f->last, f->iobuf, f->w, &f->nw);
}

/* the value written to a field, failing if it is not written exactly once */
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

/* OUT %al,$0xe9 in real mode: port, size, data from AL, RIP from EXITINFO2 at once */
static void test_io_out8(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0xe9u << 16 | SVM_IOIO_SZ8 | 1u << 7, 0x1016, 0x1014);
	f.snap[KS_RAX] = 0x1234567872;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_IO);
	assert_int_equal(f.ex.io.port, 0xe9);
	assert_int_equal(f.ex.io.size, 1);
	assert_int_equal(f.ex.io.in, 0);
	assert_int_equal(f.ex.io.count, 1);
	assert_ptr_equal(f.ex.io.data, f.iobuf);
	assert_int_equal(f.ex.io.data[0], 0x72);
	/* KVM retires OUT before the client sees the exit */
	assert_int_equal(f.nw, 1);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1016);
	complete_ok(&f);
	assert_int_equal(f.nw, 0);
}

static void test_io_out32(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | SVM_IOIO_SZ32, 0x2002, 0x2000);
	f.snap[KS_RAX] = 0xffffffffcafebabeull;
	translate(&f);
	assert_int_equal(f.ex.io.size, 4);
	assert_memory_equal(f.ex.io.data, "\xbe\xba\xfe\xca", 4);
}

/* IN merges AL and AX into RAX; a 32-bit IN zero-extends */
static void test_io_in_merge(void **state)
{
	static const struct { uint32_t szbit; uint8_t size; uint64_t want; } c[] = {
		{ SVM_IOIO_SZ8, 1, 0x11223344556677bbull },
		{ SVM_IOIO_SZ16, 2, 0x112233445566aabbull },
		{ SVM_IOIO_SZ32, 4, 0x00000000ccddaabbull },
	};

	for (unsigned i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		struct fx f;

		fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | c[i].szbit | SVM_IOIO_IN, 0x111b, 0x111a);
		f.snap[KS_RAX] = 0x1122334455667788ull;
		translate(&f);
		assert_int_equal(f.ex.reason, TX_IO);
		assert_int_equal(f.ex.io.in, 1);
		assert_int_equal(f.ex.io.size, c[i].size);
		/* the daemon answers in the backend's buffer */
		/* IN is retired only with the answer */
		assert_int_equal(f.nw, 0);
		memcpy(f.ex.io.data, "\xbb\xaa\xdd\xcc", 4);
		complete_ok(&f);
		assert_int_equal(f.nw, 2);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RAX), c[i].want);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x111b);
	}
}

/* the merge uses RAX as it is at completion (a SET_REGS in between counts) */
static void test_io_in_uses_current_rax(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | SVM_IOIO_SZ8 | SVM_IOIO_IN, 0x11, 0x10);
	f.snap[KS_RAX] = 0x1111;
	translate(&f);
	f.snap[KS_RAX] = 0x2222;
	f.ex.io.data[0] = 0x99;
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RAX), 0x2299);
}

/* REP OUTSB in 64-bit code: one element per exit, RIP stays until the last */
static void test_rep_outsb(void **state)
{
	uint64_t rsi = 0x1210, rcx = 4;

	for (int i = 0; i < 4; i++) {
		struct fx f;

		fx_init(&f, SVM_EXIT_IOIO_, 0xe9u << 16 | SVM_IOIO_SZ8 | SVM_IOIO_STR |
			SVM_IOIO_REP | 1u << 9 /* A64 */, 0x1131, 0x112f);
		f.snap[KS_RSI] = rsi;
		f.snap[KS_RCX] = rcx;
		translate(&f);
		assert_int_equal(f.ex.reason, TX_IO);
		assert_int_equal(f.ex.io.port, 0xe9);
		assert_int_equal(f.ex.io.in, 0);
		assert_int_equal(f.ex.io.count, 1);
		assert_true(f.last.str);
		assert_int_equal(f.last.sio.seg, CUSED_SEG_DS);
		assert_int_equal(kmod_str_elem_off(&f.last, 0), rsi);
		assert_int_equal(f.nw, 0);          /* nothing retired at the exit */
		complete_ok(&f);
		rsi = written(f.w, f.nw, CUSED_F_RSI);
		rcx = written(f.w, f.nw, CUSED_F_RCX);
		assert_int_equal(rsi, 0x1211 + i);
		assert_int_equal(rcx, 3 - i);
		if (i < 3)
			assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
		else
			assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1131);
	}
}

/* REP INSW: one exit for all three words, then RDI, RCX and RIP move */
static void test_rep_insw(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | SVM_IOIO_SZ16 | SVM_IOIO_STR | SVM_IOIO_REP |
		SVM_IOIO_IN | 1u << 9, 0x1142, 0x113f);
	f.snap[KS_RDI] = 0x8000;
	f.snap[KS_RCX] = 3;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_IO);
	assert_int_equal(f.ex.io.in, 1);
	assert_int_equal(f.ex.io.size, 2);
	assert_int_equal(f.ex.io.count, 3);
	assert_int_equal(f.last.sio.seg, CUSED_SEG_ES);
	assert_int_equal(kmod_str_elem_off(&f.last, 2), 0x8004);
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDI), 0x8006);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RCX), 0);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1142);
}

/* the client lowers RCX after a REP INSW read-ahead of 3 (userspace_io_test): 1 retires */
static void test_rep_ins_client_rcx(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | SVM_IOIO_SZ16 | SVM_IOIO_STR | SVM_IOIO_REP |
		SVM_IOIO_IN | 1u << 9, 0x1142, 0x113f);
	f.snap[KS_RDI] = 0x8000;
	f.snap[KS_RCX] = 3;
	translate(&f);
	assert_int_equal(f.ex.io.count, 3);
	f.snap[KS_RCX] = 1;
	complete_ok(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDI), 0x8002);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RCX), 0);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1142);
}

/* INS batches stop at rDI's page end (KVM compares bytes with elements); DF counts down */
static void test_ins_limits(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | SVM_IOIO_SZ32 | SVM_IOIO_STR | SVM_IOIO_REP |
		SVM_IOIO_IN | 1u << 8 /* A32 */, 0x22, 0x20);
	f.snap[KS_RDI] = 0xffffffff00000ff8ull;
	f.snap[KS_RCX] = 0xffffffff00001000ull;    /* ECX = 0x1000 */
	translate(&f);
	assert_int_equal(f.ex.io.count, 8);          /* 8 bytes left in the page */
	complete_ok(&f);
	/* 32-bit address size: RDI and RCX are written as 32-bit registers */
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDI), 0x1018);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RCX), 0xff8);
	assert_false(is_written(f.w, f.nw, CUSED_F_RIP));

	fx_init(&f, SVM_EXIT_IOIO_, 0x10u << 16 | SVM_IOIO_SZ8 | SVM_IOIO_STR | SVM_IOIO_IN |
		1u << 7 /* A16 */, 0x22, 0x20);
	f.snap[KS_RFLAGS] = 0x402;                   /* DF */
	f.snap[KS_RDI] = 0xabcd0000;
	translate(&f);
	assert_int_equal(f.ex.io.count, 1);
	assert_int_equal(f.last.sio.step, -1);
	complete_ok(&f);
	/* 16-bit address size: DI wraps, the rest of RDI stays */
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDI), 0xabcdffff);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x22);
}

/* REP with rCX = 0: no exit for the daemon, the instruction just retires */
static void test_rep_zero(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_IOIO_, 0xe9u << 16 | SVM_IOIO_SZ8 | SVM_IOIO_STR | SVM_IOIO_REP |
		1u << 9, 0x1131, 0x112f);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1131);
}

/* HLT: RIP moves past it before the exit is reported, as KVM shows it */
static void test_hlt(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_HLT_, 0, 0, 0x11d3);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_HLT);
	assert_int_equal(f.nw, 1);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x11d4);
	/* with NRIPS the module's length wins */
	fx_init(&f, SVM_EXIT_HLT_, 0, 0, 0x11d3);
	f.raw.insn_len = 1;
	translate(&f);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x11d4);
}

static void test_rdmsr(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_MSR_, 0, 0, 0x1150);
	f.snap[KS_RCX] = 0xdeadbeef000001a0ull;
	f.snap[KS_RAX] = 0x55;
	f.snap[KS_RDX] = 0x66;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_RDMSR);
	assert_int_equal(f.ex.msr.index, 0x1a0);
	f.ex.msr.data = 0x1234567800001800ull;
	complete_ok(&f);
	assert_int_equal(f.nw, 3);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RAX), 0x1800);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDX), 0x12345678);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1152);
}

static void test_wrmsr(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_MSR_, 1, 0, 0x1140);
	f.snap[KS_RCX] = 0x175;
	f.snap[KS_RAX] = 0xffffffff34567000ull;   /* high halves of RAX/RDX are ignored */
	f.snap[KS_RDX] = 0xffffffff00000012ull;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_WRMSR);
	assert_int_equal(f.ex.msr.index, 0x175);
	assert_int_equal(f.ex.msr.data, 0x1234567000ull);
	complete_ok(&f);
	assert_int_equal(f.nw, 1);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x1142);
}

/* a refused MSR: #GP(0) queued, RIP stays on the instruction, no register written */
static void test_msr_gp(void **state)
{
	for (int wr = 0; wr < 2; wr++) {
		struct fx f;

		fx_init(&f, SVM_EXIT_MSR_, wr, 0, 0x1140);
		f.snap[KS_RCX] = 0xc0001234;
		translate(&f);
		f.ex.msr.error = 1;
		complete_ok(&f);
		assert_int_equal(f.nw, 1);
		assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ),
				 (1ull << 31) | 3 << 8 | 1 << 11 | 13);
		assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
		assert_false(is_written(f.w, f.nw, CUSED_F_RAX));
	}
}

static void test_cpuid(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_CPUID_, 0, 0, 0x3000);
	f.snap[KS_RAX] = 0xffffffff00000007ull;
	f.snap[KS_RCX] = 1;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_CPUID);
	assert_int_equal(f.ex.cpuid.function, 7);
	assert_int_equal(f.ex.cpuid.index, 1);
	f.ex.cpuid.eax = 1;
	f.ex.cpuid.ebx = 2;
	f.ex.cpuid.ecx = 3;
	f.ex.cpuid.edx = 4;
	complete_ok(&f);
	assert_int_equal(f.nw, 5);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RAX), 1);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RBX), 2);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RCX), 3);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RDX), 4);
	assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x3002);
}

/* MONITOR/MWAIT intercepts: the daemon's NOP moves RIP past them, its #UD leaves RIP */
static void test_monitor_mwait(void **state)
{
	static const uint32_t reasons[] = { SVM_EXIT_MONITOR_, SVM_EXIT_MWAIT_, SVM_EXIT_MWAIT_COND_ };

	for (unsigned i = 0; i < 3; i++) {
		struct fx f;

		fx_init(&f, reasons[i], 0, 0, 0x4000);
		translate(&f);
		assert_int_equal(f.ex.reason, TX_MWAIT);
		assert_int_equal(f.ex.mwait.is_mwait, i > 0);
		assert_int_equal(f.ex.mwait.cpl, 0);
		complete_ok(&f);
		assert_int_equal(f.nw, 1);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0x4003);

		fx_init(&f, reasons[i], 0, 0, 0x4000);
		translate(&f);
		f.ex.mwait.ud = 1;
		complete_ok(&f);
		assert_int_equal(f.nw, 1);
		assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ), (1ull << 31) | 3 << 8 | 6);
		assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
	}
}

static void test_npf(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_NPF_, 0x6, 0xd0000008, 0x1108);
	f.raw.gpa = 0xd0000008;
	f.raw.insn_bytes_len = 3;
	memcpy(f.raw.insn_bytes, "\x48\x89\x0b", 3);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NPF);
	assert_int_equal(f.ex.npf.gpa, 0xd0000008);
	assert_int_equal(f.ex.npf.write, 1);
	assert_int_equal(f.ex.npf.insn_len, 3);
	assert_memory_equal(f.ex.npf.insn, "\x48\x89\x0b", 3);
	assert_int_equal(f.nw, 0);
	/* no decode assist: the daemon fetches at RIP */
	fx_init(&f, SVM_EXIT_NPF_, 0x4, 0xd0000000, 0x1110);
	translate(&f);
	assert_int_equal(f.ex.npf.gpa, 0xd0000000);
	assert_int_equal(f.ex.npf.write, 0);
	assert_int_equal(f.ex.npf.insn_len, 0);
}

static void test_simple_reasons(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_SHUTDOWN_, 0, 0, 0x10);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_SHUTDOWN);
	fx_init(&f, SVM_EXIT_VINTR_, 0, 0, 0x10);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_IRQ_WINDOW);
	fx_init(&f, SVM_EXIT_EXCP_DB, 0, 0, 0x10);
	f.snap[KS_DR6] = 0xffff4ff0;
	f.snap[KS_DR7] = 0x400;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_DEBUG);
	assert_int_equal(f.ex.debug.exception, 1);
	assert_int_equal(f.ex.debug.pc, 0x10);
	assert_int_equal(f.ex.debug.dr6, 0xffff4ff0);
	assert_int_equal(f.ex.debug.dr7, 0x400);
}

static void test_fail_entry(void **state)
{
	struct fx f;

	fx_init(&f, 0xffffffffu, 5, 0, 0x10);
	f.raw.entry_failed = 1;
	translate(&f);
	assert_int_equal(f.ex.reason, TX_FAIL_ENTRY);
	assert_int_equal(f.ex.fail_entry.hw_reason, 0xffffffffffffffffull);
	assert_int_equal(f.nw, 0);
}

/* WBINVD (SeaBIOS, Linux's MTRR setup) and INVD retire as no-ops in place */
static void test_wbinvd_invd(void **state)
{
	static const uint32_t reasons[] = { SVM_EXIT_WBINVD_, SVM_EXIT_INVD_ };
	struct fx f;

	for (unsigned i = 0; i < 2; i++) {
		fx_init(&f, reasons[i], 0, 0, 0xe9907);
		translate(&f);
		assert_int_equal(f.ex.reason, TX_NONE);
		assert_int_equal(f.nw, 1);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0xe9909);
		fx_init(&f, reasons[i], 0, 0, 0xe9907);
		f.raw.insn_len = 3;     /* with NRIPS the module's length wins */
		translate(&f);
		assert_int_equal(written(f.w, f.nw, CUSED_F_RIP), 0xe990a);
	}
}

/* MOV to/from DR0-3: the daemon decodes it; the exit names the register and direction */
static void test_mov_dr(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_WRITE_DR0, 0, 0, 0xffffffff81a480ff);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_MOV_DR);
	assert_int_equal(f.ex.mov_dr.dr, 0);
	assert_true(f.ex.mov_dr.write);
	assert_int_equal(f.nw, 0);      /* RIP stays until the daemon retires it */
	fx_init(&f, SVM_EXIT_READ_DR0 + 3, 0, 0, 0x1000);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_MOV_DR);
	assert_int_equal(f.ex.mov_dr.dr, 3);
	assert_false(f.ex.mov_dr.write);
}

static void test_unknown_internal(void **state)
{
	struct fx f;

	fx_init(&f, 0x8e /* RDPRU */, 0, 0, 0x1234);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_INTERNAL);
	assert_int_equal(f.ex.internal.suberror, KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON);
	assert_int_equal(f.ex.internal.ndata, 4);
	assert_int_equal(f.ex.internal.data[0], 0x8e);
	assert_int_equal(f.ex.internal.data[3], 0x1234);
}

/* an exit during event delivery queues the event again; #AC is reflected */
static void test_event_reinjection(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_NPF_, 0x4, 0xd0000000, 0x10);
	f.raw.intr_info = (1u << 31) | 0x20;            /* external interrupt 0x20 */
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NPF);
	assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ), (1u << 31) | 0x20);
	fx_init(&f, SVM_EXIT_EXCP_AC, 0, 0, 0x10);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_NONE);
	assert_int_equal(written(f.w, f.nw, CUSED_F_PENDING_IRQ),
			 (1ull << 31) | 3 << 8 | 1 << 11 | 17);
}

/* VMMCALL and #UD reach the daemon untouched: it answers the hypercall or patches/reflects */
static void test_hypercall_exits(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_VMMCALL_, 0, 0, 0x1000);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_HYPERCALL);
	assert_false(is_written(f.w, f.nw, CUSED_F_RIP));   /* the daemon moves RIP */
	complete_ok(&f);
	assert_int_equal(f.nw, 0);
	fx_init(&f, SVM_EXIT_EXCP_UD, 0, 0, 0x1000);
	translate(&f);
	assert_int_equal(f.ex.reason, TX_UD);
	assert_false(is_written(f.w, f.nw, CUSED_F_PENDING_IRQ));
	assert_false(is_written(f.w, f.nw, CUSED_F_RIP));
}

/* an NPF the emulator cannot take: KVM's emulation_failure layout with the bytes */
static void test_emulation_failure(void **state)
{
	static const uint8_t flds[] = { 0xd9, 0x00, 0xf4 };
	struct tramp_exit ex;
	struct kvm_run run;

	memset(&ex, 0xcc, sizeof(ex));
	mmio_emulation_failure(&ex, flds, sizeof(flds), 0x1700000000ull, false);
	assert_int_equal(ex.reason, TX_INTERNAL);
	/* as the client sees it through kvm_run (vcpu_run.c copies internal.data) */
	memset(&run, 0, sizeof(run));
	run.internal.suberror = ex.internal.suberror;
	run.internal.ndata = ex.internal.ndata;
	memcpy(run.internal.data, ex.internal.data, sizeof(run.internal.data));
	assert_int_equal(run.emulation_failure.suberror, KVM_INTERNAL_ERROR_EMULATION);
	assert_int_equal(run.emulation_failure.ndata, 8);
	assert_int_equal(run.emulation_failure.flags, KVM_INTERNAL_ERROR_EMULATION_FLAG_INSTRUCTION_BYTES);
	assert_int_equal(run.emulation_failure.insn_size, 3);
	assert_memory_equal(run.emulation_failure.insn_bytes, flds, 3);
	assert_int_equal(run.emulation_failure.insn_bytes[3], 0x90);
	assert_int_equal(run.internal.data[5], 0x1700000000ull);
	/* nothing fetched: the flags word and the exit info only */
	mmio_emulation_failure(&ex, flds, 0, 0x1000, true);
	assert_int_equal(ex.internal.ndata, 6);
	assert_int_equal(ex.internal.data[0], 0);
	assert_int_equal(ex.internal.data[3], 0x1000);
}

/* interrupt-window facts: IF, shadow and a queued event */
static void test_irq_ready(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_HLT_, 0, 0, 0x10);
	f.snap[KS_RFLAGS] = 0x202;
	f.snap[KS_CR8] = 3;
	translate(&f);
	assert_true(f.ex.if_flag);
	assert_true(f.ex.irq_ready);
	assert_int_equal(f.ex.cr8, 3);
	assert_int_equal(f.ex.apic_base, 0xfee00900);
	f.snap[KS_INTERRUPTIBILITY] = 1;
	translate(&f);
	assert_false(f.ex.irq_ready);
	f.snap[KS_INTERRUPTIBILITY] = 0;
	f.snap[KS_PENDING_IRQ] = (1u << 31) | 0x30;
	translate(&f);
	assert_false(f.ex.irq_ready);
	f.snap[KS_PENDING_IRQ] = 0;
	f.snap[KS_RFLAGS] = 0x2;
	translate(&f);
	assert_false(f.ex.if_flag);
	assert_false(f.ex.irq_ready);
}

/* complete() only retires the exit it answers */
static void test_complete_mismatch(void **state)
{
	struct fx f;

	fx_init(&f, SVM_EXIT_HLT_, 0, 0, 0x10);
	translate(&f);
	f.ex.reason = TX_CPUID;
	assert_int_equal(kmod_complete_plan(&f.last, f.snap, &f.ex, f.w, &f.nw), -EINVAL);
	f.ex.reason = TX_HLT;
	complete_ok(&f);
	assert_int_equal(f.nw, 0);
}

/* the host CPUID table from the instruction, laid out as KVM_GET_SUPPORTED_CPUID */
static void test_native_cpuid(void **state)
{
	struct {
		struct kvm_cpuid2 c;
		struct kvm_cpuid_entry2 e[256];
	} t;
	bool leaf0 = false, ext = false;
	unsigned a, b, c, d;

	assert_int_equal(kmod_native_cpuid(&t.c, 256), 0);
	assert_true(t.c.nent > 1);
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0), "c"(0));
	for (unsigned i = 0; i < t.c.nent; i++) {
		const struct kvm_cpuid_entry2 *e = &t.c.entries[i];
		bool indexed = e->function == 4 || e->function == 7 || e->function == 0xb ||
			       e->function == 0xd || e->function == 0xf || e->function == 0x10 ||
			       e->function == 0x14;

		assert_int_equal(!!(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX), indexed);
		if (!indexed)
			assert_int_equal(e->index, 0);
		if (e->function == 0) {
			leaf0 = true;
			assert_int_equal(e->eax, a);
			assert_int_equal(e->ebx, b);
		}
		ext |= e->function == 0x80000000;
		assert_true(e->function <= a || e->function >= 0x80000000);
	}
	assert_true(leaf0);
	assert_true(ext);
	assert_int_equal(kmod_native_cpuid(&t.c, 1), -E2BIG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_io_out8),
		cmocka_unit_test(test_io_out32),
		cmocka_unit_test(test_io_in_merge),
		cmocka_unit_test(test_io_in_uses_current_rax),
		cmocka_unit_test(test_rep_outsb),
		cmocka_unit_test(test_rep_insw),
		cmocka_unit_test(test_rep_ins_client_rcx),
		cmocka_unit_test(test_ins_limits),
		cmocka_unit_test(test_rep_zero),
		cmocka_unit_test(test_hlt),
		cmocka_unit_test(test_rdmsr),
		cmocka_unit_test(test_wrmsr),
		cmocka_unit_test(test_msr_gp),
		cmocka_unit_test(test_cpuid),
		cmocka_unit_test(test_monitor_mwait),
		cmocka_unit_test(test_npf),
		cmocka_unit_test(test_simple_reasons),
		cmocka_unit_test(test_fail_entry),
		cmocka_unit_test(test_wbinvd_invd),
		cmocka_unit_test(test_mov_dr),
		cmocka_unit_test(test_unknown_internal),
		cmocka_unit_test(test_event_reinjection),
		cmocka_unit_test(test_irq_ready),
		cmocka_unit_test(test_hypercall_exits),
		cmocka_unit_test(test_emulation_failure),
		cmocka_unit_test(test_complete_mismatch),
		cmocka_unit_test(test_native_cpuid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
