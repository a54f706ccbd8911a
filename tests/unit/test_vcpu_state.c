/* SPDX-License-Identifier: MIT */
/*
 * vCPU state rules of cused/kvm/vcpu_state.c against Linux 6.1
 * arch/x86/kvm/x86.c (kvm_vcpu_ioctl_x86_set_vcpu_events, _set_debugregs,
 * __kvm_set_xcr, _set_xcrs, _setup_mce) and the XSAVE UABI header rules of
 * arch/x86/kernel/fpu/xstate.c; and the kmod XSAVE <-> FXSAVE conversion.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/kvm/vcpu_state.h"
#include "cused/tramp/kmod.h"
#include "cused/x86/msr.h"

static void test_events_flags(void **state)
{
	struct kvm_vcpu_events e = { 0 };

	e.flags = 0x40;
	assert_int_equal(vcpu_events_check(&e, true), -EINVAL);
	e.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	assert_int_equal(vcpu_events_check(&e, false), -EINVAL);
	assert_int_equal(vcpu_events_check(&e, true), 0);
	e.flags = KVM_VCPUEVENT_VALID_TRIPLE_FAULT;
	assert_int_equal(vcpu_events_check(&e, true), -EINVAL);
	e.flags = KVM_VCPUEVENT_VALID_SMM;
	assert_int_equal(vcpu_events_check(&e, false), 0);
	e.smi.smm = 1;
	assert_int_equal(vcpu_events_check(&e, false), -EINVAL);
	/* without VALID_SMM the smi fields are ignored */
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		  KVM_VCPUEVENT_VALID_SIPI_VECTOR;
	assert_int_equal(vcpu_events_check(&e, false), 0);
}

static void test_events_exception(void **state)
{
	struct kvm_vcpu_events e = { 0 };

	e.exception.injected = 1;
	e.exception.nr = 2;
	assert_int_equal(vcpu_events_check(&e, false), -EINVAL);
	e.exception.nr = 32;
	assert_int_equal(vcpu_events_check(&e, false), -EINVAL);
	e.exception.nr = 31;
	assert_int_equal(vcpu_events_check(&e, false), 0);
	/* a bad vector is fine while nothing is injected or pending */
	e.exception.injected = 0;
	e.exception.nr = 200;
	assert_int_equal(vcpu_events_check(&e, false), 0);

	/* without PAYLOAD, pending and payload are dropped, and checked after that */
	e.exception.pending = 1;
	e.exception_has_payload = 1;
	assert_int_equal(vcpu_events_check(&e, false), 0);
	assert_int_equal(e.exception.pending, 0);
	assert_int_equal(e.exception_has_payload, 0);

	/* with PAYLOAD, pending wins over injected */
	e.flags = KVM_VCPUEVENT_VALID_PAYLOAD;
	e.exception.nr = 14;
	e.exception.pending = 1;
	e.exception.injected = 1;
	e.exception_has_payload = 1;
	assert_int_equal(vcpu_events_check(&e, true), 0);
	assert_int_equal(e.exception.injected, 0);
	assert_int_equal(e.exception_has_payload, 1);
	e.exception.pending = 0;
	e.exception.injected = 1;
	assert_int_equal(vcpu_events_check(&e, true), 0);
	assert_int_equal(e.exception_has_payload, 0);
	e.exception.pending = 1;
	e.exception.nr = 2;
	assert_int_equal(vcpu_events_check(&e, true), -EINVAL);
}

static void test_debugregs(void **state)
{
	struct kvm_debugregs d = { .dr6 = 0xffff0ff0, .dr7 = 0x400 };

	assert_int_equal(vcpu_debugregs_check(&d), 0);
	d.flags = 1;
	assert_int_equal(vcpu_debugregs_check(&d), -EINVAL);
	d.flags = 0;
	d.dr6 = 1ULL << 32;
	assert_int_equal(vcpu_debugregs_check(&d), -EINVAL);
	d.dr6 = 0;
	d.dr7 = 1ULL << 63;
	assert_int_equal(vcpu_debugregs_check(&d), -EINVAL);
	/* DB0-3 take any value */
	d.dr7 = 0;
	d.db[0] = ~0ULL;
	assert_int_equal(vcpu_debugregs_check(&d), 0);
}

