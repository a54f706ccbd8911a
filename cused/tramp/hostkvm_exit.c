/* SPDX-License-Identifier: MIT */
/*
 * Host kvm_run exits -> struct tramp_exit, and back again: complete() puts
 * the daemon's answer where the host expects it, so the host retires the
 * instruction on the next KVM_RUN exactly as it would for its own VMM.
 */
#include <errno.h>
#include <string.h>
#include <sys/ioctl.h>
#include "cused/tramp/hostkvm.h"
#include "cused/util/log.h"

static void exit_io(struct kvm_run *run, struct tramp_exit *ex)
{
	ex->reason = TX_IO;
	ex->io.port = run->io.port;
	ex->io.size = run->io.size;
	ex->io.in = run->io.direction == KVM_EXIT_IO_IN;
	ex->io.count = run->io.count;
	/* the host's own buffer: an IN answer written here is what it retires */
	ex->io.data = (uint8_t *)run + run->io.data_offset;
}

static void exit_mmio(struct kvm_run *run, struct tramp_exit *ex)
{
	ex->reason = TX_MMIO;
	ex->mmio.gpa = run->mmio.phys_addr;
	ex->mmio.len = run->mmio.len;
	ex->mmio.is_write = run->mmio.is_write;
	memcpy(ex->mmio.data, run->mmio.data, sizeof(ex->mmio.data));
}

static void exit_internal(struct kvm_run *run, struct tramp_exit *ex)
{
	uint32_t n = run->internal.ndata;

	if (n > 16)
		n = 16;
	ex->reason = TX_INTERNAL;
	ex->internal.suberror = run->internal.suberror;
	ex->internal.ndata = n;
	memcpy(ex->internal.data, run->internal.data, n * sizeof(ex->internal.data[0]));
}

/* an exit the daemon has no name for: report it the way KVM reports its own */
static void exit_unexpected(struct tramp_vcpu *v, struct kvm_run *run, struct tramp_exit *ex)
{
	log_warn("hostkvm: vCPU %u: unexpected host exit %u", v->id, run->exit_reason);
	ex->reason = TX_INTERNAL;
	ex->internal.suberror = KVM_INTERNAL_ERROR_UNEXPECTED_EXIT_REASON;
	ex->internal.ndata = 2;
	ex->internal.data[0] = run->exit_reason;
	ex->internal.data[1] = run->hw.hardware_exit_reason;
}

static void exit_kicked(struct kvm_run *run, struct tramp_exit *ex)
{
	ex->reason = TX_KICKED;
	/*
	 * This return answers every kick made so far; a kick that lands after
	 * this store sets it again and the next run() reports it.
	 */
	__atomic_store_n(&run->immediate_exit, 0, __ATOMIC_SEQ_CST);
}

