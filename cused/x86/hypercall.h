/* SPDX-License-Identifier: MIT */
/*
 * KVM's hypercall ABI (arch/x86/kvm/x86.c kvm_emulate_hypercall, Linux 6.1):
 * nr in RAX, arguments in RBX, RCX, RDX, RSI, the answer in RAX, and the
 * VMCALL/VMMCALL patching quirk (emulator_fix_hypercall).
 */
#ifndef CUSED_X86_HYPERCALL_H
#define CUSED_X86_HYPERCALL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* include/uapi/linux/kvm_para.h */
#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU       5
#define KVM_HC_CLOCK_PAIRING  9
#define KVM_HC_SEND_IPI       10
#define KVM_HC_SCHED_YIELD    11
#define KVM_HC_MAP_GPA_RANGE  12
#define KVM_ENOSYS            1000
#define KVM_EFAULT            14
#define KVM_EINVAL            22
#define KVM_E2BIG             7
#define KVM_EPERM             1
#define KVM_EOPNOTSUPP        95
/* CPUID 0x40000001 EAX bits the hypercalls above depend on */
#define KVM_FEATURE_PV_UNHALT      7
#define KVM_FEATURE_PV_SEND_IPI    11
#define KVM_FEATURE_PV_SCHED_YIELD 13

#define HYPERCALL_INSN_LEN 3

struct hypercall_in {
	uint64_t nr, a0, a1, a2, a3;  /* RAX, RBX, RCX, RDX, RSI as the guest left them */
	unsigned cpl;
	bool op_64_bit;               /* long mode with CS.L: else all of them are 32-bit */
	bool pv_enforce;              /* KVM_CAP_ENFORCE_PV_FEATURE_CPUID */
	uint32_t pv_features;         /* the guest's CPUID 0x40000001 EAX */
};

/*
 * The value kvm_emulate_hypercall leaves in RAX (the caller then moves RIP
 * past the instruction).  cused implements none of KVM's PV operations
 * that need another vCPU (kick, IPI), and offers none of their CPUID bits:
 * such a call is -KVM_ENOSYS unless the guest ignores its CPUID and KVM
 * would have answered without touching state (see hypercall.c).
 */
uint64_t hypercall_answer(const struct hypercall_in *in);

/*
 * A #UD at bytes (n valid): true when they are VMCALL or VMMCALL, the
 * instructions KVM's emulator takes as a hypercall (em_hypercall).
 */
bool hypercall_insn_is(const uint8_t *bytes, size_t n);
/* the silicon's own hypercall instruction (kvm_x86_patch_hypercall): VMCALL on Intel, else VMMCALL */
void hypercall_insn_native(bool intel, uint8_t out[HYPERCALL_INSN_LEN]);

#endif
