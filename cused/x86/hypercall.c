/* SPDX-License-Identifier: MIT */
/* KVM's hypercall ABI; see hypercall.h */
#include <string.h>
#include "cused/x86/hypercall.h"

static const uint8_t vmcall[HYPERCALL_INSN_LEN] = { 0x0f, 0x01, 0xc1 };
static const uint8_t vmmcall[HYPERCALL_INSN_LEN] = { 0x0f, 0x01, 0xd9 };

/* guest_pv_has: without enforcement every feature counts as present */
static bool pv_has(const struct hypercall_in *in, unsigned bit)
{
	return !in->pv_enforce || (in->pv_features & (1u << bit));
}

uint64_t hypercall_answer(const struct hypercall_in *in)
{
	uint64_t nr = in->op_64_bit ? in->nr : (uint32_t)in->nr;
	uint64_t ret;

	if (in->cpl != 0) {
		ret = -(uint64_t)KVM_EPERM;
		goto out;
	}
	switch (nr) {
	case KVM_HC_VAPIC_POLL_IRQ:
		ret = 0;
		break;
	case KVM_HC_KICK_CPU:
	case KVM_HC_SCHED_YIELD:
		/*
		 * KVM wakes the halted target (kick) and yields to it; both are
		 * hints a guest only sends with PV_UNHALT/PV_SCHED_YIELD, which
		 * cused never offers, so a guest that sends them anyway gets
		 * KVM's success without the (optional) yield.
		 */
		ret = pv_has(in, nr == KVM_HC_KICK_CPU ? KVM_FEATURE_PV_UNHALT :
				 KVM_FEATURE_PV_SCHED_YIELD) ? 0 : -(uint64_t)KVM_ENOSYS;
		break;
	case KVM_HC_CLOCK_PAIRING:
		/* KVM's answer on a host whose clocksource is not the TSC */
		ret = -(uint64_t)KVM_EOPNOTSUPP;
		break;
	default:
		/*
		 * SEND_IPI needs the daemon's APIC bus in this path (not offered);
		 * MAP_GPA_RANGE needs KVM_CAP_EXIT_HYPERCALL (not offered); the
		 * rest are unknown to KVM too.
		 */
		ret = -(uint64_t)KVM_ENOSYS;
		break;
	}
out:
	return in->op_64_bit ? ret : (uint32_t)ret;
}

bool hypercall_insn_is(const uint8_t *bytes, size_t n)
{
	return n >= HYPERCALL_INSN_LEN && (!memcmp(bytes, vmcall, HYPERCALL_INSN_LEN) ||
					   !memcmp(bytes, vmmcall, HYPERCALL_INSN_LEN));
}

void hypercall_insn_native(bool intel, uint8_t out[HYPERCALL_INSN_LEN])
{
	memcpy(out, intel ? vmcall : vmmcall, HYPERCALL_INSN_LEN);
}
