/* SPDX-License-Identifier: MIT */
/*
 * The VM ioctls of the in-daemon irqchip (cused/irq/irqchip.h), with the
 * VM-level serialisation KVM does under kvm->lock: an irqchip is created
 * only while no vCPU exists (vm->lock covers both).
 */
#ifndef CUSED_KVM_VM_IRQ_H
#define CUSED_KVM_VM_IRQ_H

#include <stdbool.h>
#include <linux/kvm.h>

struct vm;
struct ioctl_req;

/* KVM_CREATE_IRQCHIP, KVM_SET_BOOT_CPU_ID and irqchip_vm_ioctl()'s set;
 * false: not one of them, *ret untouched */
bool vm_irq_ioctl(struct vm *vm, struct ioctl_req *rq, long *ret);
/* KVM_ENABLE_CAP of KVM_CAP_SPLIT_IRQCHIP / KVM_CAP_X2APIC_API; false: not one of them */
bool vm_irq_enable_cap(struct vm *vm, const struct kvm_enable_cap *cap, long *ret);

#endif