static void test_xcr0(void **state)
{
	uint64_t guest = 0x2e7;   /* x87 SSE AVX AVX-512 PKRU */

	assert_int_equal(vcpu_xcr0_check(1, 1), 0);
	assert_int_equal(vcpu_xcr0_check(0, guest), -EINVAL);
	assert_int_equal(vcpu_xcr0_check(2, guest), -EINVAL);      /* no x87 */
	assert_int_equal(vcpu_xcr0_check(5, guest), -EINVAL);      /* AVX without SSE */
	assert_int_equal(vcpu_xcr0_check(7, guest), 0);
	assert_int_equal(vcpu_xcr0_check(3, 1), -EINVAL);          /* guest lacks SSE */
	assert_int_equal(vcpu_xcr0_check(0x27, guest), -EINVAL);   /* part of AVX-512 */
	assert_int_equal(vcpu_xcr0_check(0xe3, guest), -EINVAL);   /* AVX-512 without AVX */
	assert_int_equal(vcpu_xcr0_check(0xe7, guest), 0);
	assert_int_equal(vcpu_xcr0_check(0x0b, 0x1f), -EINVAL);    /* BNDREGS without BNDCSR */
	assert_int_equal(vcpu_xcr0_check(0x1b, 0x1f), 0);
}

static void test_xcrs(void **state)
{
	struct kvm_xcrs x = { .nr_xcrs = 1, .xcrs = { { .xcr = 0, .value = 3 } } };
	uint64_t v = 0;
	bool set;

	assert_int_equal(vcpu_xcrs_check(&x, 7, &set, &v), 0);
	assert_true(set);
	assert_int_equal(v, 3);
	x.flags = 1;
	assert_int_equal(vcpu_xcrs_check(&x, 7, &set, &v), -EINVAL);
	x.flags = 0;
	x.nr_xcrs = KVM_MAX_XCRS + 1;
	assert_int_equal(vcpu_xcrs_check(&x, 7, &set, &v), -EINVAL);
	/* only XCR0 is looked at, others are skipped; none at all is fine */
	x.nr_xcrs = 2;
	x.xcrs[0] = (struct kvm_xcr){ .xcr = 1, .value = 0 };
	x.xcrs[1] = (struct kvm_xcr){ .xcr = 0, .value = 0 };
	assert_int_equal(vcpu_xcrs_check(&x, 7, &set, &v), -EINVAL);
	x.nr_xcrs = 1;
	assert_int_equal(vcpu_xcrs_check(&x, 7, &set, &v), 0);
	assert_false(set);
}

static void put64(struct kvm_xsave *x, unsigned off, uint64_t v)
{
	memcpy((uint8_t *)x->region + off, &v, 8);
}

static void test_xsave_header(void **state)
{
	struct kvm_xsave *x = calloc(1, sizeof(*x));

	x->region[6] = 0x1f80;
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), 0);
	put64(x, 512, 7);
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), 0);
	put64(x, 512, 0xf);
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), -EINVAL);
	/* X87 and SSE are always allowed */
	put64(x, 512, 3);
	assert_int_equal(vcpu_xsave_check(x, 1, 0xffff), 0);
	put64(x, 520, 1ULL << 63);
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), -EINVAL);
	put64(x, 520, 0);
	put64(x, 560, 1);
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), -EINVAL);
	put64(x, 560, 0);
	/* MXCSR only matters while X87, SSE or AVX state is present */
	x->region[6] = 0x10000;
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), -EINVAL);
	put64(x, 512, 0);
	assert_int_equal(vcpu_xsave_check(x, 7, 0xffff), 0);
	free(x);
}

static void test_mce(void **state)
{
	assert_int_equal(vcpu_mce_check(0), -EINVAL);
	assert_int_equal(vcpu_mce_check(33), -EINVAL);
	assert_int_equal(vcpu_mce_check(32), 0);
	assert_int_equal(vcpu_mce_check(10 | VCPU_MCG_CTL_P | VCPU_MCG_SER_P | 0x120000), 0);
	assert_int_equal(vcpu_mce_check(10 | 1ULL << 10), -EINVAL);   /* CMCI_P not offered */
}

static void test_guest_xcr0(void **state)
{
	struct {
		struct kvm_cpuid2 h;
		struct kvm_cpuid_entry2 e[1];
	} g = { .h.nent = 1 }, s = { .h.nent = 1 };

	g.e[0] = (struct kvm_cpuid_entry2){ .function = 0xd, .index = 0,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX, .eax = 0x7, .edx = 0 };
	s.e[0] = g.e[0];
	s.e[0].eax = 0x3;
	assert_int_equal(vcpu_guest_xcr0(&g.h, &s.h), 3);
	assert_int_equal(vcpu_guest_xcr0(NULL, &s.h), 1);
}

