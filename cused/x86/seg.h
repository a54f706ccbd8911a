/* SPDX-License-Identifier: MIT */
/*
 * struct kvm_segment <-> the VMX access-rights word used by the trampoline
 * ABI (CUSED_SEGP_ATTR).  One place for it so backends and the register code
 * can never disagree on a bit.
 */
#ifndef CUSED_X86_SEG_H
#define CUSED_X86_SEG_H

#include <stdint.h>
#include <linux/kvm.h>

uint32_t seg_attr_from_kvm(const struct kvm_segment *s);
/* fills type, s, dpl, present, avl, l, db, g, unusable; leaves sel/base/limit */
void seg_attr_to_kvm(uint32_t ar, struct kvm_segment *s);

#endif
