/* SPDX-License-Identifier: MIT */
/* The daemon's MSR table, per-vCPU storage and validity rules (cused/x86/msr) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include "cused/x86/msr.h"
#include "cused/x86/x86_bits.h"
#include "cused/tramp_abi.h"

/* a backend's fields as a plain array indexed by field id */
struct fake {
	uint64_t f[0x500];
	uint32_t fail_id;      /* this field's accessors fail with -EIO */
};

static int fake_read(void *ctx, uint32_t id, uint64_t *v)
{
	struct fake *fk = ctx;

	if (id == fk->fail_id || id >= 0x500)
		return -EIO;
	*v = fk->f[id];
	return 0;
}

static int fake_write(void *ctx, uint32_t id, uint64_t v)
{
	struct fake *fk = ctx;

	if (id == fk->fail_id || id >= 0x500)
		return -EIO;
	fk->f[id] = v;
	return 0;
}

struct env {
	struct fake fk;
	struct msr_io io;
	struct msr_file mf;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));

	if (!e)
		return -1;
	e->fk.fail_id = ~0u;
	e->io = (struct msr_io){ .read_field = fake_read, .write_field = fake_write, .ctx = &e->fk };
	msr_file_reset(&e->mf);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	free(*state);
	return 0;
}

#define RD(idx, host) ({ uint64_t v_ = 0xdead; int r_ = msr_read(&e->mf, &e->io, idx, &v_, host); \
			 assert_int_equal(r_, 0); v_; })
#define WR(idx, val, host) msr_write(&e->mf, &e->io, idx, val, host)

static void test_table_sorted_and_findable(void **state)
{
	unsigned n;
	const struct msr_desc *t = msr_table(&n);

	assert_true(n > 20);
	for (unsigned i = 0; i < n; i++) {
		assert_true(t[i].count >= 1);
		if (i)
			assert_true(t[i].index >= t[i - 1].index + t[i - 1].count);
		assert_ptr_equal(msr_find(t[i].index), &t[i]);
		assert_ptr_equal(msr_find(t[i].index + t[i].count - 1), &t[i]);
		if (t[i].kind == MSR_EMUL)
			assert_true(t[i].slot + t[i].count <= MSLOT_NR);
		if (t[i].kind == MSR_FIELD)
			assert_true(t[i].field >= CUSED_F_CR0 && t[i].field < CUSED_F_MSR_END);
	}
	/* EMUL slots do not overlap, but for kvmclock's old and new MSRs (one value in KVM) */
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			if (t[i].kind == MSR_EMUL && t[j].kind == MSR_EMUL &&
			    !(t[i].rule == MSRR_KVM_CLOCK && t[j].rule == MSRR_KVM_CLOCK &&
			      t[i].index + 0x4b564d00 - 0x11 == t[j].index))
				assert_true(t[i].slot + t[i].count <= t[j].slot ||
					    t[j].slot + t[j].count <= t[i].slot);
	assert_null(msr_find(0x2));
	assert_null(msr_find(0x210));             /* past the 8 variable MTRRs */
	assert_null(msr_find(0x480));             /* past 32 MCE banks */
	assert_null(msr_find(0x802));             /* x2APIC: no LAPIC */
	assert_null(msr_find(0xc0000085));
	assert_null(msr_find(0xffffffff));
	assert_int_equal(msr_find(0xc0000100)->field, CUSED_F_SEG(CUSED_SEG_FS, CUSED_SEGP_BASE));
	assert_int_equal(msr_find(0xc0000101)->field, CUSED_F_SEG(CUSED_SEG_GS, CUSED_SEGP_BASE));
	assert_int_equal(msr_find(0x1b)->field, CUSED_F_APIC_BASE);
	assert_int_equal(msr_find(0xc0000080)->field, CUSED_F_EFER);
	assert_int_equal(msr_find(0x20f)->kind, MSR_EMUL);
	assert_int_equal(msr_find(0xfe)->kind, MSR_CONST);
}

