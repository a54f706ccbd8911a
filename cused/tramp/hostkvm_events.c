/* SPDX-License-Identifier: MIT */
/*
 * Event-injection and interruptibility fields in their VMX encodings (what
 * the trampoline ABI speaks) <-> the host's struct kvm_vcpu_events and
 * mp_state (what KVM speaks).
 */
#include <errno.h>
#include <sys/ioctl.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

/* VMX interruption-information and interruptibility encodings (SDM 24.8.3, 24.4.2) */
#define INTR_VALID        (1u << 31)
#define INTR_ERRCODE      (1u << 11)
#define INTR_TYPE(v)      (((v) >> 8) & 7)
#define INTR_TYPE_EXT     0
#define INTR_TYPE_NMI     2
#define INTR_TYPE_HW_EXC  3
#define INTR_TYPE_SW_INT  4
#define INTR_TYPE_SW_EXC  6
#define BLOCK_STI         (1u << 0)
#define BLOCK_MOV_SS      (1u << 1)
#define BLOCK_NMI         (1u << 3)

/* VMX activity states */
#define ACT_ACTIVE   0
#define ACT_HLT      1
#define ACT_SHUTDOWN 2
#define ACT_SIPI     3

/* the one event the next entry delivers, in VMX entry-information form */
uint64_t hk_pending_get(const struct kvm_vcpu_events *e)
{
	uint32_t type;

	if (e->exception.injected || e->exception.pending) {
		/* #BP and #OF come from INT3/INTO: software exceptions */
		type = e->exception.nr == 3 || e->exception.nr == 4 ? INTR_TYPE_SW_EXC :
								       INTR_TYPE_HW_EXC;
		return INTR_VALID | type << 8 | e->exception.nr |
		       (e->exception.has_error_code ? INTR_ERRCODE : 0);
	}
	if (e->nmi.injected)
		return INTR_VALID | INTR_TYPE_NMI << 8 | 2;
	if (e->interrupt.injected)
		return INTR_VALID | (e->interrupt.soft ? INTR_TYPE_SW_INT : INTR_TYPE_EXT) << 8 |
		       e->interrupt.nr;
	return 0;
}

int hk_pending_set(struct kvm_vcpu_events *e, uint64_t val)
{
	uint32_t type = INTR_TYPE(val);

	e->exception.injected = e->exception.pending = 0;
	e->nmi.injected = 0;
	e->interrupt.injected = 0;
	if (!(val & INTR_VALID))
		return 0;
	switch (type) {
	case INTR_TYPE_EXT:
	case INTR_TYPE_SW_INT:
		e->interrupt.injected = 1;
		e->interrupt.nr = val & 0xff;
		e->interrupt.soft = type == INTR_TYPE_SW_INT;
		return 0;
	case INTR_TYPE_NMI:
		e->nmi.injected = 1;
		return 0;
	case INTR_TYPE_HW_EXC:
	case INTR_TYPE_SW_EXC:
		e->exception.injected = 1;
		e->exception.nr = val & 0xff;
		/* the error code itself has no field in the ABI; KVM keeps the old one */
		e->exception.has_error_code = !!(val & INTR_ERRCODE);
		return 0;
	default:
		return refuse(-EINVAL, "hostkvm: PENDING_IRQ type %u not supported", type);
	}
}

uint64_t hk_interruptibility_get(const struct kvm_vcpu_events *e)
{
	return (e->interrupt.shadow & KVM_X86_SHADOW_INT_STI ? BLOCK_STI : 0) |
	       (e->interrupt.shadow & KVM_X86_SHADOW_INT_MOV_SS ? BLOCK_MOV_SS : 0) |
	       (e->nmi.masked ? BLOCK_NMI : 0);
}

int hk_interruptibility_set(struct kvm_vcpu_events *e, uint64_t val)
{
	if (val & ~(uint64_t)(BLOCK_STI | BLOCK_MOV_SS | BLOCK_NMI))
		return refuse(-EINVAL, "hostkvm: interruptibility %#llx not supported",
			      (unsigned long long)val);
	e->interrupt.shadow = (val & BLOCK_STI ? KVM_X86_SHADOW_INT_STI : 0) |
			      (val & BLOCK_MOV_SS ? KVM_X86_SHADOW_INT_MOV_SS : 0);
	e->nmi.masked = !!(val & BLOCK_NMI);
	e->flags |= KVM_VCPUEVENT_VALID_SHADOW;
	return 0;
}

/* activity state lives in the host's mp_state; no cache, it is rarely moved */
int hk_activity_get(struct tramp_vcpu *v, __u64 *val)
{
	struct kvm_mp_state mp;
	int r = tramp_ioctl(v->fd, KVM_GET_MP_STATE, &mp);

	if (r)
		return r;
	*val = mp.mp_state == KVM_MP_STATE_HALTED ? ACT_HLT :
	       mp.mp_state == KVM_MP_STATE_INIT_RECEIVED ? ACT_SIPI : ACT_ACTIVE;
	return 0;
}

int hk_activity_set(struct tramp_vcpu *v, uint64_t val)
{
	struct kvm_mp_state mp;

	switch (val) {
	case ACT_ACTIVE: mp.mp_state = KVM_MP_STATE_RUNNABLE; break;
	case ACT_HLT:    mp.mp_state = KVM_MP_STATE_HALTED; break;
	case ACT_SIPI:   mp.mp_state = KVM_MP_STATE_INIT_RECEIVED; break;
	default:
		return refuse(-EINVAL, "hostkvm: activity state %llu not supported",
			      (unsigned long long)val);
	}
	/* without an in-kernel LAPIC the host accepts only RUNNABLE */
	return tramp_ioctl(v->fd, KVM_SET_MP_STATE, &mp);
}
