/* SPDX-License-Identifier: MIT */
/*
 * KVM_RUN: enter through the backend until an exit the client must see,
 * handling in the daemon what KVM handles in the kernel (MSR accesses), and
 * translating the backend's exit into struct kvm_run exactly as KVM lays it out.
 */
#include <errno.h>
#include <string.h>
#include "cused/kvm/vcpu.h"
#include "cused/kvm/vcpu_mmio.h"
#include "cused/kvm/vm_evfd.h"
#include "cused/kvm/vcpu_irq.h"
#include "cused/kvm/vcpu_hyperv.h"
#include "cused/x86/cpuid.h"
#include "cused/x86/x86_bits.h"
#include "cused/util/log.h"

/* the client answered the last exit in kvm_run; hand that to the backend */
static int retire_last_exit(struct vcpu *v)
{
	struct kvm_run *run = v->run;
	struct tramp_exit *ex = &v->last;

	if (!v->complete_pending)
		return 0;
	v->complete_pending = false;
	if (ex->reason == TX_IO && ex->io.in)
		memcpy(ex->io.data, (char *)v->shared + CUSED_RUN_PIO_OFFSET,
		       (size_t)ex->io.size * ex->io.count);
	if (ex->reason == TX_MMIO && !ex->mmio.is_write)
		memcpy(ex->mmio.data, run->mmio.data, sizeof(ex->mmio.data));
	if (ex->reason == TX_MMIO && v->mmio_emulating)
		return mmio_finish(v, ex->mmio.data);
	if (ex->reason == TX_RDMSR || ex->reason == TX_WRMSR)
		vcpu_msr_from_user(v, ex);
	return v->vm->ctx->ops->complete(v->tv, ex);
}

/* true when the access goes on to the client (KVM_CAP_X86_USER_SPACE_MSR) */
static bool guest_msr_access(struct vcpu *v, struct tramp_exit *ex)
{
	struct msr_io io = vcpu_msr_io(v);
	int r;

	if (!msr_filter_allowed(&v->vm->msr_filter, ex->msr.index, ex->reason == TX_WRMSR))
		r = MSR_FILTERED;
	else if (vcpu_irq_msr(v, ex->reason == TX_WRMSR, ex->msr.index, &ex->msr.data, false, &r))
		;
	else if (vcpu_hv_msr(v, ex->reason == TX_WRMSR, ex->msr.index, &ex->msr.data, false, &r))
		;
	else if (ex->reason == TX_RDMSR)
		r = msr_read(&v->msrs, &io, ex->msr.index, &ex->msr.data, false);
	else {
		r = msr_write(&v->msrs, &io, ex->msr.index, ex->msr.data, false);
		if (!r)
			kvmclock_msr_written(v, ex->msr.index, ex->msr.data);
		vcpu_cpuid_runtime(v, false);   /* MISC_ENABLE may move CPUID bits */
	}
	if (vcpu_msr_to_user(v, ex, r))
		return true;
	/* what real hardware does for an MSR the VMM refuses: #GP */
	ex->msr.error = r != 0;
	if (r)
		log_debug("vcpu %u: guest %s of MSR %#x -> #GP (%d)", v->id,
			  ex->reason == TX_RDMSR ? "RDMSR" : "WRMSR", ex->msr.index, r);
	return false;
}

static void internal_error_from_backend(struct tramp_exit *ex)
{
	ex->reason = TX_INTERNAL;
	ex->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
	ex->internal.ndata = 0;
}

/* CPUID as KVM answers it from the table the client set with KVM_SET_CPUID2 */
static void guest_cpuid(struct vcpu *v, struct tramp_exit *ex)
{
	const struct kvm_cpuid_entry2 *e;

	/* leaves 1 and 7 carry bits that follow CR4 and the APIC base */
	if (ex->cpuid.function == 1 || ex->cpuid.function == 7)
		vcpu_cpuid_state(v, v->cpuid);
	e = v->cpuid ? cpuid_find(v->cpuid, ex->cpuid.function, ex->cpuid.index) : NULL;

	ex->cpuid.eax = e ? e->eax : 0;
	ex->cpuid.ebx = e ? e->ebx : 0;
	ex->cpuid.ecx = e ? e->ecx : 0;
	ex->cpuid.edx = e ? e->edx : 0;
}

/*
 * kvm_emulate_monitor_mwait: a NOP, unless MWAIT_NEVER_UD_FAULTS is off and
 * the guest's CPUID lacks MWAIT; at CPL > 0 the CPU's own #UD comes first.
 */
static void guest_monitor_mwait(struct vcpu *v, struct tramp_exit *ex)
{
	uint64_t quirks = __atomic_load_n(&v->vm->misc.disabled_quirks, __ATOMIC_RELAXED);

	ex->mwait.ud = ex->mwait.cpl > 0 ||
		       ((quirks & KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) &&
			!cpuid_has(v->cpuid, 1, 0, CPUID_ECX, CPUID_1_ECX_MONITOR));
	log_debug("vcpu %u: guest %s -> %s", v->id, ex->mwait.is_mwait ? "MWAIT" : "MONITOR",
		  ex->mwait.ud ? "#UD" : "NOP");
}