static void test_index_list(void **state)
{
	unsigned n, total = msr_index_list(NULL, 0), listed = 0;
	const struct msr_desc *t = msr_table(&n);
	uint32_t *idx = calloc(total + 1, sizeof(*idx));

	for (unsigned i = 0; i < n; i++)
		if (t[i].flags & MSRF_LISTED)
			listed += t[i].count;
	assert_int_equal(total, listed);
	idx[total] = 0xabcdabcd;
	assert_int_equal(msr_index_list(idx, total), total);
	assert_int_equal(idx[total], 0xabcdabcd);
	for (unsigned i = 0; i < total; i++) {
		const struct msr_desc *d = msr_find(idx[i]);

		assert_non_null(d);
		assert_true(d->flags & MSRF_LISTED);
		if (i)
			assert_true(idx[i] > idx[i - 1]);
	}
	/* what KVM lists for save/restore is present */
	static const uint32_t must[] = { 0x10, 0x11, 0x12, 0x174, 0x175, 0x176, 0x277, 0x1a0, 0x17a,
					 0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,
					 0xc0000102, 0xc0000103 };
	for (unsigned m = 0; m < sizeof(must) / sizeof(must[0]); m++) {
		unsigned i;

		for (i = 0; i < total && idx[i] != must[m]; i++)
			;
		assert_true(i < total);
	}
	/* short buffer: total still returned, nothing written past max */
	memset(idx, 0, (total + 1) * sizeof(*idx));
	assert_int_equal(msr_index_list(idx, 2), total);
	assert_int_not_equal(idx[1], 0);
	assert_int_equal(idx[2], 0);
	/* every listed MSR survives a host save/restore round trip */
	struct env *e = *state;
	assert_int_equal(msr_index_list(idx, total), total);
	for (unsigned i = 0; i < total; i++) {
		uint64_t v = RD(idx[i], true);

		assert_int_equal(WR(idx[i], v, true), 0);
	}
	free(idx);
}

static void test_reset_values(void **state)
{
	struct env *e = *state;

	assert_int_equal(RD(0x1a0, true), 0x1800);                 /* MISC_ENABLE */
	assert_int_equal(RD(0x8b, true), 0x100000000ULL);          /* UCODE_REV */
	assert_int_equal(RD(0xfe, false), 0x508);                  /* MTRRcap */
	assert_int_equal(RD(0x179, false), 32);                    /* MCG_CAP */
	assert_int_equal(RD(0x2ff, false), 0);                     /* MTRRdefType */
	assert_int_equal(RD(0x3a, false), 0);                      /* FEATURE_CONTROL */
	assert_int_equal(RD(0xce, true), 0);                       /* PLATFORM_INFO */
	assert_int_equal(msr_find(0x277)->reset, 0x0007040600070406ULL);
	/* reset overwrites what was there */
	assert_int_equal(WR(0x2ff, 0xc06, false), 0);
	msr_file_reset(&e->mf);
	assert_int_equal(RD(0x2ff, false), 0);
	assert_int_equal(e->mf.guest.maxphyaddr, 36);
}

static void test_unknown(void **state)
{
	struct env *e = *state;
	uint64_t v;

	assert_int_equal(msr_read(&e->mf, &e->io, 0x802, &v, false), -ENOENT);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x802, &v, true), -ENOENT);
	assert_int_equal(WR(0x48, 1, false), -ENOENT);             /* SPEC_CTRL: not offered */
	assert_int_equal(WR(0x48, 0, true), -ENOENT);
}

static void test_const(void **state)
{
	struct env *e = *state;

	assert_int_equal(WR(0xfe, 0x508, false), -EPERM);
	assert_int_equal(WR(0xfe, 0x508, true), -EPERM);
	assert_int_equal(WR(0x179, 0, true), -EPERM);
	assert_int_equal(RD(0x179, true), 32);
}

static void test_field_plain_and_errors(void **state)
{
	struct env *e = *state;
	uint64_t v;

	assert_int_equal(WR(0xc0000081, 0x0023001000000000ULL, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_STAR], 0x0023001000000000ULL);
	e->fk.f[CUSED_F_SFMASK] = 0x47700;
	assert_int_equal(RD(0xc0000084, false), 0x47700);
	e->fk.f[CUSED_F_SEG(CUSED_SEG_GS, CUSED_SEGP_BASE)] = 0xffff888000000000ULL;
	assert_int_equal(RD(0xc0000101, false), 0xffff888000000000ULL);
	/* backend errors come back unchanged */
	e->fk.fail_id = CUSED_F_STAR;
	assert_int_equal(msr_read(&e->mf, &e->io, 0xc0000081, &v, true), -EIO);
	assert_int_equal(WR(0xc0000081, 0, true), -EIO);
}

