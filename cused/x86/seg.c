/* SPDX-License-Identifier: MIT */
#include "cused/x86/seg.h"
#include "cused/tramp_abi.h"

uint32_t seg_attr_from_kvm(const struct kvm_segment *s)
{
	uint32_t ar = (s->type & 0xf) | (s->s & 1) << 4 | (s->dpl & 3) << 5 |
		      (s->present & 1) << 7 | (s->avl & 1) << 12 | (s->l & 1) << 13 |
		      (s->db & 1) << 14 | (s->g & 1) << 15;
	/* VMX treats a non-present segment as unusable; keep KVM's flag too */
	if (s->unusable || !s->present)
		ar |= CUSED_SEG_ATTR_UNUSABLE;
	return ar;
}

void seg_attr_to_kvm(uint32_t ar, struct kvm_segment *s)
{
	s->type = ar & 0xf;
	s->s = (ar >> 4) & 1;
	s->dpl = (ar >> 5) & 3;
	s->present = (ar >> 7) & 1;
	s->avl = (ar >> 12) & 1;
	s->l = (ar >> 13) & 1;
	s->db = (ar >> 14) & 1;
	s->g = (ar >> 15) & 1;
	s->unusable = (ar & CUSED_SEG_ATTR_UNUSABLE) ? 1 : 0;
}
