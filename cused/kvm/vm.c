/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cused/kvm/vm.h"
#include "cused/shim_abi.h"
#include "cused/kvm/caps.h"
#include "cused/kvm/guestmem.h"
#include "cused/kvm/handle.h"
#include "cused/kvm/vm_evfd.h"
#include "cused/mmu/dirty.h"
#include "cused/mmu/walk.h"
#include "cused/kvm/vm_irq.h"
#include "cused/irq/irqchip.h"
#include "cused/util/log.h"

int vm_create(struct cused_ctx *ctx, uid_t uid, uint64_t type, struct vm **out)
{
	struct vm *vm;
	struct kvmclock_master mc;
	int r;

	/* x86 KVM knows only KVM_X86_DEFAULT_VM (0) in the API we serve */
	if (type)
		return refuse(-EINVAL, "KVM_CREATE_VM: unsupported VM type %llu",
			      (unsigned long long)type);
	if (ctx_charge(ctx, uid, 1, 0))
		return refuse(-ENOMEM, "KVM_CREATE_VM: uid %u already has %u VMs "
			      "(--max-vms-per-uid)", (unsigned)uid, ctx->limits.max_vms_per_uid);
	vm = calloc(1, sizeof(*vm));
	if (!vm) {
		ctx_uncharge(ctx, uid, 1, 0);
		return -ENOMEM;
	}
	vm->ctx = ctx;
	vm->uid = uid;
	atomic_init(&vm->refs, 1);
	pthread_mutex_init(&vm->lock, NULL);
	memslot_table_init(&vm->slots);
	kvmclock_master_now(&mc);
	vm_misc_init(&vm->misc, mc.ns);
	vm->misc.clock = mc;
	msr_filter_ref_init(&vm->msr_filter);
	hv_vm_init(&vm->hv);
	r = irqchip_new(&vm->irqchip);
	if (!r)
		r = vm_evfd_init(vm);
	if (!r) {
		r = ctx->ops->vm_create(ctx->be, &vm->tvm);
		if (r)
			vm_evfd_fini(vm);
	}
	if (r) {
		irqchip_free(vm->irqchip);
		msr_filter_ref_fini(&vm->msr_filter);
		hv_vm_fini(&vm->hv);
		memslot_table_fini(&vm->slots);
		free(vm);
		ctx_uncharge(ctx, uid, 1, 0);
		return refuse(r, "KVM_CREATE_VM: backend %s failed: %d", ctx->ops->name, r);
	}
	*out = vm;
	return 0;
}

/* pages a slot charges to its VM's dirty-log budget */
static uint64_t logged_pages(uint32_t flags, uint64_t size)
{
	return flags & KVM_MEM_LOG_DIRTY_PAGES ? size >> 12 : 0;
}

void vm_get(struct vm *vm)
{
	atomic_fetch_add(&vm->refs, 1);
}

void vm_put(struct vm *vm)
{
	struct memslot *s;

	if (atomic_fetch_sub(&vm->refs, 1) != 1)
		return;
	/* last reference: every vCPU is gone, so nothing runs on these slots */
	/* the irqfd thread injects into the irqchip: stop it first */
	vm_evfd_fini(vm);
	irqchip_free(vm->irqchip);
	vm->ctx->ops->vm_destroy(vm->tvm);
	for (unsigned i = 0; (s = memslot_at(&vm->slots, i)); i++) {
		guestmem_unmap(s->hva, s->size);
		ctx_uncharge_log(vm->ctx, vm->uid, logged_pages(s->flags, s->size));
	}
	memslot_table_fini(&vm->slots);
	msr_filter_ref_fini(&vm->msr_filter);
	hv_vm_fini(&vm->hv);
	pthread_mutex_destroy(&vm->lock);
	ctx_uncharge(vm->ctx, vm->uid, 1, 0);
	free(vm);
}

static uint32_t backend_map_flags(uint32_t kvm_flags)
{
	uint32_t f = CUSED_MAP_READ | CUSED_MAP_EXEC;

	if (!(kvm_flags & KVM_MEM_READONLY))
		f |= CUSED_MAP_WRITE;
	if (kvm_flags & KVM_MEM_LOG_DIRTY_PAGES)
		f |= CUSED_MAP_LOG_DIRTY;
	return f;
}