/* fill kvm_run for an exit the client handles; false if the daemon handled it */
static bool exit_to_user(struct vcpu *v, struct tramp_exit *ex)
{
	struct kvm_run *run = v->run;
	size_t n;

	switch (ex->reason) {
	case TX_IO:
		if (vcpu_evfd_write(v, ex))
			return false;
		n = (size_t)ex->io.size * ex->io.count;
		if (n > CUSED_PAGE_SIZE) {
			run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
			run->internal.suberror = KVM_INTERNAL_ERROR_EMULATION;
			run->internal.ndata = 0;
			return true;
		}
		run->exit_reason = KVM_EXIT_IO;
		run->io.direction = ex->io.in ? KVM_EXIT_IO_IN : KVM_EXIT_IO_OUT;
		run->io.size = ex->io.size;
		run->io.port = ex->io.port;
		run->io.count = ex->io.count;
		run->io.data_offset = CUSED_RUN_PIO_OFFSET;
		if (!ex->io.in)
			memcpy((char *)v->shared + CUSED_RUN_PIO_OFFSET, ex->io.data, n);
		v->complete_pending = true;
		return true;
	case TX_MMIO:
		if (vcpu_evfd_write(v, ex))
			return false;
		run->exit_reason = KVM_EXIT_MMIO;
		run->mmio.phys_addr = ex->mmio.gpa;
		run->mmio.len = ex->mmio.len;
		run->mmio.is_write = ex->mmio.is_write;
		memcpy(run->mmio.data, ex->mmio.data, sizeof(run->mmio.data));
		v->complete_pending = true;
		return true;
	case TX_HLT:
		run->exit_reason = KVM_EXIT_HLT;
		return true;
	case TX_SHUTDOWN:
		run->exit_reason = KVM_EXIT_SHUTDOWN;
		return true;
	case TX_FAIL_ENTRY:
		run->exit_reason = KVM_EXIT_FAIL_ENTRY;
		run->fail_entry.hardware_entry_failure_reason = ex->fail_entry.hw_reason;
		run->fail_entry.cpu = ex->fail_entry.cpu;
		return true;
	case TX_INTERNAL:
		run->exit_reason = KVM_EXIT_INTERNAL_ERROR;
		run->internal.suberror = ex->internal.suberror;
		run->internal.ndata = ex->internal.ndata;
		memcpy(run->internal.data, ex->internal.data, sizeof(run->internal.data));
		return true;
	case TX_DEBUG:
		run->exit_reason = KVM_EXIT_DEBUG;
		run->debug.arch = ex->debug;
		return true;
	case TX_IRQ_WINDOW:
		run->exit_reason = KVM_EXIT_IRQ_WINDOW_OPEN;
		return true;
	case TX_RDMSR:
	case TX_WRMSR:
		if (guest_msr_access(v, ex))
			return true;
		v->vm->ctx->ops->complete(v->tv, ex);
		return false;
	case TX_CPUID:
		guest_cpuid(v, ex);
		v->vm->ctx->ops->complete(v->tv, ex);
		return false;
	case TX_MWAIT:
		guest_monitor_mwait(v, ex);
		if (!v->vm->ctx->ops->complete(v->tv, ex))
			return false;
		/* the host would not take the answer: the client sees the emulation failure */
		internal_error_from_backend(ex);
		return exit_to_user(v, ex);
	case TX_HYPERCALL:
	case TX_UD:
		if (!(ex->reason == TX_UD ? vcpu_hypercall_ud(v) : vcpu_hypercall(v)))
			return false;
		internal_error_from_backend(ex);
		return exit_to_user(v, ex);
	case TX_NPF:
		/* becomes TX_MMIO (or TX_INTERNAL) and goes round once more */
		if (mmio_begin(v, ex)) {
			internal_error_from_backend(ex);
		}
		return exit_to_user(v, ex);
	case TX_MOV_DR:
		/* becomes TX_NONE, or TX_INTERNAL for the client */
		if (mov_dr_emulate(v, ex))
			internal_error_from_backend(ex);
		if (ex->reason == TX_INTERNAL)
			return exit_to_user(v, ex);
		return false;
	case TX_KICKED:
	case TX_NONE:
		return false;
	}
	return false;
}

/* the client's signal (shim kick or FUSE interrupt), or the vCPU is going away */
static bool take_kick(struct vcpu *v, struct ioctl_req *rq)
{
	return atomic_exchange(&v->kicked, false) || atomic_load(&v->dying) ||
	       (rq && atomic_load(&rq->interrupted));
}

/*
 * KVM runs complete_userspace_io at every KVM_RUN, before it looks at
 * immediate_exit or signals: the answered instruction retires even when the
 * run returns at once.  0 retired, 1 a new exit in *ex, or -errno.
 */
static int settle(struct vcpu *v, struct tramp_exit *ex)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;

	if (!ops->settle)
		return 0;
	memset(ex, 0, sizeof(*ex));
	return ops->settle(v->tv, ex);
}

