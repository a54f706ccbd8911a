/* SPDX-License-Identifier: MIT */
/* vCPU lifecycle and the state ioctls (registers, MSRs, CPUID, FPU, ...) */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/hyperv_ioctl.h"
#include "cused/kvm/vcpu_hyperv.h"
#include "cused/kvm/guestmem.h"
#include "cused/kvm/msrs_io.h"
#include "cused/kvm/vcpu_irq.h"
#include "cused/mmu/walk.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/regs.h"
#include "cused/util/log.h"

int vcpu_create(struct vm *vm, uint64_t id, struct vcpu **out)
{
	struct cused_ctx *ctx = vm->ctx;
	struct vcpu *v;
	int r;

	r = vm_reserve_vcpu_id(vm, id);
	if (r)
		return r;
	if (ctx_charge(ctx, vm->uid, 0, 1)) {
		vm_release_vcpu_id(vm, id);
		return refuse(-ENOMEM, "KVM_CREATE_VCPU: uid %u already has %u vCPUs "
			      "(--max-vcpus-per-uid)", (unsigned)vm->uid,
			      ctx->limits.max_vcpus_per_uid);
	}
	v = calloc(1, sizeof(*v));
	if (v && !(v->stats = stats_alloc())) {
		free(v);
		v = NULL;
	}
	if (!v) {
		ctx_uncharge(ctx, vm->uid, 0, 1);
		vm_release_vcpu_id(vm, id);
		return -ENOMEM;
	}
	v->id = id;
	vcpu_mutex_init(&v->lock);
	r = ctx->ops->vcpu_create(vm->tvm, id, &v->tv);
	if (r) {
		ctx_uncharge(ctx, vm->uid, 0, 1);
		vm_release_vcpu_id(vm, id);
		vcpu_mutex_destroy(&v->lock);
		stats_put(v->stats);
		free(v);
		return refuse(r, "KVM_CREATE_VCPU: backend %s failed: %d", ctx->ops->name, r);
	}
	msr_file_reset(&v->msrs);
	v->msrs.platform_info_readable = &vm->misc.platform_info_readable;
	v->msrs.wall_clock = &vm->kvm_wall_clock;
	v->msrs.pv_enforce = &v->misc.pv_cpuid_enforce;
	v->msrs.disabled_quirks = &vm->misc.disabled_quirks;
	vm_get(vm);
	v->vm = vm;
	vcpu_hv_init(v);
	r = vcpu_tsc_init(v);
	if (!r)
		r = vcpu_irq_create(v);
	if (r) {
		ctx->ops->vcpu_destroy(v->tv);
		ctx_uncharge(ctx, vm->uid, 0, 1);
		vm_release_vcpu_id(vm, id);
		vcpu_mutex_destroy(&v->lock);
		vm_put(vm);
		stats_put(v->stats);
		free(v);
		return r;
	}
	stats_register(&ctx->stats, v->stats, vm, v->id);
	ctx_add_vcpu(ctx, v);
	*out = v;
	return 0;
}

void vcpu_put(struct vcpu *v)
{
	struct vm *vm = v->vm;

	/* only one reference exists (the handle, or the parked token) */
	ctx_del_vcpu(vm->ctx, v);
	vcpu_runner_stop(v);
	vcpu_irq_destroy(v);
	vm->ctx->ops->vcpu_destroy(v->tv);
	if (v->shared)
		munmap(v->shared, CUSED_VCPU_MMAP_SIZE);
	free(v->cpuid);
	vm_release_vcpu_id(vm, v->id);
	stats_unregister(v->stats);
	stats_put(v->stats);
	ctx_uncharge(vm->ctx, vm->uid, 0, 1);
	vcpu_mutex_destroy(&v->lock);
	free(v);
	vm_put(vm);
}

int vcpu_attach_run(struct vcpu *v, pid_t pid, int run_fd)
{
	bool from_client = run_fd >= 0;
	void *p;
	int r;

	if (!from_client) {
		p = mmap(NULL, CUSED_VCPU_MMAP_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED)
			return -ENOMEM;
	} else {
		struct guestmem_want w = { .size = CUSED_VCPU_MMAP_SIZE, .writable = true,
					   .unshrinkable = true };

		r = guestmem_map(pid, run_fd, &w, &p);
		if (r)
			return r;
	}
	v->shared = p;
	v->run = p;
	v->db = (struct cused_doorbell *)((char *)p + CUSED_RUN_DOORBELL_OFFSET);
	memset(v->run, 0, sizeof(*v->run));
	/* only a mapping the client shares can carry the doorbell */
	if (!from_client)
		return 0;
	return vcpu_runner_start(v);
}

