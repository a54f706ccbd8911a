/* SPDX-License-Identifier: MIT */
/*
 * KVM_SET_SREGS validity, as Linux 6.1 (stable) kvm_is_valid_sregs():
 * long-mode consistency, CR3 within MAXPHYADDR in long mode, CR4/CR0 and
 * APIC base validity.  A state KVM would refuse must be refused here too, or
 * a backend's VM entry would fail later with a less useful error.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include "cused/x86/regs.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"

/* CR4 bits KVM knows at all (CR4_RESERVED_BITS is the complement) */
#define CR4_KNOWN (X86_CR4_VME | X86_CR4_PVI | X86_CR4_TSD | X86_CR4_DE | X86_CR4_PSE | \
		   X86_CR4_PAE | X86_CR4_MCE | X86_CR4_PGE | X86_CR4_PCE | X86_CR4_OSFXSR | \
		   X86_CR4_PCIDE | X86_CR4_OSXSAVE | X86_CR4_SMEP | X86_CR4_FSGSBASE | \
		   X86_CR4_OSXMMEXCPT | X86_CR4_LA57 | X86_CR4_VMXE | X86_CR4_SMAP | \
		   X86_CR4_PKE | X86_CR4_UMIP)

struct sregs_limits {
	uint64_t cr4_reserved;
	unsigned maxphyaddr;
	bool x2apic;
};

static uint64_t gpa_reserved(unsigned maxphyaddr)
{
	return maxphyaddr >= 64 ? 0 : ~0ULL << maxphyaddr;
}

/* kvm_is_valid_cr0: vendor hooks add nothing outside nested guests */
static bool cr0_valid(uint64_t cr0)
{
	if (cr0 >> 32)
		return false;
	if ((cr0 & X86_CR0_NW) && !(cr0 & X86_CR0_CD))
		return false;
	if ((cr0 & X86_CR0_PG) && !(cr0 & X86_CR0_PE))
		return false;
	return true;
}

/* kvm_set_apic_base() as KVM_SET_SREGS calls it (host-initiated) */
static bool apic_base_valid(uint64_t base, const struct sregs_limits *l)
{
	uint64_t reserved = gpa_reserved(l->maxphyaddr) | 0x2ff |
			    (l->x2apic ? 0 : APIC_BASE_EXTD);

	if (base & reserved)
		return false;
	/* x2APIC mode without the global enable is the one invalid mode */
	return (base & (APIC_BASE_ENABLE | APIC_BASE_EXTD)) != APIC_BASE_EXTD;
}

static int validate(const struct kvm_sregs *s, const struct sregs_limits *l)
{
	if ((s->efer & EFER_LME) && (s->cr0 & X86_CR0_PG)) {
		/* 64-bit mode (maybe in a 32-bit code segment) */
		if (!(s->cr4 & X86_CR4_PAE) || !(s->efer & EFER_LMA))
			return -EINVAL;
		if (s->cr3 & gpa_reserved(l->maxphyaddr))
			return -EINVAL;
	} else if ((s->efer & EFER_LMA) || s->cs.l) {
		return -EINVAL;
	}
	if (s->cr4 & l->cr4_reserved)
		return -EINVAL;
	if (!cr0_valid(s->cr0))
		return -EINVAL;
	if (!apic_base_valid(s->apic_base, l))
		return -EINVAL;
	return 0;
}

/* cused offers no nested virtualization, so VMXE is never the guest's */
#define CR4_RESERVED_ALWAYS (~CR4_KNOWN | X86_CR4_VMXE)

int sregs_validate(const struct kvm_sregs *s, unsigned maxphyaddr)
{
	struct sregs_limits l = { .cr4_reserved = CR4_RESERVED_ALWAYS, .maxphyaddr = maxphyaddr };

	return validate(s, &l);
}

/* __cr4_reserved_bits(): CR4 controls of features the guest's CPUID lacks */
static uint64_t cr4_reserved_by_cpuid(const struct kvm_cpuid2 *c)
{
	static const struct {
		uint32_t function;
		enum cpuid_reg reg;
		uint32_t bit;
		uint64_t cr4;
	} deps[] = {
		{ 1, CPUID_ECX, CPUID_1_ECX_XSAVE, X86_CR4_OSXSAVE },
		{ 7, CPUID_EBX, CPUID_7_EBX_SMEP, X86_CR4_SMEP },
		{ 7, CPUID_EBX, CPUID_7_EBX_SMAP, X86_CR4_SMAP },
		{ 7, CPUID_EBX, CPUID_7_EBX_FSGSBASE, X86_CR4_FSGSBASE },
		{ 7, CPUID_ECX, CPUID_7_ECX_PKU, X86_CR4_PKE },
		{ 7, CPUID_ECX, CPUID_7_ECX_LA57, X86_CR4_LA57 },
		{ 7, CPUID_ECX, CPUID_7_ECX_UMIP, X86_CR4_UMIP },
		{ 1, CPUID_ECX, CPUID_1_ECX_VMX, X86_CR4_VMXE },
		{ 1, CPUID_ECX, CPUID_1_ECX_PCID, X86_CR4_PCIDE },
	};
	uint64_t r = 0;

	for (size_t i = 0; i < sizeof(deps) / sizeof(deps[0]); i++)
		if (!cpuid_has(c, deps[i].function, 0, deps[i].reg, deps[i].bit))
			r |= deps[i].cr4;
	return r;
}

int sregs_validate_cpuid(const struct kvm_sregs *s, const struct kvm_cpuid2 *c,
			 const struct kvm_cpuid2 *supported)
{
	struct sregs_limits l = {
		.cr4_reserved = CR4_RESERVED_ALWAYS,
		.maxphyaddr = cpuid_maxphyaddr(c),
		.x2apic = cpuid_has(c, 1, 0, CPUID_ECX, CPUID_1_ECX_X2APIC),
	};

	/* kvm_is_valid_cr4: cr4_reserved_bits, what KVM itself cannot offer ... */
	if (supported)
		l.cr4_reserved |= cr4_reserved_by_cpuid(supported);
	/* ... and, once KVM_SET_CPUID2 ran, what the guest's CPUID lacks */
	if (c)
		l.cr4_reserved |= cr4_reserved_by_cpuid(c);
	return validate(s, &l);
}

int sregs_pending_irq(const struct kvm_sregs *s)
{
	for (unsigned w = 0; w < sizeof(s->interrupt_bitmap) / sizeof(s->interrupt_bitmap[0]); w++)
		if (s->interrupt_bitmap[w])
			return (int)(w * 64 + __builtin_ctzll(s->interrupt_bitmap[w]));
	return -1;
}
