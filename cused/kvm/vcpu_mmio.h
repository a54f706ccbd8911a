/* SPDX-License-Identifier: MIT */
#ifndef CUSED_KVM_VCPU_MMIO_H
#define CUSED_KVM_VCPU_MMIO_H

#include <stdint.h>
#include "cused/tramp/backend.h"

struct vcpu;

/* turn a TX_NPF into TX_MMIO (or TX_INTERNAL if the instruction is not emulatable) */
int mmio_begin(struct vcpu *v, struct tramp_exit *ex);
/* the client answered: apply a load's data, step RIP over the instruction */
int mmio_finish(struct vcpu *v, const uint8_t data[8]);

/*
 * TX_MOV_DR: decode MOV to/from DRn at RIP, move the value between the GPR
 * and the backend's stored DRn, step RIP; ex becomes TX_NONE, or
 * TX_INTERNAL (emulation error) if RIP holds no such MOV.  0 or -errno
 * from the backend.
 */
int mov_dr_emulate(struct vcpu *v, struct tramp_exit *ex);

/*
 * ex becomes KVM's emulation failure (prepare_emulation_failure_exit):
 * internal.data[0] the flags, with the n bytes fetched (insn_size, then 15
 * bytes padded with NOPs) in data[1..2] when n > 0, then the five words of
 * kvm_x86_get_exit_info for the NPF at gpa (the emulation_failure layout
 * the selftests' emulator_error_test reads).
 */
void mmio_emulation_failure(struct tramp_exit *ex, const uint8_t *insn, size_t n,
			    uint64_t gpa, bool write);
#endif