static void test_canonical(void **state)
{
	struct env *e = *state;
	static const uint32_t msrs[] = { 0xc0000082, 0xc0000083, 0xc0000100, 0xc0000101,
					 0xc0000102 };

	for (unsigned i = 0; i < 5; i++) {
		uint32_t f = msr_find(msrs[i])->field;

		assert_int_equal(WR(msrs[i], 0xffffffff81000000ULL, false), 0);
		assert_int_equal(e->fk.f[f], 0xffffffff81000000ULL);
		assert_int_equal(WR(msrs[i], 0x0000800000000000ULL, false), -EINVAL);
		assert_int_equal(WR(msrs[i], 0x0000800000000000ULL, true), -EINVAL);
		assert_int_equal(e->fk.f[f], 0xffffffff81000000ULL);
		/* 57-bit addresses are canonical once CR4.LA57 is set */
		e->fk.f[CUSED_F_CR4] = X86_CR4_LA57;
		assert_int_equal(WR(msrs[i], 0x0000800000000000ULL, false), 0);
		assert_int_equal(WR(msrs[i], 0x0100000000000000ULL, false), -EINVAL);
		e->fk.f[CUSED_F_CR4] = 0;
	}
	/* SYSENTER_ESP/EIP are made canonical, not refused */
	assert_int_equal(WR(0x176, 0x0000900000001234ULL, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_SYSENTER_EIP], 0xffff900000001234ULL);
	assert_int_equal(WR(0x175, 0x12345678, true), 0);
	assert_int_equal(e->fk.f[CUSED_F_SYSENTER_ESP], 0x12345678);
}

static void test_pat(void **state)
{
	struct env *e = *state;

	assert_int_equal(WR(0x277, 0x0007040600070406ULL, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_PAT], 0x0007040600070406ULL);
	assert_int_equal(WR(0x277, 0x0007040600070402ULL, true), -EINVAL);   /* type 2 */
	assert_int_equal(WR(0x277, 0x0007040600070403ULL, false), -EINVAL);  /* type 3 */
	assert_int_equal(WR(0x277, 0x0007040600070408ULL, false), -EINVAL);  /* > 7 */
	assert_int_equal(e->fk.f[CUSED_F_PAT], 0x0007040600070406ULL);
}

static struct kvm_cpuid2 *cpuid_ext(uint32_t edx81, uint32_t ecx1, uint32_t ebx7, unsigned pa)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 6 * sizeof(c->entries[0]));

	c->nent = 6;
	/* GenuineIntel */
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0, .eax = 7, .ebx = 0x756e6547,
						   .edx = 0x49656e69, .ecx = 0x6c65746e };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = ecx1 };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 7, .ebx = ebx7,
						   .flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000000, .eax = 0x80000008 };
	c->entries[4] = (struct kvm_cpuid_entry2){ .function = 0x80000001, .edx = edx81 };
	c->entries[5] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = pa };
	return c;
}

static void test_efer(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c;

	assert_int_equal(WR(0xc0000080, 1ULL << 2, true), -EINVAL);          /* reserved */
	assert_int_equal(WR(0xc0000080, EFER_SVME, true), -EINVAL);           /* no nested */
	/* no CPUID: the guest may not set LME or NX, the host may */
	assert_int_equal(WR(0xc0000080, EFER_SCE | EFER_LME, false), -EINVAL);
	assert_int_equal(WR(0xc0000080, EFER_NX, false), -EINVAL);
	assert_int_equal(WR(0xc0000080, EFER_SCE | EFER_LME | EFER_NX, true), 0);
	assert_int_equal(e->fk.f[CUSED_F_EFER], EFER_SCE | EFER_LME | EFER_NX);
	c = cpuid_ext(CPUID_81_EDX_LM | CPUID_81_EDX_NX, 0, 0, 40);
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(WR(0xc0000080, EFER_SCE | EFER_LME | EFER_NX, false), 0);
	/* LMA comes from paging, never from the write */
	e->fk.f[CUSED_F_EFER] = EFER_LME | EFER_LMA;
	e->fk.f[CUSED_F_CR0] = X86_CR0_PG | X86_CR0_PE;
	assert_int_equal(WR(0xc0000080, EFER_LME | EFER_SCE, true), 0);
	assert_int_equal(e->fk.f[CUSED_F_EFER], EFER_LME | EFER_LMA | EFER_SCE);
	assert_int_equal(WR(0xc0000080, EFER_LME | EFER_SCE | EFER_NX, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_EFER], EFER_LME | EFER_LMA | EFER_SCE | EFER_NX);
	/* the guest cannot flip LME with paging on; the host can */
	assert_int_equal(WR(0xc0000080, EFER_SCE, false), -EINVAL);
	assert_int_equal(WR(0xc0000080, EFER_SCE, true), 0);
	assert_int_equal(e->fk.f[CUSED_F_EFER], EFER_SCE | EFER_LMA);
	e->fk.f[CUSED_F_EFER] = 0;
	assert_int_equal(WR(0xc0000080, EFER_LMA, true), 0);
	assert_int_equal(e->fk.f[CUSED_F_EFER], 0);
	free(c);
}