static int vm_apply_memory(struct vm *vm, const struct kvm_userspace_memory_region *r,
			   int change, void *hva)
{
	const struct tramp_ops *ops = vm->ctx->ops;
	uint32_t id = (uint16_t)r->slot;
	struct memslot *s = memslot_by_id(&vm->slots, r->slot);
	void *old_hva = NULL;
	uint64_t old_size = s ? s->size : 0;
	int err;

	switch (change) {
	case MEMSLOT_NONE:
		return 0;
	case MEMSLOT_CREATE:
		if (!hva)
			break;   /* no backing: guest accesses fail KVM_RUN with EFAULT */
		err = ops->map(vm->tvm, id, r->guest_phys_addr, r->memory_size, hva,
			       backend_map_flags(r->flags));
		if (err)
			return refuse(err, "KVM_SET_USER_MEMORY_REGION: backend map failed: %d", err);
		break;
	case MEMSLOT_DELETE:
		if (s->hva)
			ops->unmap(vm->tvm, id);
		break;
	case MEMSLOT_MOVE:
	case MEMSLOT_FLAGS:
		if (!s->hva)
			break;
		ops->unmap(vm->tvm, id);
		err = ops->map(vm->tvm, id, r->guest_phys_addr, s->size, s->hva,
			       backend_map_flags(r->flags));
		if (err) {
			/* put the old mapping back so the VM keeps its memory */
			ops->map(vm->tvm, id, s->gpa, s->size, s->hva, backend_map_flags(s->flags));
			return refuse(err, "KVM_SET_USER_MEMORY_REGION: backend remap failed: %d", err);
		}
		break;
	}
	err = memslot_commit(&vm->slots, r, change, hva, &old_hva);
	if (err)
		return err;
	if (change == MEMSLOT_DELETE)
		guestmem_unmap(old_hva, old_size);
	return 0;
}

/*
 * vm_apply_memory with the uid's dirty-log budget (limits.h): a change that
 * makes more memory log dirty pages is charged first and refused with
 * ENOMEM over the budget, as KVM's bitmap allocation fails over the user's
 * memory cgroup limit.
 */
static int vm_apply_charged(struct vm *vm, const struct kvm_userspace_memory_region *r,
			    int change, void *hva)
{
	const struct memslot *s = memslot_by_id(&vm->slots, r->slot);
	uint64_t before = s ? logged_pages(s->flags, s->size) : 0;
	uint64_t after = change == MEMSLOT_DELETE ? 0 :
			 logged_pages(r->flags, s ? s->size : r->memory_size);
	int err;

	if (change == MEMSLOT_NONE)
		return 0;
	if (after > before && ctx_charge_log(vm->ctx, vm->uid, after - before))
		return refuse(-ENOMEM, "KVM_SET_USER_MEMORY_REGION: uid %u's dirty-logged "
			      "memory would exceed %llu GiB (--max-dirty-log-gib-per-uid)",
			      (unsigned)vm->uid,
			      (unsigned long long)(vm->ctx->limits.max_log_pages_per_uid >> 18));
	err = vm_apply_memory(vm, r, change, hva);
	if (err && after > before)
		ctx_uncharge_log(vm->ctx, vm->uid, after - before);
	if (!err && after < before)
		ctx_uncharge_log(vm->ctx, vm->uid, before - after);
	return err;
}

int vm_set_memory(struct vm *vm, const struct kvm_userspace_memory_region *r,
		  pid_t pid, int client_fd, uint64_t fd_offset)
{
	uint32_t valid = KVM_MEM_LOG_DIRTY_PAGES |
			 (vm->ctx->caps.readonly_mem ? KVM_MEM_READONLY : 0);
	void *hva = NULL;
	int change, err, map_err = 0;

	/*
	 * Take and map the client's fd before the VM lock: whatever the client
	 * passes must not stall the other users of this VM.  Only a slot being
	 * created keeps the mapping, so its error counts only then too.
	 */
	if (client_fd >= 0 && r->memory_size) {
		/*
		 * Not unshrinkable: plain files, which cannot be sealed, back
		 * guest RAM; the daemon reads it only through guest_copy, which
		 * survives a file shrunk under it.
		 */
		struct guestmem_want w = { .offset = fd_offset, .size = r->memory_size,
					   .writable = !(r->flags & KVM_MEM_READONLY) };

		map_err = guestmem_map(pid, client_fd, &w, &hva);
	}
	pthread_mutex_lock(&vm->lock);
	change = memslot_check(&vm->slots, r, valid);
	if (change < 0) {
		err = change;   /* memslot_check logged which rule failed */
		goto out;
	}
	/*
	 * KVM accepts a slot whose userspace_addr is not mapped and fails the
	 * guest's access later; a slot the shim could not share behaves so too.
	 */
	if (change == MEMSLOT_CREATE && client_fd >= 0) {
		err = map_err;
		if (err)
			goto out;
	} else if (change == MEMSLOT_CREATE) {
		log_info("pid %d: slot %u at gpa %#llx has no shareable backing; guest "
			 "accesses will fail with EFAULT", pid, r->slot,
			 (unsigned long long)r->guest_phys_addr);
	}
	err = vm_apply_charged(vm, r, change, change == MEMSLOT_CREATE ? hva : NULL);
	if (!err && change == MEMSLOT_CREATE)
		hva = NULL;   /* the slot owns it now */
out:
	pthread_mutex_unlock(&vm->lock);
	guestmem_unmap(hva, r->memory_size);
	return err;
}

