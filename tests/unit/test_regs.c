/* SPDX-License-Identifier: MIT */
/* kvm_regs/kvm_sregs <-> trampoline fields, and KVM_SET_SREGS validity (cused/x86/regs) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/x86/regs.h"
#include "cused/x86/x86_bits.h"

static uint64_t field(const struct cused_field_val *f, unsigned n, uint32_t id)
{
	for (unsigned i = 0; i < n; i++)
		if (f[i].id == id)
			return f[i].val;
	fail_msg("field %#x missing", id);
	return 0;
}

static void test_regs_round_trip(void **state)
{
	struct kvm_regs in, out;
	struct cused_field_val f[REGS_NFIELDS], rev[REGS_NFIELDS];
	uint64_t *p = (uint64_t *)&in;
	unsigned n;

	for (unsigned i = 0; i < sizeof(in) / 8; i++)
		p[i] = 0x1000000000000001ULL * (i + 1);
	n = regs_field_ids(f);
	assert_int_equal(n, REGS_NFIELDS);
	regs_to_fields(&in, f);
	/* each named register lands in its own field */
	assert_int_equal(field(f, n, CUSED_F_RAX), in.rax);
	assert_int_equal(field(f, n, CUSED_F_RBX), in.rbx);
	assert_int_equal(field(f, n, CUSED_F_RCX), in.rcx);
	assert_int_equal(field(f, n, CUSED_F_RDX), in.rdx);
	assert_int_equal(field(f, n, CUSED_F_RSI), in.rsi);
	assert_int_equal(field(f, n, CUSED_F_RDI), in.rdi);
	assert_int_equal(field(f, n, CUSED_F_RSP), in.rsp);
	assert_int_equal(field(f, n, CUSED_F_RBP), in.rbp);
	assert_int_equal(field(f, n, CUSED_F_R8), in.r8);
	assert_int_equal(field(f, n, CUSED_F_R15), in.r15);
	assert_int_equal(field(f, n, CUSED_F_RIP), in.rip);
	assert_int_equal(field(f, n, CUSED_F_RFLAGS), in.rflags);
	/* from_fields matches by id, not position */
	for (unsigned i = 0; i < n; i++)
		rev[i] = f[n - 1 - i];
	memset(&out, 0, sizeof(out));
	regs_from_fields(&out, rev, n);
	assert_memory_equal(&in, &out, sizeof(in));
}

static void set_seg(struct kvm_segment *s, unsigned k)
{
	*s = (struct kvm_segment){
		.base = 0x100000000ULL * (k + 1) + k, .limit = 0x1000 * (k + 1), .selector = 8 * (k + 1),
		.type = (k + 3) & 0xf, .present = 1, .dpl = k & 3, .db = k & 1, .s = 1,
		.l = (k >> 1) & 1, .g = 1, .avl = k & 1,
	};
}

static struct kvm_sregs sample_sregs(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	set_seg(&s.cs, 0); set_seg(&s.ds, 1); set_seg(&s.es, 2); set_seg(&s.fs, 3);
	set_seg(&s.gs, 4); set_seg(&s.ss, 5); set_seg(&s.tr, 6); set_seg(&s.ldt, 7);
	s.gdt = (struct kvm_dtable){ .base = 0xfffff00011112222ULL, .limit = 0x37 };
	s.idt = (struct kvm_dtable){ .base = 0xfffff00033334444ULL, .limit = 0xfff };
	s.cr0 = 0x80050033; s.cr2 = 0x2222; s.cr3 = 0x3000; s.cr4 = 0x6f0; s.cr8 = 8;
	s.efer = 0xd01; s.apic_base = 0xfee00900;
	return s;
}

static void test_sregs_ids_unique(void **state)
{
	struct cused_field_val f[SREGS_NFIELDS];
	unsigned n = sregs_field_ids(f);

	assert_int_equal(n, SREGS_NFIELDS);
	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++)
			assert_int_not_equal(f[i].id, f[j].id);
}