static void test_apic_base(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c;

	assert_int_equal(WR(0x1b, 0xfee00900, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_APIC_BASE], 0xfee00900);
	assert_int_equal(WR(0x1b, 0xfee00901, true), -EINVAL);               /* reserved */
	assert_int_equal(WR(0x1b, 0x1000fee00800ULL, true), -EINVAL);        /* > MAXPHYADDR */
	assert_int_equal(WR(0x1b, 0xfee00c00, true), -EINVAL);               /* no x2APIC */
	c = cpuid_ext(0, CPUID_1_ECX_X2APIC, 0, 48);
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(WR(0x1b, 0x1000fee00800ULL, true), 0);
	assert_int_equal(WR(0x1b, 0xfee00400, true), -EINVAL);               /* EXTD w/o EN */
	assert_int_equal(WR(0x1b, 0xfee00c00, false), 0);                    /* xAPIC -> x2APIC */
	assert_int_equal(WR(0x1b, 0xfee00800, false), -EINVAL);              /* x2APIC -> xAPIC */
	assert_int_equal(WR(0x1b, 0xfee00800, true), 0);                     /* host may */
	assert_int_equal(WR(0x1b, 0xfee00000, false), 0);                    /* disable */
	assert_int_equal(WR(0x1b, 0xfee00c00, false), -EINVAL);              /* off -> x2APIC */
	free(c);
}

static void test_tsc_and_adjust(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c;

	e->fk.f[CUSED_F_TSC] = 1000;
	assert_int_equal(RD(0x10, false), 1000);
	/* host write of TSC does not move TSC_ADJUST, a guest write does */
	assert_int_equal(WR(0x10, 5000, true), 0);
	assert_int_equal(RD(0x3b, false), 0);
	assert_int_equal(WR(0x10, 4000, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_TSC], 4000);
	assert_int_equal(RD(0x3b, false), (uint64_t)-1000);
	/* without CPUID.7:EBX.TSC_ADJUST writes are dropped */
	assert_int_equal(WR(0x3b, 77, false), 0);
	assert_int_equal(RD(0x3b, false), (uint64_t)-1000);
	c = cpuid_ext(0, 0, CPUID_7_EBX_TSC_ADJUST, 36);
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(WR(0x3b, 0, false), 0);                              /* +1000 */
	assert_int_equal(e->fk.f[CUSED_F_TSC], 5000);
	assert_int_equal(WR(0x3b, 123, true), 0);                             /* host: value only */
	assert_int_equal(e->fk.f[CUSED_F_TSC], 5000);
	assert_int_equal(RD(0x3b, true), 123);
	free(c);
}

static uint64_t synced;

static int fake_tsc_sync(void *ctx, uint64_t v)
{
	synced = v;
	return 0;
}

/* tsc_msrs_test's sequence: host writes synchronize (the hook), guest writes move TSC_ADJUST */
static void test_tsc_host_hook(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c = cpuid_ext(0, 0, CPUID_7_EBX_TSC_ADJUST, 36);
	const uint64_t step = 4ULL << 30, host_adjust = 64ULL << 30;

	msr_file_set_cpuid(&e->mf, c);
	e->io.tsc_host_write = fake_tsc_sync;
	/* guest: TSC to 1 step moves both */
	assert_int_equal(WR(0x10, step, false), 0);
	assert_int_equal(RD(0x3b, true), step);
	assert_int_equal(synced, 0);
	/* guest: TSC_ADJUST to 2 steps moves the TSC by one */
	assert_int_equal(WR(0x3b, 2 * step, false), 0);
	assert_int_equal(RD(0x10, true), 2 * step);
	/* host: TSC goes through kvm_synchronize_tsc, TSC_ADJUST stays */
	assert_int_equal(WR(0x10, host_adjust + 2 * step, true), 0);
	assert_int_equal(synced, host_adjust + 2 * step);
	assert_int_equal(e->fk.f[CUSED_F_TSC], 2 * step);   /* not written directly */
	assert_int_equal(RD(0x3b, true), 2 * step);
	e->fk.f[CUSED_F_TSC] = host_adjust + 2 * step;      /* what the hook would have done */
	/* host: TSC_ADJUST is the value only */
	assert_int_equal(WR(0x3b, 123456ULL << 30, true), 0);
	assert_int_equal(RD(0x10, true), host_adjust + 2 * step);
	assert_int_equal(WR(0x3b, 2 * step, true), 0);
	/* guest: TSC to 4 steps; the host's offset now shows in TSC_ADJUST */
	assert_int_equal(WR(0x10, 4 * step, false), 0);
	assert_int_equal(RD(0x3b, false), 4 * step - host_adjust);
	e->io.tsc_host_write = NULL;
	free(c);
}

