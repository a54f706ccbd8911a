/* SPDX-License-Identifier: MIT */
/* x86 VM ioctls without irqchip or fds: rules as Linux 6.1 arch/x86/kvm/x86.c */
#include <errno.h>
#include <string.h>
#include "cused/kvm/vm_misc.h"
#include "cused/kvm/vm_irq.h"
#include "cused/kvm/vm.h"
#include "cused/kvm/caps.h"
#include "cused/util/log.h"

void vm_misc_init(struct vm_misc *m, uint64_t now_ns)
{
	memset(m, 0, sizeof(*m));
	m->platform_info_readable = true;
	/* a new VM's kvmclock starts at 0 */
	m->kvmclock_offset = -(int64_t)now_ns;
}

int vm_misc_set_tss_addr(struct vm_misc *m, uint64_t addr)
{
	/* three pages below 4 GiB: KVM's (unsigned int)(-3 * PAGE_SIZE) */
	if (addr > 0xffffd000ULL)
		return refuse(-EINVAL, "KVM_SET_TSS_ADDR: %#llx leaves no room for 3 pages below 4 GiB",
			      (unsigned long long)addr);
	/* with unrestricted guests (VMX) or SVM the address is only remembered */
	m->tss_addr = addr;
	return 0;
}

int vm_misc_set_identity_map(struct vm_misc *m, uint64_t addr)
{
	if (m->created_vcpus)
		return refuse(-EINVAL, "KVM_SET_IDENTITY_MAP_ADDR after vCPUs were created");
	m->identity_map_addr = addr;
	return 0;
}

int vm_misc_set_boot_cpu_id(struct vm_misc *m, uint64_t id)
{
	if (m->created_vcpus)
		return refuse(-EBUSY, "KVM_SET_BOOT_CPU_ID after vCPUs were created");
	/* 6.1 takes any value; it only decides which vCPU is the BSP */
	m->bsp_vcpu_id = id;
	return 0;
}

int vm_misc_set_nr_mmu_pages(struct vm_misc *m, uint64_t n)
{
	if (n < VM_MIN_ALLOC_MMU_PAGES)
		return refuse(-EINVAL, "KVM_SET_NR_MMU_PAGES: %llu < %u", (unsigned long long)n,
			      VM_MIN_ALLOC_MMU_PAGES);
	/* a limit for KVM's shadow MMU; the daemon has none to apply it to */
	m->requested_mmu_pages = n;
	return 0;
}

uint64_t vm_misc_nr_mmu_pages(const struct vm_misc *m, uint64_t slot_pages, bool any_slot)
{
	uint64_t n;

	if (m->requested_mmu_pages)
		return m->requested_mmu_pages;
	/* KVM recomputes this when a slot is created or deleted; 0 before the first */
	if (!any_slot)
		return 0;
	n = slot_pages / VM_MEMSLOT_PAGES_PER_MMU_PAGE;
	return n > VM_MIN_ALLOC_MMU_PAGES ? n : VM_MIN_ALLOC_MMU_PAGES;
}

int vm_misc_vcpu_precreate(struct vm_misc *m, uint64_t id)
{
	/* the first vCPU fixes the limit for good */
	if (!m->max_vcpu_ids)
		m->max_vcpu_ids = VM_MAX_VCPU_IDS;
	if (id >= m->max_vcpu_ids)
		return refuse(-EINVAL, "KVM_CREATE_VCPU: id %llu >= KVM_CAP_MAX_VCPU_ID %u",
			      (unsigned long long)id, m->max_vcpu_ids);
	return 0;
}

