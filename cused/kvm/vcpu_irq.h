/* SPDX-License-Identifier: MIT */
/*
 * The vCPU side of the in-daemon irqchip: the LAPIC's runner.  What KVM's
 * vcpu_enter_guest / vcpu_block / kvm_apic_accept_events do around each
 * entry, and the accesses KVM answers in the kernel (xAPIC and IOAPIC MMIO,
 * PIC/PIT ports, APIC base, x2APIC and TSC-deadline MSRs).  Every function
 * is a no-op (or returns "not mine") for a vCPU without a LAPIC, so the
 * hooks in vcpu.c / vcpu_run.c stay one line each.  Runner-side functions
 * are called with vcpu->lock held.
 */
#ifndef CUSED_KVM_VCPU_IRQ_H
#define CUSED_KVM_VCPU_IRQ_H

#include <stdbool.h>
#include <stdint.h>
#include "cused/tramp/backend.h"

struct vcpu;
struct ioctl_req;
struct kvm_sregs;

/* after the backend vCPU exists: attach a LAPIC when the VM has an irqchip; 0 or -errno */
int vcpu_irq_create(struct vcpu *v);
/* the runner is stopped: detach from the irqchip and free the runner state */
void vcpu_irq_destroy(struct vcpu *v);

/* KVM_RUN start: the last exit's interrupt window facts are stale now */
void vcpu_irq_run_start(struct vcpu *v);
/* KVM_RUN is over (every return of the run loop): the timer thread takes the LAPIC deadline back */
void vcpu_irq_run_end(struct vcpu *v);
/*
 * Before each entry: accept INIT/SIPI, sleep while halted or waiting for
 * SIPI, inject.  0: enter now; 1: go round (a wake-up; re-check kicks);
 * -EAGAIN: KVM_RUN of a vCPU that was UNINITIALIZED returns it, as KVM.
 */
int vcpu_irq_enter(struct vcpu *v);
/* right after the backend returned: CR8/TPR and APIC base facts into ex */
void vcpu_irq_exited(struct vcpu *v, struct tramp_exit *ex);
/* a TX_KICKED that only woke us for an interrupt: go round, the client saw nothing */
bool vcpu_irq_kick_only(struct vcpu *v);
/*
 * An exit the irqchip may own (HLT, IRQ window, PIC/PIT ports, LAPIC and
 * IOAPIC MMIO).  Returns 0 when it is the client's, 1 when handled in the
 * daemon (go round), 2 when kvm_run was filled for an exit to the client
 * (split irqchip EOI), or a negative errno.
 */
int vcpu_irq_exit(struct vcpu *v, struct tramp_exit *ex);
/* the client's kick (signal): also wake a HLT sleep; any thread */
void vcpu_irq_wake(struct vcpu *v);

/*
 * MSRs the LAPIC owns (0x1b, 0x6e0, 0x800-0x8ff): true if handled, with *r
 * = 0 or 1 (#GP / KVM_SET_MSRS stops).  host is KVM's host_initiated.
 */
bool vcpu_irq_msr(struct vcpu *v, bool write, uint32_t index, uint64_t *data, bool host, int *r);
/* after a guest MSR access was answered: 2 if kvm_run now holds a split-irqchip EOI exit */
int vcpu_irq_msr_done(struct vcpu *v);

/* vCPU ioctls with an irqchip (KVM_GET/SET_LAPIC, KVM_GET/SET_MP_STATE,
 * KVM_INTERRUPT); false: not handled here, *ret untouched */
bool vcpu_irq_ioctl(struct vcpu *v, struct ioctl_req *rq, long *ret);
/* KVM_SET_CPUID2 changed x2APIC / TSC-deadline availability */
void vcpu_irq_cpuid_changed(struct vcpu *v);
/* KVM_GET_SREGS / KVM_SET_SREGS: apic_base and cr8 are the LAPIC's */
void vcpu_irq_sregs_get(struct vcpu *v, struct kvm_sregs *s);
int vcpu_irq_sregs_set(struct vcpu *v, const struct kvm_sregs *s);

#endif