void hk_exit_translate(struct tramp_vcpu *v, int r, int err, struct tramp_exit *ex)
{
	struct kvm_run *run = v->run;

	ex->if_flag = run->if_flag;
	ex->irq_ready = run->ready_for_interrupt_injection;
	ex->cr8 = run->cr8;
	ex->apic_base = run->apic_base;
	v->sio_active = false;
	if (r < 0 && err == EINTR) {
		exit_kicked(run, ex);
		return;
	}
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		exit_io(run, ex);
		break;
	case KVM_EXIT_MMIO:
		exit_mmio(run, ex);
		break;
	case KVM_EXIT_HLT:
		ex->reason = TX_HLT;
		break;
	case KVM_EXIT_SHUTDOWN:
		ex->reason = TX_SHUTDOWN;
		break;
	case KVM_EXIT_FAIL_ENTRY:
		ex->reason = TX_FAIL_ENTRY;
		ex->fail_entry.hw_reason = run->fail_entry.hardware_entry_failure_reason;
		ex->fail_entry.cpu = run->fail_entry.cpu;
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && hk_emul_exit(v, ex))
			break;
		exit_internal(run, ex);
		break;
	case KVM_EXIT_DEBUG:
		ex->reason = TX_DEBUG;
		ex->debug = run->debug.arch;
		break;
	case KVM_EXIT_IRQ_WINDOW_OPEN:
		ex->reason = TX_IRQ_WINDOW;
		break;
	case KVM_EXIT_SET_TPR:
		/*
		 * A host without TPR shadowing stops for every CR8 decrease of
		 * a guest without a host LAPIC.  The new value is in ex->cr8,
		 * which the daemon's LAPIC (or the client, from run->cr8 after
		 * any exit) takes: nothing else to do but go on.
		 */
		ex->reason = TX_NONE;
		break;
	case KVM_EXIT_INTR:
		exit_kicked(run, ex);
		break;
	case KVM_EXIT_X86_RDMSR:
	case KVM_EXIT_X86_WRMSR:
		ex->reason = run->exit_reason == KVM_EXIT_X86_RDMSR ? TX_RDMSR : TX_WRMSR;
		ex->msr.index = run->msr.index;
		ex->msr.data = run->msr.data;
		ex->msr.error = 0;
		break;
	default:
		exit_unexpected(v, run, ex);
		break;
	}
}

int hk_complete(struct tramp_vcpu *v, const struct tramp_exit *ex)
{
	struct kvm_run *run = v->run;
	size_t n;

	switch (ex->reason) {
	case TX_IO:
		if (v->sio_active)
			return hk_emul_complete(v, ex);
		if (run->exit_reason != KVM_EXIT_IO)
			return 0;
		/* an OUT too: the host moves RIP past it only at its next KVM_RUN */
		v->host_retire_pending = true;
		if (!ex->io.in)
			return 0;
		n = (size_t)ex->io.size * ex->io.count;
		/* the daemon usually answers in place; copy only if it did not */
		if (ex->io.data != (uint8_t *)run + run->io.data_offset)
			memmove((uint8_t *)run + run->io.data_offset, ex->io.data, n);
		return 0;
	case TX_MMIO:
		if (run->exit_reason != KVM_EXIT_MMIO)
			return 0;
		v->host_retire_pending = true;
		if (ex->mmio.is_write)
			return 0;
		memcpy(run->mmio.data, ex->mmio.data, sizeof(run->mmio.data));
		return 0;
	case TX_RDMSR:
	case TX_WRMSR:
		if (run->exit_reason != KVM_EXIT_X86_RDMSR && run->exit_reason != KVM_EXIT_X86_WRMSR)
			return -EINVAL;
		/* a non-zero error makes the host inject #GP instead of retiring */
		run->msr.error = ex->msr.error ? 1 : 0;
		if (ex->reason == TX_RDMSR)
			run->msr.data = ex->msr.data;
		v->host_retire_pending = true;
		return 0;
	case TX_MWAIT:
		return hk_emul_mwait_complete(v, ex);
	default:
		return 0;
	}
}

int hk_settle(struct tramp_vcpu *v, struct tramp_exit *ex)
{
	int r, err = 0;

	if (!v->host_retire_pending)
		return 0;
	v->host_retire_pending = false;
	r = hk_state_flush(v);
	if (r)
		return r;
	/*
	 * A concurrent kick() may store 1 here too; either way this run ends at
	 * once, and the client's KVM_RUN is returning -EINTR anyway, so clearing
	 * it after answers that kick as exit_kicked() does.
	 */
	__atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
	r = ioctl(v->fd, KVM_RUN, 0);
	if (r < 0)
		err = errno;
	__atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
	hk_state_invalidate(&v->st);
	if (r < 0 && err != EINTR)
		return refuse(-err, "hostkvm: vCPU %u: retiring KVM_RUN: %d", v->id, -err);
	if (r < 0)
		return 0;
	/* the retirement itself exited (an MMIO access split across pages) */
	hk_exit_translate(v, r, err, ex);
	return 1;
}