static void test_kmod_xsave(void **state)
{
	struct kvm_xsave *x = calloc(1, sizeof(*x));
	uint8_t fx[512], back[512];
	uint64_t bv;

	for (int i = 0; i < 512; i++)
		fx[i] = i * 7;
	kmod_xsave_from_fx(fx, x);
	assert_memory_equal(x->region, fx, 512);
	memcpy(&bv, (uint8_t *)x->region + 512, 8);
	assert_int_equal(bv, 3);
	assert_int_equal(kmod_xsave_to_fx(x, back), 0);
	assert_memory_equal(back, fx, 512);
	/* AVX is not switched by the module */
	put64(x, 512, 7);
	assert_int_equal(kmod_xsave_to_fx(x, back), -EINVAL);
	/* a component left out goes to its init state */
	put64(x, 512, 1);
	assert_int_equal(kmod_xsave_to_fx(x, back), 0);
	assert_memory_equal(back, fx, 24);
	for (int i = 160; i < 416; i++)
		assert_int_equal(back[i], 0);
	assert_int_equal(back[24] | back[25] << 8, 0x1f80);
	put64(x, 512, 0);
	assert_int_equal(kmod_xsave_to_fx(x, back), 0);
	assert_int_equal(back[0] | back[1] << 8, 0x037f);
	assert_int_equal(back[2], 0);
	free(x);
}

/* the one event slot of the kmod backend, both ways */
static void test_kmod_events(void **state)
{
	struct kvm_vcpu_events e;
	uint64_t p, i;

	/* #GP with error code 0x18, STI shadow, NMIs blocked */
	kmod_events_from_fields(0x1880000b0dULL, 0x9, &e);
	assert_int_equal(e.flags, KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
				  KVM_VCPUEVENT_VALID_SMM);
	assert_int_equal(e.exception.injected, 1);
	assert_int_equal(e.exception.nr, 13);
	assert_int_equal(e.exception.has_error_code, 1);
	assert_int_equal(e.exception.error_code, 0x18);
	assert_int_equal(e.interrupt.shadow, 3);
	assert_int_equal(e.nmi.masked, 1);
	assert_int_equal(kmod_events_to_fields(&e, 0, &p, &i), 0);
	assert_int_equal(p, 0x1880000b0dULL);
	assert_int_equal(i, 0xb);

	kmod_events_from_fields(0x80000430, 0, &e);      /* INT 0x30 */
	assert_int_equal(e.interrupt.injected, 1);
	assert_int_equal(e.interrupt.soft, 1);
	assert_int_equal(e.interrupt.nr, 0x30);
	kmod_events_from_fields(0x80000202, 0, &e);      /* NMI */
	assert_int_equal(e.nmi.injected, 1);
	assert_int_equal(kmod_events_to_fields(&e, 0, &p, &i), 0);
	assert_int_equal(p, 0x80000202);

	/* without VALID_SHADOW the shadow stays as it was */
	memset(&e, 0, sizeof(e));
	e.interrupt.injected = 1;
	e.interrupt.nr = 0x20;
	assert_int_equal(kmod_events_to_fields(&e, 1, &p, &i), 0);
	assert_int_equal(p, 0x80000020);
	assert_int_equal(i, 1);
	e.flags = KVM_VCPUEVENT_VALID_SHADOW;
	assert_int_equal(kmod_events_to_fields(&e, 1, &p, &i), 0);
	assert_int_equal(i, 0);

	/* what needs a queue is refused */
	e.nmi.injected = 1;
	assert_int_equal(kmod_events_to_fields(&e, 0, &p, &i), -EINVAL);
	memset(&e, 0, sizeof(e));
	e.flags = KVM_VCPUEVENT_VALID_NMI_PENDING;
	e.nmi.pending = 1;
	assert_int_equal(kmod_events_to_fields(&e, 0, &p, &i), -EINVAL);
	/* ... but nmi.pending without its flag is ignored, as by KVM */
	e.flags = 0;
	assert_int_equal(kmod_events_to_fields(&e, 0, &p, &i), 0);
	assert_int_equal(p, 0);
	memset(&e, 0, sizeof(e));
	e.exception.pending = 1;
	assert_int_equal(kmod_events_to_fields(&e, 0, &p, &i), -EINVAL);
}