int vcpu_read_field(struct vcpu *v, uint32_t id, uint64_t *val)
{
	struct cused_field_val f = { .id = id };
	int r = v->vm->ctx->ops->read_fields(v->tv, &f, 1);

	*val = f.val;
	return r;
}

int vcpu_write_field(struct vcpu *v, uint32_t id, uint64_t val)
{
	struct cused_field_val f = { .id = id, .val = val };

	return v->vm->ctx->ops->write_fields(v->tv, &f, 1);
}

/* IA32_TSC through the MSR table is the daemon's offset (vcpu_tsc.c) */
static int msr_io_read(void *ctx, uint32_t field, uint64_t *v)
{
	if (field == CUSED_F_TSC) {
		*v = vcpu_tsc_read(ctx);
		return 0;
	}
	return vcpu_read_field(ctx, field, v);
}

static int msr_io_write(void *ctx, uint32_t field, uint64_t v)
{
	if (field == CUSED_F_TSC)
		return vcpu_tsc_write(ctx, v);
	return vcpu_write_field(ctx, field, v);
}

static int msr_io_tsc_host(void *ctx, uint64_t v)
{
	return vcpu_tsc_host_write(ctx, v);
}

struct msr_io vcpu_msr_io(struct vcpu *v)
{
	return (struct msr_io){ .read_field = msr_io_read, .write_field = msr_io_write,
				.tsc_host_write = msr_io_tsc_host, .ctx = v };
}

static long get_regs(struct vcpu *v, struct ioctl_req *rq)
{
	struct cused_field_val f[REGS_NFIELDS] = {{ 0 }};
	struct kvm_regs *out = req_out(rq, sizeof(*out));
	unsigned n = regs_field_ids(f);
	int r;

	if (!out)
		return -EFAULT;
	r = v->vm->ctx->ops->read_fields(v->tv, f, n);
	if (r)
		return refuse(r, "KVM_GET_REGS: backend read failed: %d", r);
	regs_from_fields(out, f, n);
	return 0;
}

static long set_regs(struct vcpu *v, struct ioctl_req *rq)
{
	struct cused_field_val f[REGS_NFIELDS] = {{ 0 }};
	const struct kvm_regs *in = req_in(rq, sizeof(*in));

	if (!in)
		return -EFAULT;
	regs_field_ids(f);
	regs_to_fields(in, f);
	return v->vm->ctx->ops->write_fields(v->tv, f, REGS_NFIELDS);
}

static long get_sregs(struct vcpu *v, struct ioctl_req *rq)
{
	struct cused_field_val f[SREGS_NFIELDS] = {{ 0 }};
	struct kvm_sregs *out = req_out(rq, sizeof(*out));
	unsigned n = sregs_field_ids(f);
	uint64_t pending;
	int r;

	if (!out)
		return -EFAULT;
	r = v->vm->ctx->ops->read_fields(v->tv, f, n);
	if (r)
		return refuse(r, "KVM_GET_SREGS: backend read failed: %d", r);
	memset(out, 0, sizeof(*out));
	sregs_from_fields(out, f, n);
	/* a queued, not yet delivered external interrupt shows in the bitmap */
	if (!vcpu_read_field(v, CUSED_F_PENDING_IRQ, &pending) && (pending & (1u << 31)) &&
	    ((pending >> 8) & 7) == 0)
		out->interrupt_bitmap[(pending & 0xff) / 64] |= 1ULL << (pending & 63);
	vcpu_irq_sregs_get(v, out);
	return 0;
}

static long set_sregs(struct vcpu *v, struct ioctl_req *rq)
{
	struct cused_field_val f[SREGS_NFIELDS] = {{ 0 }};
	const struct kvm_sregs *in = req_in(rq, sizeof(*in));
	int irq, r;

	if (!in)
		return -EFAULT;
	r = sregs_validate_cpuid(in, v->cpuid, v->vm->ctx->supported_cpuid);
	if (r)
		return refuse(r, "KVM_SET_SREGS: invalid state (cr0 %#llx cr4 %#llx efer %#llx)",
			      (unsigned long long)in->cr0, (unsigned long long)in->cr4,
			      (unsigned long long)in->efer);
	r = vcpu_irq_sregs_set(v, in);
	if (r)
		return r;
	sregs_field_ids(f);
	sregs_to_fields(in, f);
	r = v->vm->ctx->ops->write_fields(v->tv, f, SREGS_NFIELDS);
	if (r)
		return refuse(r, "KVM_SET_SREGS: backend write failed: %d", r);
	irq = sregs_pending_irq(in);
	if (irq >= 0)
		r = v->vm->ctx->ops->inject_irq(v->tv, irq);
	return r;
}