static void test_tsc_aux(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c;
	uint64_t v;

	/* no RDTSCP/RDPID: the guest gets #GP, the host may still save/restore */
	assert_int_equal(msr_read(&e->mf, &e->io, 0xc0000103, &v, false), -EPERM);
	assert_int_equal(WR(0xc0000103, 5, false), -EPERM);
	assert_int_equal(WR(0xc0000103, 5, true), 0);
	assert_int_equal(RD(0xc0000103, true), 5);
	c = cpuid_ext(CPUID_81_EDX_RDTSCP, 0, 0, 36);   /* Intel */
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(WR(0xc0000103, 7, false), 0);
	assert_int_equal(RD(0xc0000103, false), 7);
	assert_int_equal(WR(0xc0000103, 1ULL << 32, true), -EINVAL);
	/* not Intel: high half ignored */
	c->entries[0].ebx = 0x68747541;
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(WR(0xc0000103, (1ULL << 32) | 9, false), 0);
	assert_int_equal(e->fk.f[CUSED_F_TSC_AUX], 9);
	free(c);
}

static void test_misc_enable(void **state)
{
	struct env *e = *state;

	/* read-only PMU bits: a guest change faults, the host may */
	assert_int_equal(WR(0x1a0, 0x1000, false), -EINVAL);
	assert_int_equal(WR(0x1a0, 0x1801, false), 0);
	assert_int_equal(RD(0x1a0, false), 0x1801);
	/* EMON: guest writes ignored without a fault */
	assert_int_equal(WR(0x1a0, 0x1880, false), 0);
	assert_int_equal(RD(0x1a0, false), 0x1800);
	assert_int_equal(WR(0x1a0, 0x80, true), 0);
	assert_int_equal(RD(0x1a0, false), 0x80);
	assert_int_equal(WR(0x1a0, 0x00, false), 0);
	assert_int_equal(RD(0x1a0, false), 0x80);
}

/* POWER_CTL: KVM stores any value from either side and lists it (emulated_msrs) */
static void test_power_ctl(void **state)
{
	struct env *e = *state;
	uint32_t idx[256];
	unsigned i, total = msr_index_list(idx, 256);

	assert_int_equal(RD(0x1fc, false), 0);
	assert_int_equal(WR(0x1fc, 0x1234, false), 0);
	assert_int_equal(RD(0x1fc, false), 0x1234);
	assert_int_equal(WR(0x1fc, ~0ULL, true), 0);
	assert_int_equal(RD(0x1fc, true), ~0ULL);
	for (i = 0; i < total && idx[i] != 0x1fc; i++)
		;
	assert_true(i < total);
}

/* PERF_CAPABILITIES without a guest PMU: host reads and writes 0; the guest reads with PDCM */
static void test_perf_caps(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c = cpuid_ext(0, CPUID_1_ECX_PDCM, 0, 36);

	assert_int_equal(RD(0x345, true), 0);
	assert_int_equal(WR(0x345, 0, true), 0);
	assert_int_equal(WR(0x345, 1ULL << 13, true), -EINVAL);   /* FW_WRITES: not supported */
	assert_int_equal(WR(0x345, 0, false), -EPERM);            /* read-only to the guest */
	uint64_t v;

	assert_int_equal(msr_read(&e->mf, &e->io, 0x345, &v, false), -EPERM);   /* no PDCM */
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(RD(0x345, false), 0);
	free(c);
}

/* without KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, changing MISC_ENABLE.MWAIT needs SSE3 */
static void test_misc_enable_mwait(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *sse3 = cpuid_ext(0, 1u << 0, 0, 36);
	uint64_t quirks = 0;

	e->mf.disabled_quirks = &quirks;
	assert_int_equal(WR(0x1a0, 0x1800 | (1u << 18), true), 0);   /* quirk on: any */
	assert_int_equal(WR(0x1a0, 0x1800, false), 0);
	quirks = KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT;
	assert_int_equal(WR(0x1a0, 0x1800 | (1u << 18), true), -EINVAL);
	assert_int_equal(WR(0x1a0, 0x1800 | (1u << 18), false), -EINVAL);
	assert_int_equal(WR(0x1a0, 0x1801, false), 0);                /* MWAIT unchanged: fine */
	assert_false(e->mf.cpuid_stale);
	msr_file_set_cpuid(&e->mf, sse3);
	assert_int_equal(WR(0x1a0, 0x1800 | (1u << 18), true), 0);
	assert_int_equal(RD(0x1a0, true), 0x1800 | (1u << 18));
	assert_true(e->mf.cpuid_stale);                             /* CPUID.MWAIT must follow */
	e->mf.cpuid_stale = false;
	assert_int_equal(WR(0x1a0, 0x1801 | (1u << 18), false), 0);   /* MWAIT unchanged */
	assert_false(e->mf.cpuid_stale);
	assert_int_equal(WR(0x1a0, 0x1800, false), 0);
	assert_true(e->mf.cpuid_stale);
	e->mf.disabled_quirks = NULL;
	free(sse3);
}