int vm_reserve_vcpu_id(struct vm *vm, uint64_t id)
{
	int r = 0;

	if (id >= CUSED_MAX_VCPU_IDS)
		return refuse(-EINVAL, "KVM_CREATE_VCPU: id %llu >= %u",
			      (unsigned long long)id, CUSED_MAX_VCPU_IDS);
	pthread_mutex_lock(&vm->lock);
	if (vm->nr_vcpus >= CUSED_MAX_VCPUS) {
		r = refuse(-EINVAL, "KVM_CREATE_VCPU: VM already has %u vCPUs", vm->nr_vcpus);
		goto out;
	}
	r = vm_misc_vcpu_precreate(&vm->misc, id);
	if (r)
		goto out;
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu_ids[i] == id) {
			r = refuse(-EEXIST, "KVM_CREATE_VCPU: id %llu exists",
				   (unsigned long long)id);
			goto out;
		}
	vm->vcpu_ids[vm->nr_vcpus++] = id;
	vm->misc.created_vcpus++;
out:
	pthread_mutex_unlock(&vm->lock);
	return r;
}

bool vm_has_vcpus(struct vm *vm)
{
	bool r;

	pthread_mutex_lock(&vm->lock);
	r = vm->nr_vcpus > 0;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

void vm_release_vcpu_id(struct vm *vm, uint32_t id)
{
	pthread_mutex_lock(&vm->lock);
	for (unsigned i = 0; i < vm->nr_vcpus; i++)
		if (vm->vcpu_ids[i] == id) {
			vm->vcpu_ids[i] = vm->vcpu_ids[--vm->nr_vcpus];
			break;
		}
	pthread_mutex_unlock(&vm->lock);
}

bool vm_gpa_unbacked(struct vm *vm, uint64_t gpa)
{
	const struct memslot *s;
	bool r;

	pthread_mutex_lock(&vm->lock);
	s = memslot_by_gpa(&vm->slots, gpa);
	r = s && !s->hva;
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int vm_read_phys(struct vm *vm, uint64_t gpa, void *buf, size_t len)
{
	int r;

	pthread_mutex_lock(&vm->lock);
	r = memslot_read(&vm->slots, gpa, buf, len);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

int vm_write_phys(struct vm *vm, uint64_t gpa, const void *buf, size_t len)
{
	int r;

	pthread_mutex_lock(&vm->lock);
	r = memslot_write(&vm->slots, gpa, buf, len);
	pthread_mutex_unlock(&vm->lock);
	return r;
}

static int walk_read(void *ctx, uint64_t gpa, void *buf, size_t len)
{
	return vm_read_phys(ctx, gpa, buf, len);
}

static int walk_write(void *ctx, uint64_t gpa, const void *buf, size_t len)
{
	return vm_write_phys(ctx, gpa, buf, len);
}

struct walk_mem vm_walk_mem(struct vm *vm)
{
	return (struct walk_mem){ .read = walk_read, .write = walk_write, .ctx = vm };
}

static int dirty_sink(void *opaque, uint64_t word, uint64_t bits)
{
	return dirty_or_word(opaque, word, bits);
}

/* words of the client's bitmap (64 KiB) written per process_vm_writev */
#define DIRTY_CHUNK_WORDS 8192

static long vm_get_dirty_log(struct vm *vm, struct ioctl_req *rq)
{
	const struct kvm_dirty_log *dl = req_in(rq, sizeof(*dl));
	struct memslot *s;
	uint64_t *chunk = NULL;
	size_t words;
	int r;

	if (!dl)
		return -EFAULT;
	pthread_mutex_lock(&vm->lock);
	r = dirty_log_lookup(&vm->slots, dl->slot, &s);
	if (r) {
		r = refuse(r, "KVM_GET_DIRTY_LOG: slot %u %s", dl->slot,
			   r == -ENOENT ? "does not log dirty pages" : "is invalid");
		goto out;
	}
	chunk = malloc(DIRTY_CHUNK_WORDS * sizeof(*chunk));
	if (!chunk) {
		r = -ENOMEM;
		goto out;
	}
	r = vm->ctx->ops->dirty_collect(vm->tvm, (uint16_t)s->id, dirty_sink, s);
	if (r)
		goto out;
	/*
	 * Copy out chunk by chunk so nothing the size of the whole bitmap is
	 * ever allocated.  As in KVM, the whole log is taken (cleared) even
	 * if the copy to the client faults part-way.
	 */
	words = dirty_bitmap_bytes(s) / sizeof(*chunk);
	for (size_t w = 0; w < words; w += DIRTY_CHUNK_WORDS) {
		size_t n = words - w < DIRTY_CHUNK_WORDS ? words - w : DIRTY_CHUNK_WORDS;

		dirty_log_take(s, w, n, chunk);
		if (!r && client_write(rq, (uintptr_t)dl->dirty_bitmap + w * sizeof(*chunk),
				       chunk, n * sizeof(*chunk)))
			r = refuse(-EFAULT, "KVM_GET_DIRTY_LOG: bitmap %p not writable",
				   dl->dirty_bitmap);
	}
out:
	pthread_mutex_unlock(&vm->lock);
	free(chunk);
	return r;
}

long vm_ioctl(struct vm *vm, struct cused_handle *h, struct ioctl_req *rq)
{
	long r;

	if (vm_irq_ioctl(vm, rq, &r))
		return r;
	switch (rq->cmd) {
	case KVM_SET_USER_MEMORY_REGION: {
		const struct kvm_userspace_memory_region *r = req_in(rq, sizeof(*r));

		if (!r)
			return -EFAULT;
		/* without the shim there is no way to see the client's memory */
		return vm_set_memory(vm, r, rq->pid, -1, 0);
	}
	case CUSED_IOC_SET_MEMORY: {
		const struct cused_mem_region *mr = req_in(rq, sizeof(*mr));

		if (!mr)
			return -EFAULT;
		return vm_set_memory(vm, &mr->region, rq->pid, mr->fd, mr->fd_offset);
	}
	case KVM_GET_DIRTY_LOG:
		return vm_get_dirty_log(vm, rq);
	case KVM_CHECK_EXTENSION:
		return caps_check(vm->ctx, rq->arg);
	case KVM_ENABLE_CAP:
	case KVM_SET_TSS_ADDR:
	case KVM_SET_IDENTITY_MAP_ADDR:
	case KVM_SET_BOOT_CPU_ID:
	case KVM_SET_NR_MMU_PAGES:
	case KVM_GET_NR_MMU_PAGES:
	case KVM_GET_CLOCK:
		return vm_misc_ioctl(vm, rq);
	case KVM_SET_CLOCK: {
		long r = vm_misc_ioctl(vm, rq);

		/* kvm_hv_request_tsc_page_update: the page follows the new clock */
		if (!r)
			hv_tsc_page_clock_changed(&vm->hv);
		return r;
	}
	case KVM_IRQFD:
	case KVM_IOEVENTFD:
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO:
		return vm_evfd_ioctl(vm, rq);
	case KVM_X86_SET_MSR_FILTER:
		return msr_filter_set(&vm->msr_filter, rq);
	case KVM_CREATE_VCPU:
		return refuse(-EOPNOTSUPP, "pid %d: KVM_CREATE_VCPU needs the libcused shim: "
			      "run the client as `cused-run CMD...`", rq->pid);
	case CUSED_IOC_CREATE:
		return handle_create_vcpu(h, rq);
	default:
		return refuse(-ENOTTY, "VM ioctl %#x not implemented", rq->cmd);
	}
}
