/* SPDX-License-Identifier: MIT */
/*
 * struct kvm_regs / kvm_sregs <-> trampoline fields, and the checks KVM makes
 * on KVM_SET_SREGS before any of it reaches a backend.
 */
#ifndef CUSED_X86_REGS_H
#define CUSED_X86_REGS_H

#include <linux/kvm.h>
#include "cused/tramp_abi.h"

#define REGS_NFIELDS 18
/* CR0 CR2 CR3 CR4 CR8 EFER APIC_BASE, GDTR/IDTR base+limit, 8 segments x 4 parts */
#define SREGS_NFIELDS (7 + 4 + CUSED_SEG_NR * 4)

/* fill only the ids, in a fixed order; returns the count */
unsigned regs_field_ids(struct cused_field_val *f);
/* f must hold the ids from regs_field_ids() */
void regs_to_fields(const struct kvm_regs *r, struct cused_field_val *f);
/* matches by id, so any order or subset works; unknown ids are ignored */
void regs_from_fields(struct kvm_regs *r, const struct cused_field_val *f, unsigned n);

unsigned sregs_field_ids(struct cused_field_val *f);
/* interrupt_bitmap is not a field: see sregs_pending_irq() */
void sregs_to_fields(const struct kvm_sregs *s, struct cused_field_val *f);
void sregs_from_fields(struct kvm_sregs *s, const struct cused_field_val *f, unsigned n);
/* one field of a struct kvm_sregs by id (backends cache kvm_sregs too); 0 / no-op for other ids */
uint64_t sregs_get_field(const struct kvm_sregs *s, uint32_t id);
void sregs_set_field(struct kvm_sregs *s, uint32_t id, uint64_t val);

/*
 * KVM_SET_SREGS validity as Linux 6.1 (stable) kvm_is_valid_sregs +
 * kvm_is_valid_cr4 + kvm_is_valid_cr0 + kvm_set_apic_base, for a vCPU whose
 * CPUID has not been set: CR4 bits KVM never lets a guest own, and VMXE
 * (cused offers no nested VMX), are reserved.  0 or -EINVAL.
 */
int sregs_validate(const struct kvm_sregs *s, unsigned maxphyaddr);
/*
 * The same with the vCPU's CPUID applied (NULL = none set yet): CR4 bits of
 * features the guest's CPUID lacks are reserved, MAXPHYADDR and x2APIC come
 * from it.  This is what KVM checks once KVM_SET_CPUID2 has run.
 */
struct kvm_cpuid2;
int sregs_validate_cpuid(const struct kvm_sregs *s, const struct kvm_cpuid2 *c,
			 const struct kvm_cpuid2 *supported);

/* first set bit of interrupt_bitmap (the vector KVM queues), or -1 */
int sregs_pending_irq(const struct kvm_sregs *s);

#endif