static void test_mtrr(void **state)
{
	struct env *e = *state;
	struct kvm_cpuid2 *c;

	assert_int_equal(WR(0x2ff, 0xc06, false), 0);
	assert_int_equal(RD(0x2ff, false), 0xc06);
	assert_int_equal(WR(0x2ff, 0xc02, false), -EINVAL);                  /* type 2 */
	assert_int_equal(WR(0x2ff, 0xc07, true), -EINVAL);                   /* type 7 */
	assert_int_equal(WR(0x2ff, 0x1006, true), -EINVAL);                  /* reserved */
	assert_int_equal(RD(0x2ff, false), 0xc06);
	/* fixed: every byte a valid type */
	assert_int_equal(WR(0x250, 0x0606060606060606ULL, false), 0);
	assert_int_equal(WR(0x26f, 0x0505050504040100ULL, false), 0);
	assert_int_equal(RD(0x26f, false), 0x0505050504040100ULL);
	assert_int_equal(WR(0x259, 0x0606060603060606ULL, false), -EINVAL);
	/* variable: base type + reserved bits, mask reserved bits, MAXPHYADDR */
	assert_int_equal(WR(0x20e, 0xc0000006, false), 0);
	assert_int_equal(WR(0x20f, 0xfc0000800ULL, false), 0);
	assert_int_equal(RD(0x20f, false), 0xfc0000800ULL);
	assert_int_equal(RD(0x20e, false), 0xc0000006);
	assert_int_equal(WR(0x200, 0xc0000002, false), -EINVAL);
	assert_int_equal(WR(0x200, 0xc0000106, false), -EINVAL);
	assert_int_equal(WR(0x201, 0xfc0000801ULL, false), -EINVAL);
	assert_int_equal(WR(0x201, 0xffc0000800ULL, false), -EINVAL);         /* bit 39 > 36 */
	c = cpuid_ext(0, 0, 0, 40);
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(WR(0x201, 0xffc0000800ULL, false), 0);
	free(c);
}

static void test_mce(void **state)
{
	struct env *e = *state;
	uint64_t v;

	/* MCG_CTL / MCi_CTL2: capability absent, host-only, only zero */
	assert_int_equal(msr_read(&e->mf, &e->io, 0x17b, &v, false), -EPERM);
	assert_int_equal(RD(0x17b, true), 0);
	assert_int_equal(WR(0x17b, 0, true), 0);
	assert_int_equal(WR(0x17b, ~0ULL, true), -EINVAL);
	assert_int_equal(WR(0x17b, 0, false), -EPERM);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x280, &v, false), -EPERM);
	assert_int_equal(WR(0x29f, 1, true), -EINVAL);
	/* MCG_STATUS: anything */
	assert_int_equal(WR(0x17a, 5, false), 0);
	assert_int_equal(RD(0x17a, false), 5);
	/* MCi_CTL: 0 or all ones (bits 10 and 0 may be clear) */
	assert_int_equal(WR(0x400, ~0ULL, false), 0);
	assert_int_equal(WR(0x47c, ~0ULL & ~(1ULL << 10), false), 0);
	assert_int_equal(RD(0x47c, false), ~0ULL & ~(1ULL << 10));
	assert_int_equal(WR(0x404, 0x5, false), -EINVAL);
	/* MCi_STATUS: the guest may only clear it */
	assert_int_equal(WR(0x405, 0, false), 0);
	assert_int_equal(WR(0x405, 0x8000000000000000ULL, false), -EINVAL);
	assert_int_equal(WR(0x405, 0x8000000000000000ULL, true), 0);
	assert_int_equal(RD(0x405, false), 0x8000000000000000ULL);
	/* ADDR/MISC: stored as given */
	assert_int_equal(WR(0x47e, 0x1234, false), 0);
	assert_int_equal(RD(0x47e, false), 0x1234);
	assert_int_equal(RD(0x47d, false), 0);
}

/* KVM_CAP_MSR_PLATFORM_INFO off: the guest's RDMSR faults, the host's read does not */
static void test_platform_info_hidden(void **state)
{
	struct env *e = *state;
	bool readable = false;
	uint64_t v;

	assert_int_equal(RD(0xce, false), 0);
	e->mf.platform_info_readable = &readable;
	assert_int_equal(msr_read(&e->mf, &e->io, 0xce, &v, false), -EPERM);
	assert_int_equal(msr_read(&e->mf, &e->io, 0xce, &v, true), 0);
	readable = true;
	assert_int_equal(msr_read(&e->mf, &e->io, 0xce, &v, false), 0);
	e->mf.platform_info_readable = NULL;
}