int vm_misc_enable_cap(struct vm_misc *m, const struct kvm_enable_cap *cap, bool *backend)
{
	uint64_t a = cap->args[0];

	*backend = false;
	if (cap->flags)
		return refuse(-EINVAL, "KVM_ENABLE_CAP: flags %#x must be 0", cap->flags);
	switch (cap->cap) {
	case KVM_CAP_DISABLE_QUIRKS2:
		if (a & ~VM_VALID_QUIRKS)
			return refuse(-EINVAL, "KVM_CAP_DISABLE_QUIRKS2: unknown quirks %#llx",
				      (unsigned long long)(a & ~VM_VALID_QUIRKS));
		/* fall through */
	case KVM_CAP_DISABLE_QUIRKS:
		/* the original cap takes any bits; vCPUs read them without the VM lock */
		__atomic_store_n(&m->disabled_quirks, a, __ATOMIC_RELAXED);
		return 0;
	case KVM_CAP_X2APIC_API:
		if (a & ~(uint64_t)VM_X2APIC_API_VALID)
			return refuse(-EINVAL, "KVM_CAP_X2APIC_API: unknown flags %#llx",
				      (unsigned long long)a);
		m->x2apic_api |= a;
		return 0;
	case KVM_CAP_X86_DISABLE_EXITS:
		if (a & ~(uint64_t)VM_DISABLE_VALID_EXITS)
			return refuse(-EINVAL, "KVM_CAP_X86_DISABLE_EXITS: unknown exits %#llx",
				      (unsigned long long)a);
		if (a & ~(uint64_t)VM_DISABLE_EXITS_OFFERED)
			return refuse(-EINVAL, "KVM_CAP_X86_DISABLE_EXITS: %#llx: cused cannot keep "
				      "HLT or MWAIT inside the guest (offered: %#x)",
				      (unsigned long long)a, VM_DISABLE_EXITS_OFFERED);
		m->disabled_exits |= a;
		return 0;
	case KVM_CAP_EXCEPTION_PAYLOAD:
		m->exception_payload = !!a;
		*backend = true;
		return 0;
	case KVM_CAP_EXIT_ON_EMULATION_FAILURE:
		if (a & ~1ULL)
			return refuse(-EINVAL, "KVM_CAP_EXIT_ON_EMULATION_FAILURE: %#llx",
				      (unsigned long long)a);
		/* without it KVM also queues #UD for the failed instruction: a host's doing */
		m->exit_on_emulation_error = a;
		*backend = true;
		return 0;
	case KVM_CAP_MSR_PLATFORM_INFO:
		/* every vCPU's MSR file looks at this (msr.c read_rule) */
		__atomic_store_n(&m->platform_info_readable, !!a, __ATOMIC_RELAXED);
		return 0;
	case KVM_CAP_X86_USER_SPACE_MSR:
		if (a & ~(uint64_t)(KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
				    KVM_MSR_EXIT_REASON_FILTER))
			return refuse(-EINVAL, "KVM_CAP_X86_USER_SPACE_MSR: unknown reasons %#llx",
				      (unsigned long long)a);
		/* vcpu_msr_exit.c reads it on every refused guest MSR access */
		__atomic_store_n(&m->user_space_msr, (uint32_t)a, __ATOMIC_RELAXED);
		return 0;
	case KVM_CAP_MAX_VCPU_ID:
		if (a > VM_MAX_VCPU_IDS)
			return refuse(-EINVAL, "KVM_CAP_MAX_VCPU_ID: %llu > %u",
				      (unsigned long long)a, VM_MAX_VCPU_IDS);
		/* once set (or fixed by the first vCPU) only the same value is accepted */
		if (m->max_vcpu_ids == a)
			return 0;
		if (m->max_vcpu_ids)
			return refuse(-EINVAL, "KVM_CAP_MAX_VCPU_ID: already %u", m->max_vcpu_ids);
		m->max_vcpu_ids = a;
		return 0;
	default:
		return refuse(-EINVAL, "KVM_ENABLE_CAP: capability %u cannot be enabled", cap->cap);
	}
}

static long enable_cap(struct vm *vm, struct ioctl_req *rq)
{
	const struct kvm_enable_cap *cap = req_in(rq, sizeof(*cap));
	const struct tramp_ops *ops = vm->ctx->ops;
	struct vm_misc old = vm->misc;
	bool backend;
	long r;

	if (!cap)
		return -EFAULT;
	/* pending exceptions with payloads need a backend that queues them */
	if (!cap->flags && cap->cap == KVM_CAP_EXCEPTION_PAYLOAD && !vm->ctx->caps.events_queue)
		return refuse(-EINVAL, "KVM_CAP_EXCEPTION_PAYLOAD: backend %s cannot queue "
			      "exceptions", ops->name);
	r = vm_misc_enable_cap(&vm->misc, cap, &backend);
	if (!r && backend && ops->vm_enable_cap) {
		r = ops->vm_enable_cap(vm->tvm, cap);
		if (r) {
			vm->misc = old;
			r = refuse(r, "KVM_ENABLE_CAP %u: backend %s refused: %ld", cap->cap,
				   ops->name, r);
		}
	}
	return r;
}

