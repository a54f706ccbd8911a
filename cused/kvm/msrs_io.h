/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_MSRS / KVM_SET_MSRS share one shape on the system fd (feature
 * MSRs) and the vCPU fd: a struct kvm_msrs header, entries processed in
 * order, the count of successful ones returned.
 */
#ifndef CUSED_KVM_MSRS_IO_H
#define CUSED_KVM_MSRS_IO_H

#include <stdbool.h>
#include <stdint.h>
#include "cused/kvm/ioctl.h"

typedef int (*msr_one_fn)(void *ctx, uint32_t index, uint64_t *val, bool set);

long msrs_ioctl(struct ioctl_req *rq, bool set, msr_one_fn one, void *ctx);

#endif