/* KVM_X86_SETUP_MCE: 10 banks with MCG_CTL_P, as QEMU asks for */
static void test_setup_mce(void **state)
{
	struct env *e = *state;
	uint64_t v;

	assert_int_equal(RD(0x400, false), 0);                      /* MC0_CTL starts 0 */
	msr_file_setup_mce(&e->mf, 10 | (1ULL << 8) | (1ULL << 24));
	assert_int_equal(RD(0x179, false), 10 | (1ULL << 8) | (1ULL << 24));
	/* MCG_CTL exists now, all ones, and the guest may write 0 or all ones */
	assert_int_equal(RD(0x17b, false), ~0ULL);
	assert_int_equal(WR(0x17b, 0, false), 0);
	assert_int_equal(WR(0x17b, 5, false), -EINVAL);
	assert_int_equal(WR(0x17b, ~0ULL, true), 0);
	/* banks 0..9 start enabled; bank 10 and beyond are gone */
	assert_int_equal(RD(0x400, false), ~0ULL);
	assert_int_equal(RD(0x424, false), ~0ULL);
	assert_int_equal(RD(0x427, false), 0);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x428, &v, true), -EPERM);
	assert_int_equal(WR(0x428, 0, true), -EPERM);
	/* MCi_CTL2 without MCG_CMCI_P: host 0 only, and only for present banks */
	assert_int_equal(WR(0x289, 0, true), 0);
	assert_int_equal(WR(0x28a, 0, true), -EPERM);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x28a, &v, true), -EPERM);
}

static void test_feat_ctl_ucode_platform(void **state)
{
	struct env *e = *state;

	assert_int_equal(WR(0x3a, 0x5, false), -EINVAL);          /* VMX outside SMX: no */
	assert_int_equal(WR(0x3a, 0x1, false), 0);                /* lock */
	assert_int_equal(WR(0x3a, 0x0, false), -EPERM);           /* locked for the guest */
	assert_int_equal(WR(0x3a, 0x0, true), 0);                 /* not for the host */
	assert_int_equal(RD(0x3a, false), 0);
	/* UCODE_REV: guest writes are ignored, host writes stick */
	assert_int_equal(WR(0x8b, 0, false), 0);
	assert_int_equal(RD(0x8b, false), 0x100000000ULL);
	assert_int_equal(WR(0x8b, 0x4200000000ULL, true), 0);
	assert_int_equal(RD(0x8b, false), 0x4200000000ULL);
	/* PLATFORM_INFO: guest-readable, host-writable, no CPUID faulting */
	assert_int_equal(WR(0xce, 0, false), -EPERM);
	assert_int_equal(WR(0xce, 0x100, true), 0);
	assert_int_equal(RD(0xce, false), 0x100);
	assert_int_equal(WR(0xce, 1ULL << 31, true), -EINVAL);
	assert_int_equal(WR(0x140, 1, false), -EINVAL);
	assert_int_equal(WR(0x140, 0, false), 0);
}

/* QEMU 7.2 writes and reads kvmclock's 0x11/0x12 at every reset, whatever the CPUID */
/* the PV MSRs of features cused does not offer: KVM's checks, no effect */
static void test_pv_msrs(void **state)
{
	struct env *e = *state;
	bool enforce = false;
	uint64_t v;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));

	e->mf.pv_enforce = &enforce;
	/* not enforced: every PV MSR exists, whatever the CPUID says */
	assert_int_equal(RD(0x4b564d05, true), 1);            /* POLL_CONTROL resets to 1 */
	assert_int_equal(WR(0x4b564d05, 0, false), 0);
	assert_int_equal(WR(0x4b564d05, 2, false), -EINVAL);
	assert_int_equal(RD(0x4b564d05, false), 0);
	assert_int_equal(WR(0x4b564d03, 0x1000 | 1, false), 0);  /* STEAL_TIME */
	assert_int_equal(WR(0x4b564d03, 0x1002, false), -EINVAL);
	assert_int_equal(RD(0x4b564d03, false), 0x1001);
	assert_int_equal(WR(0x4b564d04, 0x2001, false), 0);      /* PV_EOI_EN */
	assert_int_equal(WR(0x4b564d04, 0x2003, false), -EINVAL);
	assert_int_equal(WR(0x4b564d02, 0, true), 0);            /* ASYNC_PF_EN: only off */
	assert_int_equal(WR(0x4b564d02, 0x10, true), -EINVAL);
	assert_int_equal(WR(0x4b564d02, 0x3000 | 1, false), -EINVAL);
	assert_int_equal(WR(0x4b564d06, 0, true), 0);            /* ASYNC_PF_INT */
	assert_int_equal(WR(0x4b564d06, 0x100, true), -EINVAL);
	assert_int_equal(WR(0x4b564d07, 1, false), 0);           /* ACK: ignored, reads 0 */
	assert_int_equal(RD(0x4b564d07, false), 0);
	/* enforced with an empty features leaf: all of them #GP / unknown to the host */
	enforce = true;
	for (uint32_t i = 0x4b564d00; i <= 0x4b564d07; i++) {
		assert_int_equal(msr_read(&e->mf, &e->io, i, &v, false), -ENOENT);
		assert_int_equal(msr_write(&e->mf, &e->io, i, 0, false), -ENOENT);
		assert_int_equal(msr_write(&e->mf, &e->io, i, 0, true), -ENOENT);
	}
	/* the feature bit brings its MSR back, and only it */
	c->nent = 2;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0x40000100, .eax = 0x40000101,
		.ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0x40000101,
		.eax = 1u << KVM_PV_POLL_CONTROL };
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x4b564d05, &v, false), 0);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x4b564d03, &v, false), -ENOENT);
	e->mf.pv_enforce = NULL;
	free(c);
}