static long nr_mmu_pages(struct vm *vm)
{
	uint64_t pages = 0, n;
	struct memslot *s;
	unsigned i;

	for (i = 0; (s = memslot_at(&vm->slots, i)); i++)
		pages += s->size >> 12;
	n = vm_misc_nr_mmu_pages(&vm->misc, pages, i > 0);
	/* KVM returns it as an int from the ioctl */
	return (int)n;
}

/* the backend's shadow MMU, if it has one, takes the limit too */
static long set_nr_mmu_pages(struct vm *vm, uint64_t n)
{
	const struct tramp_ops *ops = vm->ctx->ops;
	uint64_t old = vm->misc.requested_mmu_pages;
	int r = vm_misc_set_nr_mmu_pages(&vm->misc, n);

	if (r || !ops->vm_set_mmu_pages)
		return r;
	r = ops->vm_set_mmu_pages(vm->tvm, n);
	if (r) {
		vm->misc.requested_mmu_pages = old;
		return refuse(r, "KVM_SET_NR_MMU_PAGES: backend %s refused %llu: %d", ops->name,
			      (unsigned long long)n, r);
	}
	return 0;
}

static long locked(struct vm *vm, struct ioctl_req *rq)
{
	switch (rq->cmd) {
	case KVM_SET_TSS_ADDR:
		return vm_misc_set_tss_addr(&vm->misc, rq->arg);
	case KVM_SET_IDENTITY_MAP_ADDR: {
		const uint64_t *addr = req_in(rq, sizeof(*addr));

		if (vm->misc.created_vcpus)
			return vm_misc_set_identity_map(&vm->misc, 0);
		return addr ? vm_misc_set_identity_map(&vm->misc, *addr) : -EFAULT;
	}
	case KVM_SET_BOOT_CPU_ID:
		return vm_misc_set_boot_cpu_id(&vm->misc, rq->arg);
	case KVM_SET_NR_MMU_PAGES:
		return set_nr_mmu_pages(vm, rq->arg);
	case KVM_GET_NR_MMU_PAGES:
		return nr_mmu_pages(vm);
	case KVM_GET_CLOCK: {
		struct kvm_clock_data *d = req_out(rq, sizeof(*d));

		if (!d)
			return -EFAULT;
		struct kvmclock_sample s;

		kvmclock_sample(&vm->misc.clock, &s);
		kvmclock_get(&vm->misc, &s, d);
		return 0;
	}
	case KVM_SET_CLOCK: {
		const struct kvm_clock_data *d = req_in(rq, sizeof(*d));

		struct kvmclock_sample s;

		if (!d)
			return -EFAULT;
		kvmclock_sample(&vm->misc.clock, &s);
		return kvmclock_set(&vm->misc, &s, d) ?
			refuse(-EINVAL, "KVM_SET_CLOCK: flags %#x", d->flags) : 0;
	}
	case KVM_ENABLE_CAP:
		return enable_cap(vm, rq);
	case KVM_CHECK_EXTENSION:
		/* as in KVM, even KVM_CAP_MAX_VCPU_ID does not reflect the VM's limit */
		return caps_check(vm->ctx, rq->arg);
	default:
		return refuse(-ENOTTY, "VM ioctl %#x not implemented", rq->cmd);
	}
}

long vm_misc_ioctl(struct vm *vm, struct ioctl_req *rq)
{
	const struct kvm_enable_cap *cap =
		rq->cmd == KVM_ENABLE_CAP ? req_in(rq, sizeof(*cap)) : NULL;
	long r;

	/* the irqchip's caps take vm->lock themselves (vm_irq.c) */
	if (cap && !cap->flags && cap->cap == KVM_CAP_SPLIT_IRQCHIP &&
	    vm_irq_enable_cap(vm, cap, &r))
		return r;
	pthread_mutex_lock(&vm->lock);
	r = locked(vm, rq);
	pthread_mutex_unlock(&vm->lock);
	/* the LAPICs format x2APIC IDs by the flags set so far (they only accumulate) */
	if (!r && cap && cap->cap == KVM_CAP_X2APIC_API) {
		struct kvm_enable_cap all = *cap;

		all.args[0] = vm->misc.x2apic_api;
		vm_irq_enable_cap(vm, &all, &r);
	}
	return r;
}