static void test_sregs_round_trip(void **state)
{
	struct kvm_sregs in = sample_sregs(), out;
	struct cused_field_val f[SREGS_NFIELDS], rev[SREGS_NFIELDS];
	unsigned n = sregs_field_ids(f);

	sregs_to_fields(&in, f);
	assert_int_equal(field(f, n, CUSED_F_CR0), in.cr0);
	assert_int_equal(field(f, n, CUSED_F_CR2), in.cr2);
	assert_int_equal(field(f, n, CUSED_F_CR3), in.cr3);
	assert_int_equal(field(f, n, CUSED_F_CR4), in.cr4);
	assert_int_equal(field(f, n, CUSED_F_CR8), in.cr8);
	assert_int_equal(field(f, n, CUSED_F_EFER), in.efer);
	assert_int_equal(field(f, n, CUSED_F_APIC_BASE), in.apic_base);
	assert_int_equal(field(f, n, CUSED_F_GDTR_BASE), in.gdt.base);
	assert_int_equal(field(f, n, CUSED_F_GDTR_LIMIT), in.gdt.limit);
	assert_int_equal(field(f, n, CUSED_F_IDTR_BASE), in.idt.base);
	assert_int_equal(field(f, n, CUSED_F_IDTR_LIMIT), in.idt.limit);
	/* every segment's four parts, by the ABI's segment numbering */
	static const struct { unsigned seg; size_t off; } segs[] = {
		{ CUSED_SEG_ES, offsetof(struct kvm_sregs, es) },
		{ CUSED_SEG_CS, offsetof(struct kvm_sregs, cs) },
		{ CUSED_SEG_SS, offsetof(struct kvm_sregs, ss) },
		{ CUSED_SEG_DS, offsetof(struct kvm_sregs, ds) },
		{ CUSED_SEG_FS, offsetof(struct kvm_sregs, fs) },
		{ CUSED_SEG_GS, offsetof(struct kvm_sregs, gs) },
		{ CUSED_SEG_LDTR, offsetof(struct kvm_sregs, ldt) },
		{ CUSED_SEG_TR, offsetof(struct kvm_sregs, tr) },
	};
	for (unsigned i = 0; i < CUSED_SEG_NR; i++) {
		const struct kvm_segment *s = (const void *)((const char *)&in + segs[i].off);
		uint64_t ar = field(f, n, CUSED_F_SEG(segs[i].seg, CUSED_SEGP_ATTR));

		assert_int_equal(field(f, n, CUSED_F_SEG(segs[i].seg, CUSED_SEGP_SEL)), s->selector);
		assert_int_equal(field(f, n, CUSED_F_SEG(segs[i].seg, CUSED_SEGP_BASE)), s->base);
		assert_int_equal(field(f, n, CUSED_F_SEG(segs[i].seg, CUSED_SEGP_LIMIT)), s->limit);
		assert_int_equal(ar & 0xf, s->type);
		assert_int_equal((ar >> 5) & 3, s->dpl);
		assert_int_equal((ar >> 13) & 1, s->l);
	}
	for (unsigned i = 0; i < n; i++)
		rev[i] = f[n - 1 - i];
	memset(&out, 0, sizeof(out));
	sregs_from_fields(&out, rev, n);
	assert_memory_equal(&in, &out, sizeof(in));
}

/* states a real guest uses */
static struct kvm_sregs real_mode(void)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	s.cr0 = 0x60000010;   /* CD NW ET: the reset value */
	s.apic_base = 0xfee00900;
	return s;
}

static struct kvm_sregs long_mode(void)
{
	struct kvm_sregs s = real_mode();

	s.cr0 = 0x80050033;
	s.cr4 = X86_CR4_PAE | X86_CR4_PGE | X86_CR4_OSFXSR;
	s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NX;
	s.cr3 = 0x1000;
	s.cs.l = 1;
	return s;
}

static void test_validate_accepts(void **state)
{
	struct kvm_sregs s = real_mode();

	assert_int_equal(sregs_validate(&s, 36), 0);
	s.cr0 = X86_CR0_PE | 0x10;                          /* protected, no paging */
	assert_int_equal(sregs_validate(&s, 36), 0);
	s.cr0 |= X86_CR0_PG;                                /* 32-bit paging */
	assert_int_equal(sregs_validate(&s, 36), 0);
	s.cr4 = X86_CR4_PAE;                                /* PAE paging, EFER.LME clear */
	s.cr3 = 1ULL << 40;                                 /* CR3 only checked in long mode */
	assert_int_equal(sregs_validate(&s, 36), 0);
	s = long_mode();
	assert_int_equal(sregs_validate(&s, 36), 0);
	s.cs.l = 0;                                         /* compatibility mode */
	assert_int_equal(sregs_validate(&s, 36), 0);
	s.efer &= ~EFER_LMA;                                /* LME set, paging off */
	s.cr0 &= ~X86_CR0_PG;
	assert_int_equal(sregs_validate(&s, 36), 0);
	s = long_mode();
	s.apic_base = 0;                                    /* disabled APIC */
	assert_int_equal(sregs_validate(&s, 36), 0);
}

