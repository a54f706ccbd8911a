/* SPDX-License-Identifier: MIT */
/* A VM: its memslots, its backend VM, and the vCPU ids handed out so far. */
#ifndef CUSED_KVM_VM_H
#define CUSED_KVM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/ioctl.h"
#include "cused/mmu/memslot.h"
#include "cused/kvm/msr_filter.h"
#include "cused/kvm/vm_misc.h"
#include "cused/kvm/coalesced.h"
#include "cused/x86/hyperv_msr.h"

#define CUSED_MAX_VCPUS 64        /* KVM_CAP_MAX_VCPUS */
#define CUSED_MAX_VCPU_IDS 4096   /* KVM_CAP_MAX_VCPU_ID, as x86 KVM */

struct vm {
	struct cused_ctx *ctx;
	uid_t uid;         /* creator: the VM and its vCPUs are charged to it */
	pid_t pid;         /* creator's thread: KVM's stats id "kvm-<pid>" (statsfd.c) */
	atomic_int refs;
	/* memslots and vCPU ids; vCPU threads take it to read guest memory */
	pthread_mutex_t lock;
	struct tramp_vm *tvm;
	struct memslot_table slots;
	uint32_t vcpu_ids[CUSED_MAX_VCPUS];
	unsigned nr_vcpus;
	struct vm_misc misc;          /* vm_misc.c; under lock */
	struct irqchip *irqchip;   /* in-daemon PIC/IOAPIC/PIT/LAPICs (cused/irq/irqchip.h) */
	struct irqfd_set *irqfds;     /* vm_evfd.c; own locks */
	struct ioeventfd_set *ioeventfds;
	pthread_mutex_t evfd_lock;    /* vm_evfd.c: KVM_IRQFD/IOEVENTFD one at a time */
	unsigned evfd_charged;        /* client fds charged to uid for them (limits.h) */
	struct coalesced coalesced;   /* coalesced.c; own lock */
	void *ring;                   /* its ring page, mapped from the shim's memfd */
	uint64_t kvm_wall_clock;   /* MSR_KVM_WALL_CLOCK: the VM's in KVM; msr.c, relaxed atomics */
	struct msr_filter_ref msr_filter;   /* KVM_X86_SET_MSR_FILTER (msr_filter.c) */
	struct hv_vm hv;              /* Hyper-V partition state (cused/x86/hyperv_msr.h) */
};

/* KVM_CREATE_VM for uid; -ENOMEM over the uid's VM cap (limits.h) */
int vm_create(struct cused_ctx *ctx, uid_t uid, uint64_t type, struct vm **out);
void vm_get(struct vm *vm);
void vm_put(struct vm *vm);

/* KVM_SET_USER_MEMORY_REGION with the client's backing fd (see shim_abi.h) */
int vm_set_memory(struct vm *vm, const struct kvm_userspace_memory_region *r,
		  pid_t pid, int client_fd, uint64_t fd_offset);
/* reserve a vCPU id (KVM's EINVAL / EEXIST rules) or give it back */
int vm_reserve_vcpu_id(struct vm *vm, uint64_t id);
void vm_release_vcpu_id(struct vm *vm, uint32_t id);
bool vm_has_vcpus(struct vm *vm);

/* the gpa is inside a slot whose memory the daemon could not map */
bool vm_gpa_unbacked(struct vm *vm, uint64_t gpa);
/* guest-physical access for the daemon's own emulation */
struct walk_mem;
/* the page walker's view of this VM's memory (cused/mmu/walk.h) */
struct walk_mem vm_walk_mem(struct vm *vm);
int vm_read_phys(struct vm *vm, uint64_t gpa, void *buf, size_t len);
int vm_write_phys(struct vm *vm, uint64_t gpa, const void *buf, size_t len);

struct cused_handle;
long vm_ioctl(struct vm *vm, struct cused_handle *h, struct ioctl_req *rq);

#endif