void vcpu_cpuid_runtime(struct vcpu *v, bool always)
{
	uint64_t misc = 0;
	struct msr_io io = vcpu_msr_io(v);

	if (!always && !v->msrs.cpuid_stale)
		return;
	v->msrs.cpuid_stale = false;
	if (msr_read(&v->msrs, &io, 0x1a0, &misc, true))   /* IA32_MISC_ENABLE */
		return;
	cpuid_runtime_mwait(v->cpuid, __atomic_load_n(&v->vm->misc.disabled_quirks,
						      __ATOMIC_RELAXED), misc);
}

static int vcpu_msr_one(void *ctx, uint32_t index, uint64_t *val, bool set)
{
	struct vcpu *v = ctx;
	struct msr_io io = vcpu_msr_io(v);
	int r;

	if (vcpu_irq_msr(v, set, index, val, true, &r) || vcpu_hv_msr(v, set, index, val, true, &r))
		return r;
	if (!set)
		return msr_read(&v->msrs, &io, index, val, true);
	r = msr_write(&v->msrs, &io, index, *val, true);
	if (!r)
		kvmclock_msr_written(v, index, *val);
	vcpu_cpuid_runtime(v, false);
	return r;
}

static long translate(struct vcpu *v, struct ioctl_req *rq)
{
	struct kvm_translation *tr = req_out(rq, sizeof(*tr));
	struct cused_field_val f[4] = {
		{ .id = CUSED_F_CR0 }, { .id = CUSED_F_CR3 }, { .id = CUSED_F_CR4 },
		{ .id = CUSED_F_EFER },
	};
	struct walk_mem mem = vm_walk_mem(v->vm);
	struct walk_regs wr;
	struct walk_result res;
	int r;

	if (!tr)
		return -EFAULT;
	r = v->vm->ctx->ops->read_fields(v->tv, f, 4);
	if (r)
		return r;
	wr = (struct walk_regs){ f[0].val, f[1].val, f[2].val, f[3].val };
	r = mmu_walk(&wr, &mem, tr->linear_address, 0, true, &res);
	/* KVM reports only validity; writeable/usermode are fixed answers there */
	tr->physical_address = r ? ~0ULL : res.gpa;
	tr->valid = !r;
	tr->writeable = 1;
	tr->usermode = 0;
	return 0;
}

static long set_cpuid2(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_cpuid2 *in = req_in(rq, sizeof(*in));
	struct kvm_cpuid2 *c;
	size_t bytes;
	int r;

	if (!in)
		return -EFAULT;
	if (in->nent > CUSED_MAX_CPUID_ENTRIES)
		return refuse(-E2BIG, "KVM_SET_CPUID2: %u entries > %u", in->nent,
			      CUSED_MAX_CPUID_ENTRIES);
	bytes = in->nent * sizeof(c->entries[0]);
	c = calloc(1, sizeof(*c) + bytes);
	if (!c)
		return -ENOMEM;
	c->nent = in->nent;
	if (client_read(rq, rq->arg + sizeof(*in), c->entries, bytes)) {
		free(c);
		return refuse(-EFAULT, "KVM_SET_CPUID2: entries not readable");
	}
	/* the state-derived bits are the vCPU's, whatever the client passed */
	vcpu_cpuid_state(v, c);
	if (v->misc.has_run) {
		/* KVM 6.1 kvm_set_cpuid: after KVM_RUN only the table in force */
		vcpu_cpuid_state(v, v->cpuid);
		r = cpuid_check_equal(v->cpuid, c);
		free(c);
		return r ? refuse(r, "KVM_SET_CPUID2: the vCPU has run; only the same table") : 0;
	}
	r = cpuid_check_set(c);
	if (!r)
		r = v->vm->ctx->ops->set_cpuid(v->tv, c);
	if (r) {
		free(c);
		return refuse(r, "KVM_SET_CPUID2: rejected: %d", r);
	}
	free(v->cpuid);
	v->cpuid = c;
	/* which MSR values are valid depends on the guest's CPUID */
	msr_file_set_cpuid(&v->msrs, c);
	vcpu_cpuid_runtime(v, true);
	vcpu_irq_cpuid_changed(v);
	vcpu_hv_cpuid_changed(v);
	return 0;
}

