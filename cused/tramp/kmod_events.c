/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET/SET_VCPU_EVENTS on the kmod backend, from the two fields the
 * module has: PENDING_IRQ (the VMCB's EVENTINJ, error code in bits 63:32)
 * and INTERRUPTIBILITY (interrupt shadow, bit 3 NMI blocked).  That is one
 * event slot and no queue: what needs a queue (a pending NMI, a pending
 * exception, two events at once) is refused with -EINVAL rather than
 * approximated.
 */
#include <errno.h>
#include <string.h>
#include "cused/tramp/kmod.h"
#include "cused/util/log.h"

#define EV_VALID   (1ULL << 31)
#define EV_ERRCODE (1ULL << 11)
#define EV_TYPE(v) (((v) >> 8) & 7)
enum { EVT_EXT = 0, EVT_NMI = 2, EVT_EXC = 3, EVT_SOFT_INT = 4 };
#define INTR_SHADOW 3ULL          /* STI | MOV SS: SVM has one shadow bit */
#define INTR_NMI    (1ULL << 3)

void kmod_events_from_fields(uint64_t pending, uint64_t intr, struct kvm_vcpu_events *e)
{
	memset(e, 0, sizeof(*e));
	e->flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW |
		   KVM_VCPUEVENT_VALID_SMM;
	if (pending & EV_VALID) {
		switch (EV_TYPE(pending)) {
		case EVT_EXT:
		case EVT_SOFT_INT:
			e->interrupt.injected = 1;
			e->interrupt.nr = pending & 0xff;
			e->interrupt.soft = EV_TYPE(pending) == EVT_SOFT_INT;
			break;
		case EVT_NMI:
			e->nmi.injected = 1;
			break;
		default:
			e->exception.injected = 1;
			e->exception.nr = pending & 0xff;
			e->exception.has_error_code = !!(pending & EV_ERRCODE);
			e->exception.error_code = pending >> 32;
			break;
		}
	}
	/* as KVM on SVM: the one shadow bit reads as both kinds */
	if (intr & INTR_SHADOW)
		e->interrupt.shadow = KVM_X86_SHADOW_INT_STI | KVM_X86_SHADOW_INT_MOV_SS;
	e->nmi.masked = !!(intr & INTR_NMI);
}

int kmod_events_to_fields(const struct kvm_vcpu_events *e, uint64_t old_intr,
			  uint64_t *pending, uint64_t *intr)
{
	unsigned events = !!e->exception.injected + !!e->nmi.injected + !!e->interrupt.injected;

	if (e->exception.pending || e->exception_has_payload)
		return refuse(-EINVAL, "kmod: no queue for a pending exception");
	if ((e->flags & KVM_VCPUEVENT_VALID_NMI_PENDING) && e->nmi.pending)
		return refuse(-EINVAL, "kmod: no queue for a pending NMI");
	if (events > 1)
		return refuse(-EINVAL, "kmod: one event slot, %u events injected", events);
	*pending = 0;
	if (e->exception.injected)
		*pending = EV_VALID | EVT_EXC << 8 | e->exception.nr |
			   (e->exception.has_error_code ?
			    EV_ERRCODE | (uint64_t)e->exception.error_code << 32 : 0);
	else if (e->nmi.injected)
		*pending = EV_VALID | EVT_NMI << 8 | 2;
	else if (e->interrupt.injected)
		*pending = EV_VALID | (uint64_t)(e->interrupt.soft ? EVT_SOFT_INT : EVT_EXT) << 8 |
			   e->interrupt.nr;
	*intr = old_intr & INTR_SHADOW;
	if (e->flags & KVM_VCPUEVENT_VALID_SHADOW)
		*intr = e->interrupt.shadow ? INTR_SHADOW : 0;
	if (e->nmi.masked)
		*intr |= INTR_NMI;
	return 0;
}

int kmod_get_events(struct tramp_vcpu *v, struct kvm_vcpu_events *ev)
{
	struct cused_field_val f[2] = {
		{ .id = CUSED_F_PENDING_IRQ }, { .id = CUSED_F_INTERRUPTIBILITY },
	};
	int r = tramp_kmod_ops.read_fields(v, f, 2);

	if (r)
		return r;
	kmod_events_from_fields(f[0].val, f[1].val, ev);
	return 0;
}

int kmod_set_events(struct tramp_vcpu *v, const struct kvm_vcpu_events *ev)
{
	const struct tramp_ops *ops = &tramp_kmod_ops;
	struct cused_field_val f[2] = {
		{ .id = CUSED_F_PENDING_IRQ }, { .id = CUSED_F_INTERRUPTIBILITY },
	};
	uint64_t pending, intr;
	int r = ops->read_fields(v, &f[1], 1);

	if (r)
		return r;
	r = kmod_events_to_fields(ev, f[1].val, &pending, &intr);
	if (r)
		return r;
	f[0].val = pending;
	f[1].val = intr;
	return ops->write_fields(v, f, 2);
}
