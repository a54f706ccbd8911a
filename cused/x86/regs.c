/* SPDX-License-Identifier: MIT */
/* kvm_regs / kvm_sregs <-> (field id, value) pairs for the trampoline ABI */
#include <stddef.h>
#include <stdint.h>
#include "cused/x86/regs.h"
#include "cused/x86/seg.h"

/* kvm_regs is 18 consecutive u64 in the same order as CUSED_F_RAX.. */
static const uint32_t gpr_off[REGS_NFIELDS] = {
	offsetof(struct kvm_regs, rax), offsetof(struct kvm_regs, rbx),
	offsetof(struct kvm_regs, rcx), offsetof(struct kvm_regs, rdx),
	offsetof(struct kvm_regs, rsi), offsetof(struct kvm_regs, rdi),
	offsetof(struct kvm_regs, rsp), offsetof(struct kvm_regs, rbp),
	offsetof(struct kvm_regs, r8),  offsetof(struct kvm_regs, r9),
	offsetof(struct kvm_regs, r10), offsetof(struct kvm_regs, r11),
	offsetof(struct kvm_regs, r12), offsetof(struct kvm_regs, r13),
	offsetof(struct kvm_regs, r14), offsetof(struct kvm_regs, r15),
	offsetof(struct kvm_regs, rip), offsetof(struct kvm_regs, rflags),
};

static uint64_t *gpr(struct kvm_regs *r, unsigned i)
{
	return (uint64_t *)((char *)r + gpr_off[i]);
}

unsigned regs_field_ids(struct cused_field_val *f)
{
	for (unsigned i = 0; i < REGS_NFIELDS; i++)
		f[i] = (struct cused_field_val){ .id = CUSED_F_RAX + i };
	return REGS_NFIELDS;
}

void regs_to_fields(const struct kvm_regs *r, struct cused_field_val *f)
{
	for (unsigned i = 0; i < REGS_NFIELDS; i++)
		if (f[i].id < CUSED_F_GPR_END)
			f[i].val = *gpr((struct kvm_regs *)r, f[i].id - CUSED_F_RAX);
}

void regs_from_fields(struct kvm_regs *r, const struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (f[i].id < CUSED_F_GPR_END)
			*gpr(r, f[i].id - CUSED_F_RAX) = f[i].val;
}

/* kvm_sregs segment members indexed by enum cused_seg */
static struct kvm_segment *sreg_seg(struct kvm_sregs *s, unsigned seg)
{
	switch (seg) {
	case CUSED_SEG_ES:   return &s->es;
	case CUSED_SEG_CS:   return &s->cs;
	case CUSED_SEG_SS:   return &s->ss;
	case CUSED_SEG_DS:   return &s->ds;
	case CUSED_SEG_FS:   return &s->fs;
	case CUSED_SEG_GS:   return &s->gs;
	case CUSED_SEG_LDTR: return &s->ldt;
	default:             return &s->tr;
	}
}

static const uint32_t sregs_ctrl_ids[] = {
	CUSED_F_CR0, CUSED_F_CR2, CUSED_F_CR3, CUSED_F_CR4, CUSED_F_CR8,
	CUSED_F_EFER, CUSED_F_APIC_BASE,
	CUSED_F_GDTR_BASE, CUSED_F_GDTR_LIMIT, CUSED_F_IDTR_BASE, CUSED_F_IDTR_LIMIT,
};
#define SREGS_NCTRL (sizeof(sregs_ctrl_ids) / sizeof(sregs_ctrl_ids[0]))
_Static_assert(SREGS_NCTRL + CUSED_SEG_NR * 4 == SREGS_NFIELDS, "SREGS_NFIELDS");

unsigned sregs_field_ids(struct cused_field_val *f)
{
	unsigned n = 0;

	for (unsigned i = 0; i < SREGS_NCTRL; i++)
		f[n++] = (struct cused_field_val){ .id = sregs_ctrl_ids[i] };
	for (unsigned id = CUSED_F_SEG(0, 0); id < CUSED_F_SEG_END; id++)
		f[n++] = (struct cused_field_val){ .id = id };
	return n;
}

uint64_t sregs_get_field(const struct kvm_sregs *cs, uint32_t id)
{
	struct kvm_sregs *s = (struct kvm_sregs *)cs;
	struct kvm_segment *seg;

	switch (id) {
	case CUSED_F_CR0:        return s->cr0;
	case CUSED_F_CR2:        return s->cr2;
	case CUSED_F_CR3:        return s->cr3;
	case CUSED_F_CR4:        return s->cr4;
	case CUSED_F_CR8:        return s->cr8;
	case CUSED_F_EFER:       return s->efer;
	case CUSED_F_APIC_BASE:  return s->apic_base;
	case CUSED_F_GDTR_BASE:  return s->gdt.base;
	case CUSED_F_GDTR_LIMIT: return s->gdt.limit;
	case CUSED_F_IDTR_BASE:  return s->idt.base;
	case CUSED_F_IDTR_LIMIT: return s->idt.limit;
	}
	if (id < CUSED_F_SEG(0, 0) || id >= CUSED_F_SEG_END)
		return 0;
	seg = sreg_seg(s, (id - CUSED_F_SEG(0, 0)) / 4);
	switch ((id - CUSED_F_SEG(0, 0)) % 4) {
	case CUSED_SEGP_SEL:   return seg->selector;
	case CUSED_SEGP_BASE:  return seg->base;
	case CUSED_SEGP_LIMIT: return seg->limit;
	default:               return seg_attr_from_kvm(seg);
	}
}

void sregs_set_field(struct kvm_sregs *s, uint32_t id, uint64_t v)
{
	struct kvm_segment *seg;

	switch (id) {
	case CUSED_F_CR0:        s->cr0 = v; return;
	case CUSED_F_CR2:        s->cr2 = v; return;
	case CUSED_F_CR3:        s->cr3 = v; return;
	case CUSED_F_CR4:        s->cr4 = v; return;
	case CUSED_F_CR8:        s->cr8 = v; return;
	case CUSED_F_EFER:       s->efer = v; return;
	case CUSED_F_APIC_BASE:  s->apic_base = v; return;
	case CUSED_F_GDTR_BASE:  s->gdt.base = v; return;
	case CUSED_F_GDTR_LIMIT: s->gdt.limit = (uint16_t)v; return;
	case CUSED_F_IDTR_BASE:  s->idt.base = v; return;
	case CUSED_F_IDTR_LIMIT: s->idt.limit = (uint16_t)v; return;
	}
	if (id < CUSED_F_SEG(0, 0) || id >= CUSED_F_SEG_END)
		return;
	seg = sreg_seg(s, (id - CUSED_F_SEG(0, 0)) / 4);
	switch ((id - CUSED_F_SEG(0, 0)) % 4) {
	case CUSED_SEGP_SEL:   seg->selector = (uint16_t)v; break;
	case CUSED_SEGP_BASE:  seg->base = v; break;
	case CUSED_SEGP_LIMIT: seg->limit = (uint32_t)v; break;
	default:               seg_attr_to_kvm((uint32_t)v, seg); break;
	}
}

void sregs_to_fields(const struct kvm_sregs *s, struct cused_field_val *f)
{
	for (unsigned i = 0; i < SREGS_NFIELDS; i++)
		f[i].val = sregs_get_field(s, f[i].id);
}

void sregs_from_fields(struct kvm_sregs *s, const struct cused_field_val *f, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		sregs_set_field(s, f[i].id, f[i].val);
}
