/* SPDX-License-Identifier: MIT */
/* Hyper-V ioctls: KVM_GET_SUPPORTED_HV_CPUID on /dev/kvm and on a vCPU */
#ifndef CUSED_KVM_HYPERV_IOCTL_H
#define CUSED_KVM_HYPERV_IOCTL_H

#include <stdbool.h>
#include "cused/kvm/ioctl.h"

/*
 * KVM_GET_SUPPORTED_HV_CPUID (kvm_ioctl_get_supported_hv_cpuid): -E2BIG when
 * nent is below the 10 leaves (nothing written), else the leaves and nent 10
 * back; -EFAULT when the client's buffer is not writable.  lapic: the vCPU
 * has an in-daemon LAPIC, or the call came on /dev/kvm (no vCPU).
 */
long hv_ioctl_get_supported_cpuid(struct ioctl_req *rq, bool lapic);

#endif
