/* SPDX-License-Identifier: MIT */
/* VM ioctls of the in-daemon irqchip (vm_irq.h); errno as Linux 6.1 x86.c */
#include <errno.h>
#include "cused/kvm/vm_irq.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/vm_evfd.h"
#include "cused/irq/apic_bus.h"
#include "cused/irq/irqchip.h"
#include "cused/util/log.h"

/* run fn with vm->lock held and "vCPUs exist" (KVM's kvm->created_vcpus) */
static int with_vcpus_frozen(struct vm *vm, int (*fn)(struct irqchip *, uint64_t, bool),
			     uint64_t arg)
{
	int r;

	pthread_mutex_lock(&vm->lock);
	r = fn(vm->irqchip, arg, vm->nr_vcpus > 0);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int create_kernel(struct irqchip *c, uint64_t arg, bool have_vcpus)
{
	(void)arg;
	return irqchip_create_kernel(c, have_vcpus);
}

bool vm_irq_ioctl(struct vm *vm, struct ioctl_req *rq, long *ret)
{
	switch (rq->cmd) {
	case KVM_CREATE_IRQCHIP:
		*ret = with_vcpus_frozen(vm, create_kernel, 0);
		if (*ret)
			*ret = refuse(*ret, "KVM_CREATE_IRQCHIP: %s", *ret == -EEXIST ?
				      "an irqchip exists" : "refused (vCPUs exist?)");
		else
			vm_evfd_irqchip_created(vm);
		return true;
	case KVM_SET_BOOT_CPU_ID:
		*ret = with_vcpus_frozen(vm, irqchip_set_boot_cpu, rq->arg);
		return true;
	default:
		return irqchip_vm_ioctl(vm->irqchip, rq, ret);
	}
}

bool vm_irq_enable_cap(struct vm *vm, const struct kvm_enable_cap *cap, long *ret)
{
	switch (cap->cap) {
	case KVM_CAP_SPLIT_IRQCHIP:
		*ret = with_vcpus_frozen(vm, irqchip_create_split, cap->args[0]);
		if (*ret)
			*ret = refuse(*ret, "KVM_CAP_SPLIT_IRQCHIP: refused (%ld)", *ret);
		else
			vm_evfd_irqchip_created(vm);
		return true;
	case KVM_CAP_X2APIC_API:
		if (cap->args[0] & ~(uint64_t)(KVM_X2APIC_API_USE_32BIT_IDS |
					       KVM_X2APIC_API_DISABLE_BROADCAST_QUIRK)) {
			*ret = refuse(-EINVAL, "KVM_CAP_X2APIC_API: flags %#llx",
				      (unsigned long long)cap->args[0]);
			return true;
		}
		pthread_mutex_lock(&vm->irqchip->lock);
		vm->irqchip->x2apic_api = (uint32_t)cap->args[0];
		if (vm->irqchip->bus)
			apic_bus_set_x2apic_api(vm->irqchip->bus, vm->irqchip->x2apic_api);
		pthread_mutex_unlock(&vm->irqchip->lock);
		*ret = 0;
		return true;
	default:
		return false;
	}
}