static void test_kvmclock(void **state)
{
	struct env *e = *state;
	uint64_t vm_wall = 0;
	bool enforce = false;
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 2 * sizeof(c->entries[0]));

	assert_int_equal(WR(0x12, 0, true), 0);
	assert_int_equal(WR(0x11, 0, true), 0);
	assert_int_equal(WR(0x12, 0x5001, false), 0);
	assert_int_equal(RD(0x12, true), 0x5001);
	assert_int_equal(RD(0x12, false), 0x5001);
	/* the wall clock is the VM's: another vCPU's file sees the same value */
	e->mf.wall_clock = &vm_wall;
	assert_int_equal(WR(0x11, 0x6000, false), 0);
	assert_int_equal(vm_wall, 0x6000);
	vm_wall = 0x7000;
	assert_int_equal(RD(0x11, true), 0x7000);
	/* the new MSRs are the same values */
	assert_int_equal(RD(0x4b564d01, false), 0x5001);
	assert_int_equal(WR(0x4b564d00, 0x8000, false), 0);
	assert_int_equal(RD(0x11, false), 0x8000);
	/*
	 * KVM_CAP_ENFORCE_PV_FEATURE_CPUID without the feature: both sides get
	 * "unknown MSR" (KVM_MSR_RET_UNSUPPORTED, user-space exit reason UNKNOWN)
	 */
	e->mf.pv_enforce = &enforce;
	enforce = true;
	uint64_t v;
	assert_int_equal(msr_read(&e->mf, &e->io, 0x12, &v, true), -ENOENT);
	assert_int_equal(msr_write(&e->mf, &e->io, 0x11, 0, false), -ENOENT);
	assert_int_equal(msr_write(&e->mf, &e->io, 0x4b564d01, 0, true), -ENOENT);
	/* ... and allowed again once the KVM leaves offer it; CLOCKSOURCE2 is a separate bit */
	c->nent = 2;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 0x40000000, .eax = 0x40000001,
		.ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 0x40000001, .eax = 1 };
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x12, &v, false), 0);
	assert_int_equal(v, 0x5001);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x4b564d01, &v, false), -ENOENT);
	c->entries[1].eax = 1u << KVM_PV_CLOCKSOURCE2;
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x4b564d01, &v, false), 0);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x12, &v, false), -ENOENT);
	/* a wrong signature hides the leaf again */
	c->entries[0].edx = 0;
	msr_file_set_cpuid(&e->mf, c);
	assert_int_equal(msr_read(&e->mf, &e->io, 0x4b564d01, &v, true), -ENOENT);
	e->mf.pv_enforce = NULL;
	e->mf.wall_clock = NULL;
	free(c);
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_table_sorted_and_findable), T(test_index_list), T(test_reset_values),
		T(test_unknown), T(test_const), T(test_field_plain_and_errors), T(test_canonical),
		T(test_pat), T(test_efer), T(test_apic_base), T(test_tsc_and_adjust), T(test_tsc_host_hook),
		T(test_tsc_aux), T(test_misc_enable), T(test_power_ctl), T(test_perf_caps), T(test_misc_enable_mwait),
		T(test_mtrr), T(test_mce), T(test_setup_mce), T(test_platform_info_hidden),
		T(test_feat_ctl_ucode_platform), T(test_kvmclock), T(test_pv_msrs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
