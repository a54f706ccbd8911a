/* SPDX-License-Identifier: MIT */
/*
 * hostkvm VMs: one host VM each, with every guest MSR access routed to the
 * daemon, and host memslots mirroring the daemon's map()/unmap().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cused/tramp/hostkvm.h"
#include "cused/tramp/dirty_flat.h"
#include "cused/util/log.h"

#define PAGE_SHIFT 12

/*
 * Deny every guest RDMSR/WRMSR so the host exits to us and the daemon's MSR
 * table decides.  KVM rejects a deny-all filter with no ranges, so give it
 * one range whose bitmap denies too; everything outside is denied by
 * default.  KVM itself exempts x2APIC MSRs (0x800-0x8ff) from filtering; with
 * no in-kernel LAPIC those are unknown to the host and still reach us as
 * KVM_MSR_EXIT_REASON_UNKNOWN.
 */
static int msrs_to_userspace(int vm_fd)
{
	static const uint8_t deny[1];   /* read-only bitmap: all zero = deny */
	struct kvm_enable_cap cap = {
		.cap = KVM_CAP_X86_USER_SPACE_MSR,
		.args[0] = KVM_MSR_EXIT_REASON_INVAL | KVM_MSR_EXIT_REASON_UNKNOWN |
			   KVM_MSR_EXIT_REASON_FILTER,
	};
	struct kvm_msr_filter filter = {
		.flags = KVM_MSR_FILTER_DEFAULT_DENY,
		.ranges[0] = {
			.flags = KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE,
			.nmsrs = 8,
			.base = 0,
			.bitmap = (uint8_t *)deny,
		},
	};
	int r;

	r = tramp_ioctl(vm_fd, KVM_ENABLE_CAP, &cap);
	if (r)
		return refuse(r, "hostkvm: KVM_CAP_X86_USER_SPACE_MSR: %d", r);
	r = tramp_ioctl(vm_fd, KVM_X86_SET_MSR_FILTER, &filter);
	if (r)
		return refuse(r, "hostkvm: KVM_X86_SET_MSR_FILTER: %d", r);
	return 0;
}

int hk_vm_create(struct tramp_backend *be, struct tramp_vm **out)
{
	struct tramp_vm *vm = calloc(1, sizeof(*vm));
	int r;

	if (!vm)
		return -ENOMEM;
	vm->be = be;
	vm->fd = ioctl(be->kvm_fd, KVM_CREATE_VM, 0);
	if (vm->fd < 0) {
		r = refuse(-errno, "hostkvm: host KVM_CREATE_VM failed: %d", -errno);
		free(vm);
		return r;
	}
	r = msrs_to_userspace(vm->fd);
	if (r) {
		close(vm->fd);
		free(vm);
		return r;
	}
	pthread_mutex_init(&vm->lock, NULL);
	*out = vm;
	return 0;
}

void hk_vm_destroy(struct tramp_vm *vm)
{
	if (!vm)
		return;
	/* host memslots go with the host VM; only our side needs freeing */
	free(vm->slots);
	close(vm->fd);
	pthread_mutex_destroy(&vm->lock);
	free(vm);
}

static struct hk_slot *slot_find(struct tramp_vm *vm, uint32_t slot)
{
	for (unsigned i = 0; i < vm->nslots; i++)
		if (vm->slots[i].slot == slot)
			return &vm->slots[i];
	return NULL;
}

static size_t dirty_words(uint64_t size)
{
	return ((size >> PAGE_SHIFT) + 63) / 64;
}

static int host_set_slot(struct tramp_vm *vm, uint32_t slot, uint32_t kflags, uint64_t gpa,
			 uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = kflags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uintptr_t)hva,
	};

	return tramp_ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

int hk_map(struct tramp_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size, void *hva,
	   uint32_t flags)
{
	uint32_t kflags = 0;
	struct hk_slot *s;
	int r;

	if (!size || (gpa | size | (uintptr_t)hva) & ((1u << PAGE_SHIFT) - 1))
		return refuse(-EINVAL, "hostkvm: map slot %u: unaligned or empty range", slot);
	if (vm->be->max_memslots && slot >= vm->be->max_memslots)
		return refuse(-EINVAL, "hostkvm: map slot %u: host has only %u memslots", slot,
			      vm->be->max_memslots);
	if (!(flags & CUSED_MAP_WRITE)) {
		if (!vm->be->readonly_mem)
			return refuse(-EOPNOTSUPP, "hostkvm: map slot %u: host has no read-only memslots",
				      slot);
		kflags |= KVM_MEM_READONLY;
	}
	if (flags & CUSED_MAP_LOG_DIRTY)
		kflags |= KVM_MEM_LOG_DIRTY_PAGES;
	pthread_mutex_lock(&vm->lock);
	r = -EEXIST;
	if (slot_find(vm, slot))
		goto out;
	r = -ENOMEM;
	if (vm->nslots == vm->cap) {
		unsigned cap = vm->cap ? vm->cap * 2 : 8;
		struct hk_slot *n = realloc(vm->slots, cap * sizeof(*n));

		if (!n)
			goto out;
		vm->slots = n;
		vm->cap = cap;
	}
	r = host_set_slot(vm, slot, kflags, gpa, size, hva);
	if (r) {
		r = refuse(r, "hostkvm: host memslot %u gpa %#llx size %#llx: %d", slot,
			   (unsigned long long)gpa, (unsigned long long)size, r);
		goto out;
	}
	s = &vm->slots[vm->nslots++];
	*s = (struct hk_slot){ .slot = slot, .flags = flags, .gpa = gpa, .size = size,
			       .hva = hva, .log_dirty = !!(flags & CUSED_MAP_LOG_DIRTY) };
out:
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int hk_unmap(struct tramp_vm *vm, uint32_t slot)
{
	struct hk_slot *s;
	int r;

	pthread_mutex_lock(&vm->lock);
	s = slot_find(vm, slot);
	if (!s) {
		pthread_mutex_unlock(&vm->lock);
		return -ENOENT;
	}
	/* size 0 deletes the host slot */
	r = host_set_slot(vm, slot, 0, s->gpa, 0, s->hva);
	if (!r)
		*s = vm->slots[--vm->nslots];
	pthread_mutex_unlock(&vm->lock);
	return r;
}

struct host_log {
	int vm_fd;
	uint32_t slot;
};

static int host_get_log(void *arg, uint64_t *buf)
{
	struct host_log *h = arg;
	struct kvm_dirty_log log = { .slot = h->slot, .dirty_bitmap = buf };

	/* the host clears and re-protects on every GET_DIRTY_LOG */
	return tramp_ioctl(h->vm_fd, KVM_GET_DIRTY_LOG, &log);
}

int hk_dirty_collect(struct tramp_vm *vm, uint32_t slot, tramp_dirty_sink *sink, void *opaque)
{
	struct host_log h = { vm->fd, slot };
	struct hk_slot *s;
	int r;

	pthread_mutex_lock(&vm->lock);
	s = slot_find(vm, slot);
	r = !s ? -ENOENT : !s->log_dirty ? -ENOENT : 0;
	if (!r)
		r = tramp_dirty_flat(dirty_words(s->size), host_get_log, &h, sink, opaque);
	pthread_mutex_unlock(&vm->lock);
	return r;
}