static long get_cpuid2(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_cpuid2 *in = req_in(rq, sizeof(*in));
	struct kvm_cpuid2 *out = req_out(rq, sizeof(*out));
	uint32_t have = v->cpuid ? v->cpuid->nent : 0;

	if (!in || !out)
		return -EFAULT;
	if (in->nent < have)
		return refuse(-E2BIG, "KVM_GET_CPUID2: nent %u < %u", in->nent, have);
	vcpu_cpuid_state(v, v->cpuid);
	if (have && client_write(rq, rq->arg + sizeof(*in), v->cpuid->entries,
				 have * sizeof(v->cpuid->entries[0])))
		return -EFAULT;
	out->nent = have;
	return 0;
}

#define GUESTDBG_VALID (KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_SINGLESTEP | \
			KVM_GUESTDBG_USE_SW_BP | KVM_GUESTDBG_USE_HW_BP | \
			KVM_GUESTDBG_INJECT_DB | KVM_GUESTDBG_INJECT_BP | \
			KVM_GUESTDBG_BLOCKIRQ)

static long set_guest_debug(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_guest_debug *dbg = req_in(rq, sizeof(*dbg));

	if (!dbg)
		return -EFAULT;
	if (!v->vm->ctx->caps.guest_debug)
		return refuse(-EINVAL, "KVM_SET_GUEST_DEBUG: backend cannot debug guests");
	/* like the reference /dev/kvm, unknown control bits are ignored */
	if (dbg->control & ~GUESTDBG_VALID)
		log_debug("KVM_SET_GUEST_DEBUG: ignoring unknown control bits %#x",
			  dbg->control & ~GUESTDBG_VALID);
	return v->vm->ctx->ops->set_debug(v->tv, dbg);
}

static long interrupt(struct vcpu *v, struct ioctl_req *rq)
{
	const struct kvm_interrupt *irq = req_in(rq, sizeof(*irq));

	if (!irq)
		return -EFAULT;
	if (irq->irq >= KVM_NR_INTERRUPTS)
		return refuse(-EINVAL, "KVM_INTERRUPT: vector %u out of range", irq->irq);
	stats_inc(v->stats, VS_IRQ_INJECTED);
	return v->vm->ctx->ops->inject_irq(v->tv, irq->irq);
}

/*
 * KVM_SET_SIGNAL_MASK, kvm_vcpu_ioctl's rules: the mask is the shim's to
 * apply around its wait for KVM_RUN (cused/shim/run.c), so the daemon only
 * gives the errno.  A NULL argument (clear) never gets here through FUSE,
 * which faults copying it in; the shim answers that one itself.
 */
static long set_signal_mask(struct ioctl_req *rq)
{
	const struct kvm_signal_mask *m = req_in(rq, sizeof(*m));
	uint64_t set;

	if (!rq->arg)
		return 0;
	if (!m)
		return -EFAULT;
	if (m->len != sizeof(set))
		return refuse(-EINVAL, "KVM_SET_SIGNAL_MASK: len %u, the kernel's sigset_t "
			      "has %zu bytes", m->len, sizeof(set));
	if (client_read(rq, rq->arg + offsetof(struct kvm_signal_mask, sigset), &set, sizeof(set)))
		return refuse(-EFAULT, "KVM_SET_SIGNAL_MASK: sigset not readable");
	return 0;
}

