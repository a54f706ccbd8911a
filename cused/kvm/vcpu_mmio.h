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

#endif