/* kmod cannot scale the TSC: only the host's rate, within KVM's 250 ppm */
static void test_kmod_tsc(void **state)
{
	uint32_t khz = kmod_tsc_calibrate();

	assert_true(khz > 100000);   /* any x86-64 TSC runs above 100 MHz */
	assert_int_equal(kmod_tsc_khz_check(2000000, 0), 0);
	assert_int_equal(kmod_tsc_khz_check(2000000, 2000000), 0);
	assert_int_equal(kmod_tsc_khz_check(2000000, 2000500), 0);
	assert_int_equal(kmod_tsc_khz_check(2000000, 1999500), 0);
	assert_int_equal(kmod_tsc_khz_check(2000000, 2000501), -EINVAL);
	assert_int_equal(kmod_tsc_khz_check(2000000, 1999499), -EINVAL);
	assert_int_equal(kmod_tsc_khz_check(0, 2000000), -EINVAL);
}

/* KVM_X86_SET_MCE on the MSR file: which errors raise #MC, shut down, or are only logged */
static void test_set_mce(void **state)
{
	struct msr_file mf;
	struct kvm_x86_mce m = { .bank = 0, .status = 1ULL << 63 | 1ULL << 61 | 1ULL << 55,
				 .addr = 0x2000, .misc = 1, .mcg_status = 5 };
	enum mce_action act;
	uint64_t cr4_mce = 1 << 6;

	msr_file_reset(&mf);
	msr_file_setup_mce(&mf, 4 | VCPU_MCG_CTL_P);
	m.bank = 4;
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), -EINVAL);
	m.bank = 0;
	/* UC with CR4.MCE: #MC, bank and MCG_STATUS written */
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), 0);
	assert_int_equal(act, MCE_RAISE_MC);
	assert_int_equal(mf.val[MSLOT_MC_BANK + 1], m.status);
	assert_int_equal(mf.val[MSLOT_MC_BANK + 2], 0x2000);
	assert_int_equal(mf.val[MSLOT_MCG_STATUS], 5);
	/* MCIP still set from the first: shutdown */
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), 0);
	assert_int_equal(act, MCE_SHUTDOWN);
	/* without CR4.MCE: shutdown too */
	mf.val[MSLOT_MCG_STATUS] = 0;
	assert_int_equal(vcpu_mce_apply(&mf, 0, &m, &act), 0);
	assert_int_equal(act, MCE_SHUTDOWN);
	/* a second UC on a logged bank sets OVER */
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), 0);
	assert_int_equal(act, MCE_RAISE_MC);
	assert_true(mf.val[MSLOT_MC_BANK + 1] & (1ULL << 62));
	/* reporting off (MCG_CTL or MCi_CTL not all ones): nothing at all */
	mf.val[MSLOT_MCG_STATUS] = 0;
	mf.val[MSLOT_MCG_CTL] = 0;
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), 0);
	assert_int_equal(act, MCE_NOTHING);
	mf.val[MSLOT_MCG_CTL] = ~0ULL;
	mf.val[MSLOT_MC_BANK + 4] = 0;
	m.bank = 1;
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), 0);
	assert_int_equal(act, MCE_NOTHING);
	assert_int_equal(mf.val[MSLOT_MC_BANK + 5], 0);
	/* corrected over an uncorrected one: only OVER */
	m.bank = 0;
	m.status = 1ULL << 63 | 0x11;
	mf.val[MSLOT_MC_BANK + 1] = 1ULL << 63 | 1ULL << 61;
	assert_int_equal(vcpu_mce_apply(&mf, cr4_mce, &m, &act), 0);
	assert_int_equal(act, MCE_NOTHING);
	assert_int_equal(mf.val[MSLOT_MC_BANK + 1], 1ULL << 63 | 1ULL << 62 | 1ULL << 61);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_events_flags),
		cmocka_unit_test(test_events_exception),
		cmocka_unit_test(test_debugregs),
		cmocka_unit_test(test_xcr0),
		cmocka_unit_test(test_xcrs),
		cmocka_unit_test(test_xsave_header),
		cmocka_unit_test(test_mce),
		cmocka_unit_test(test_guest_xcr0),
		cmocka_unit_test(test_kmod_xsave),
		cmocka_unit_test(test_kmod_events),
		cmocka_unit_test(test_kmod_tsc),
		cmocka_unit_test(test_set_mce),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