static void test_validate_rejects(void **state)
{
	struct kvm_sregs s;

#define REJECT(mod) do { s = long_mode(); mod; \
		assert_int_equal(sregs_validate(&s, 36), -EINVAL); } while (0)
	REJECT(s.cr4 &= ~X86_CR4_PAE);                      /* LME&PG needs PAE */
	REJECT(s.efer &= ~EFER_LMA);                        /* LME&PG needs LMA */
	REJECT(s.cr0 &= ~X86_CR0_PG);                       /* LMA without paging */
	REJECT((s.cr0 &= ~X86_CR0_PG, s.efer &= ~EFER_LMA)); /* cs.l outside long mode */
	REJECT(s.cr3 = 1ULL << 36);                         /* CR3 above MAXPHYADDR */
	REJECT(s.cr4 |= 1ULL << 14);                        /* SMXE: reserved for KVM */
	REJECT(s.cr4 |= 1ULL << 32);
	REJECT(s.cr4 |= X86_CR4_VMXE);                      /* no nested */
	REJECT(s.cr0 |= 1ULL << 32);
	REJECT(s.cr0 = (s.cr0 & ~X86_CR0_CD) | X86_CR0_NW);
	REJECT((s.cr0 = X86_CR0_PG, s.efer = 0, s.cs.l = 0)); /* PG without PE */
	REJECT(s.apic_base |= 1);                           /* reserved low bits */
	REJECT(s.apic_base |= 1ULL << 36);                  /* above MAXPHYADDR */
	REJECT(s.apic_base |= APIC_BASE_EXTD);              /* no x2APIC in CPUID */
#undef REJECT
	s = long_mode();
	s.cr3 = 1ULL << 36;
	assert_int_equal(sregs_validate(&s, 40), 0);        /* maxphyaddr is honoured */
}

static struct kvm_cpuid2 *cpuid_with(uint32_t ebx7, uint32_t ecx1, unsigned maxpa)
{
	struct kvm_cpuid2 *c = calloc(1, sizeof(*c) + 4 * sizeof(c->entries[0]));

	c->nent = 4;
	c->entries[0] = (struct kvm_cpuid_entry2){ .function = 1, .ecx = ecx1 };
	c->entries[1] = (struct kvm_cpuid_entry2){ .function = 7, .ebx = ebx7,
		.flags = KVM_CPUID_FLAG_SIGNIFCANT_INDEX };
	c->entries[2] = (struct kvm_cpuid_entry2){ .function = 0x80000000, .eax = 0x80000008 };
	c->entries[3] = (struct kvm_cpuid_entry2){ .function = 0x80000008, .eax = 0x3000 | maxpa };
	return c;
}

static void test_validate_cpuid(void **state)
{
	struct kvm_sregs s = long_mode();
	struct kvm_cpuid2 *none = cpuid_with(0, 0, 40), *smep = cpuid_with(CPUID_7_EBX_SMEP,
		CPUID_1_ECX_X2APIC, 36);

	s.cr4 |= X86_CR4_SMEP;
	/* before KVM_SET_CPUID2 KVM has no CPUID-based CR4 reservations */
	assert_int_equal(sregs_validate_cpuid(&s, NULL, NULL), 0);
	assert_int_equal(sregs_validate_cpuid(&s, none, NULL), -EINVAL);
	assert_int_equal(sregs_validate_cpuid(&s, smep, NULL), 0);
	s.cr3 = 1ULL << 38;
	assert_int_equal(sregs_validate_cpuid(&s, smep, NULL), -EINVAL);
	s.cr4 &= ~X86_CR4_SMEP;
	assert_int_equal(sregs_validate_cpuid(&s, none, NULL), 0);
	s.cr3 = 0x1000;
	s.apic_base |= APIC_BASE_EXTD;
	assert_int_equal(sregs_validate_cpuid(&s, none, NULL), -EINVAL);
	assert_int_equal(sregs_validate_cpuid(&s, smep, NULL), 0);
	s.apic_base &= ~APIC_BASE_ENABLE;                   /* EXTD without ENABLE */
	assert_int_equal(sregs_validate_cpuid(&s, smep, NULL), -EINVAL);
	/* what KVM itself cannot offer is reserved with or without a guest CPUID
	 * (set_sregs_test sets CR4 on a vCPU that never had KVM_SET_CPUID2) */
	s = long_mode();
	s.cr4 |= X86_CR4_SMEP;
	assert_int_equal(sregs_validate_cpuid(&s, NULL, smep), 0);
	assert_int_equal(sregs_validate_cpuid(&s, NULL, none), -EINVAL);
	assert_int_equal(sregs_validate_cpuid(&s, smep, none), -EINVAL);
	free(none);
	free(smep);
}

static void test_pending_irq(void **state)
{
	struct kvm_sregs s;

	memset(&s, 0, sizeof(s));
	assert_int_equal(sregs_pending_irq(&s), -1);
	s.interrupt_bitmap[3] = 1ULL << 63;
	assert_int_equal(sregs_pending_irq(&s), 255);
	s.interrupt_bitmap[1] = (1ULL << 6) | (1ULL << 9);
	assert_int_equal(sregs_pending_irq(&s), 70);
	s.interrupt_bitmap[0] = 1;
	assert_int_equal(sregs_pending_irq(&s), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_regs_round_trip),
		cmocka_unit_test(test_sregs_ids_unique),
		cmocka_unit_test(test_sregs_round_trip),
		cmocka_unit_test(test_validate_accepts),
		cmocka_unit_test(test_validate_rejects),
		cmocka_unit_test(test_validate_cpuid),
		cmocka_unit_test(test_pending_irq),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