long vcpu_ioctl_locked(struct vcpu *v, struct ioctl_req *rq)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	long ret;

	if (vcpu_irq_ioctl(v, rq, &ret) || vcpu_vapic_ioctl(v, rq, &ret))
		return ret;
	switch (rq->cmd) {
	case KVM_GET_REGS:
		return get_regs(v, rq);
	case KVM_SET_REGS:
		return set_regs(v, rq);
	case KVM_GET_SREGS:
		return get_sregs(v, rq);
	case KVM_SET_SREGS:
		return set_sregs(v, rq);
	case KVM_GET_MSRS:
		return msrs_ioctl(rq, false, vcpu_msr_one, v);
	case KVM_SET_MSRS:
		return msrs_ioctl(rq, true, vcpu_msr_one, v);
	case KVM_GET_MP_STATE: {
		struct kvm_mp_state *mp = req_out(rq, sizeof(*mp));

		/* without an in-kernel LAPIC a vCPU is always runnable; HLT exits */
		if (!mp)
			return -EFAULT;
		mp->mp_state = KVM_MP_STATE_RUNNABLE;
		return 0;
	}
	case KVM_SET_MP_STATE: {
		const struct kvm_mp_state *mp = req_in(rq, sizeof(*mp));

		if (!mp)
			return -EFAULT;
		if (mp->mp_state != KVM_MP_STATE_RUNNABLE)
			return refuse(-EINVAL, "KVM_SET_MP_STATE: only RUNNABLE without an irqchip");
		return 0;
	}
	case KVM_TRANSLATE:
		return translate(v, rq);
	case KVM_INTERRUPT:
		return interrupt(v, rq);
	case KVM_SET_SIGNAL_MASK:
		return set_signal_mask(rq);
	case KVM_SET_GUEST_DEBUG:
		return set_guest_debug(v, rq);
	case KVM_SET_CPUID2:
		return set_cpuid2(v, rq);
	case KVM_GET_CPUID2:
		return get_cpuid2(v, rq);
	case KVM_GET_SUPPORTED_HV_CPUID:
		return hv_ioctl_get_supported_cpuid(rq, v->irq != NULL);
	case KVM_GET_FPU: {
		struct kvm_fpu *fpu = req_out(rq, sizeof(*fpu));

		return fpu ? ops->get_fpu(v->tv, fpu) : -EFAULT;
	}
	case KVM_SET_FPU: {
		const struct kvm_fpu *fpu = req_in(rq, sizeof(*fpu));

		return fpu ? ops->set_fpu(v->tv, fpu) : -EFAULT;
	}
	case KVM_GET_VCPU_EVENTS:
	case KVM_SET_VCPU_EVENTS:
	case KVM_NMI:
	case KVM_GET_DEBUGREGS:
	case KVM_SET_DEBUGREGS:
	case KVM_GET_XCRS:
	case KVM_SET_XCRS:
	case KVM_GET_XSAVE:
	case KVM_GET_XSAVE2:
	case KVM_SET_XSAVE:
	case KVM_GET_TSC_KHZ:
	case KVM_SET_TSC_KHZ:
	case KVM_KVMCLOCK_CTRL:
	case KVM_X86_SETUP_MCE:
	case KVM_X86_SET_MCE:
	case KVM_ENABLE_CAP:
		return vcpu_state_ioctl(v, rq);
	case KVM_HAS_DEVICE_ATTR:
	case KVM_GET_DEVICE_ATTR:
	case KVM_SET_DEVICE_ATTR:
		return vcpu_tsc_attr_ioctl(v, rq);
	default:
		/* x86 KVM answers unknown vCPU ioctls with EINVAL */
		return refuse(-EINVAL, "vCPU ioctl %#x not implemented", rq->cmd);
	}
}

/* KVM_RUN through FUSE: within the workers' reserve (CUSED_MAX_FUSE_RUNS) */
static long fuse_run(struct vcpu *v, struct ioctl_req *rq)
{
	struct cused_ctx *ctx = v->vm->ctx;
	long r;

	if (atomic_fetch_add(&ctx->fuse_runs, 1) >= CUSED_MAX_FUSE_RUNS) {
		atomic_fetch_sub(&ctx->fuse_runs, 1);
		return refuse(-EAGAIN, "vcpu %u: KVM_RUN through FUSE: %d already in progress "
			      "(the shim's KVM_RUN does not use FUSE)", v->id, CUSED_MAX_FUSE_RUNS);
	}
	/* as KVM, a second KVM_RUN waits for the first: it does not kick it */
	r = vcpu_lock_run(v, rq);
	if (!r) {
		r = vcpu_run(v, rq);
		vcpu_unlock(v);
	}
	atomic_fetch_sub(&ctx->fuse_runs, 1);
	return r;
}

long vcpu_ioctl(struct vcpu *v, struct ioctl_req *rq)
{
	long r;

	/* a kick must get through while KVM_RUN holds the lock */
	if (rq->cmd == CUSED_IOC_KICK) {
		/* a kick for a run that already finished must not hit the next one */
		if (v->db && rq->arg &&
		    __atomic_load_n(&v->db->done_seq, __ATOMIC_ACQUIRE) == (uint32_t)rq->arg)
			return 0;
		vcpu_kick(v);
		return 0;
	}
	if (rq->cmd == KVM_CHECK_EXTENSION)
		return refuse(-EINVAL, "KVM_CHECK_EXTENSION is not a vCPU ioctl");
	if (rq->cmd == KVM_RUN)
		return fuse_run(v, rq);
	/* a vCPU in the guest is kicked out for this ioctl (vcpu_lock.c) */
	r = vcpu_lock(v, rq);
	if (r)
		return r;
	r = vcpu_ioctl_locked(v, rq);
	vcpu_unlock(v);
	return r;
}