static int run_loop(struct vcpu *v, struct ioctl_req *rq)
{
	const struct tramp_ops *ops = v->vm->ctx->ops;
	struct kvm_run *run = v->run;
	struct tramp_exit *ex = &v->last;
	int r;

	if (!run)
		return refuse(-ENOEXEC, "vcpu %u: KVM_RUN before kvm_run was mapped", v->id);
	r = retire_last_exit(v);
	if (r)
		return refuse(r, "vcpu %u: backend could not complete the last exit: %d", v->id, r);
	vcpu_irq_run_start(v);
	/* with an irqchip the window is the daemon's own (vcpu_irq.c inject) */
	if (!v->irq && run->request_interrupt_window != v->irq_window_requested) {
		v->irq_window_requested = run->request_interrupt_window;
		ops->request_irq_window(v->tv, v->irq_window_requested);
	}
	for (;;) {
		/* the client's page: read once */
		bool imm = __atomic_load_n(&run->immediate_exit, __ATOMIC_RELAXED);
		bool intr = !imm && take_kick(v, rq);

		if (imm || intr) {
			r = settle(v, ex);
			if (r < 0)
				return refuse(r, "vcpu %u: backend could not retire the last exit: %d",
					      v->id, r);
			if (r == 1) {
				/* KVM reports the new exit; the signal stays pending */
				if (intr)
					atomic_store(&v->kicked, true);
				/* the irqchip sees every exit's IF and window (a HLT here sleeps on them) */
				vcpu_irq_exited(v, ex);
				goto exit_in_hand;
			}
			/* KVM leaves exit_reason alone for immediate_exit, reports a signal
			 * (our kick) as KVM_EXIT_INTR */
			if (intr) {
				run->exit_reason = KVM_EXIT_INTR;
				stats_inc(v->stats, VS_SIGNAL);
			}
			return -EINTR;
		}
		/* the device is going away: no more guest time */
		if (atomic_load(&v->vm->ctx->stopping))
			return -EIO;
		r = vcpu_irq_enter(v);
		if (r == 1) {
			/* woken from a HLT sleep, maybe by an ioctl waiting for the vCPU */
			vcpu_yield(v);
			continue;
		}
		if (r)
			return r == -EAGAIN ? r : refuse(r, "vcpu %u: irqchip entry failed: %d", v->id, r);
		kvmclock_before_entry(v);
		vcpu_hv_enter(v);
		memset(ex, 0, sizeof(*ex));
		v->misc.has_run = true;
		r = ops->run(v->tv, ex);
		vcpu_irq_exited(v, ex);
		if (r)
			return refuse(r, "vcpu %u: backend run failed: %d", v->id, r);
exit_in_hand:
		stats_exit(v->stats, ex);
		run->if_flag = ex->if_flag;
		run->ready_for_interrupt_injection = ex->irq_ready;
		run->cr8 = ex->cr8;
		run->apic_base = ex->apic_base;
		/*
		 * A kick for the client ends the run at the top of the loop; one
		 * from an ioctl waiting for the vCPU (vcpu_lock.c) only lets that
		 * ioctl in, and one from an interrupt for this vCPU (vcpu_irq.c)
		 * only goes round: the guest goes on and KVM_RUN does not return.
		 */
		if (ex->reason == TX_KICKED) {
			vcpu_yield(v);
			continue;
		}
		/* KVM fails the run when the guest touches a slot with no memory */
		if ((ex->reason == TX_MMIO && vm_gpa_unbacked(v->vm, ex->mmio.gpa)) ||
		    (ex->reason == TX_NPF && vm_gpa_unbacked(v->vm, ex->npf.gpa)))
			return refuse(-EFAULT, "vcpu %u: guest touched gpa %#llx of a slot without "
				      "memory", v->id, (unsigned long long)(ex->reason == TX_MMIO ?
				      ex->mmio.gpa : ex->npf.gpa));
		r = vcpu_irq_exit(v, ex);
		if (r < 0)
			return refuse(r, "vcpu %u: irqchip could not handle exit %d: %d", v->id,
				      ex->reason, r);
		if (r == 2)
			return 0;
		if (r == 1)
			continue;
		if (exit_to_user(v, ex))
			return 0;
		if (vcpu_irq_msr_done(v) == 2 || vcpu_hv_exit(v))
			return 0;
	}
}

int vcpu_run(struct vcpu *v, struct ioctl_req *rq)
{
	int r = vcpu_sync_regs_in(v);

	/* a triple fault KVM_X86_SET_MCE requested ends this run before any entry */
	if (!r && v->misc.triple_fault && v->run && !v->run->immediate_exit) {
		v->misc.triple_fault = false;
		v->run->exit_reason = KVM_EXIT_SHUTDOWN;
	} else if (!r) {
		r = run_loop(v, rq);
		vcpu_irq_run_end(v);
	}
	vcpu_sync_regs_out(v);
	return r;
}

void vcpu_kick(struct vcpu *v)
{
	atomic_store(&v->kicked, true);
	v->vm->ctx->ops->kick(v->tv);
	vcpu_irq_wake(v);
}
