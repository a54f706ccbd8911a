/* SPDX-License-Identifier: MIT */
/*
 * The per-VM interrupt container: what KVM keeps in kvm->arch (vpic,
 * vioapic, vpit, irq_routing, irqchip_mode) plus the APIC bus and the
 * VM's timer thread, and the KVM ioctls that act on them (Linux 6.1
 * arch/x86/kvm/x86.c kvm_arch_vm_ioctl, virt/kvm/kvm_main.c, irq_comm.c).
 *
 * Wiring (routing.h): PIT pulse -> routing GSI 0; PIC/IOAPIC ack and mask
 * notifiers -> routing_map_chip_pin -> pit_irq_ack/pit_irq_mask for GSI 0;
 * PIC INTR -> kick every attached vCPU (the one whose LAPIC takes ExtINT
 * picks it up); LAPIC EOI -> ioapic_update_eoi.  Devices are created once
 * and freed only with the container, so a pointer read after the mode is
 * published stays valid for the VM's life.
 *
 * Threads.  chip->lock covers mode changes, PIT creation and the vCPU
 * table; it is never held while calling into a device.  The caller
 * serialises KVM_CREATE_IRQCHIP / KVM_CAP_SPLIT_IRQCHIP against vCPU
 * creation (vm->lock) and says whether vCPUs exist.
 */
#ifndef CUSED_IRQ_IRQCHIP_H
#define CUSED_IRQ_IRQCHIP_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include "cused/irq/irq.h"
#include "cused/irq/ioapic.h"
#include "cused/irq/pic.h"
#include "cused/irq/pit.h"
#include "cused/irq/timerq.h"

struct ioctl_req;
struct lapic;
struct pic;
struct ioapic;
struct pit;
struct routing;
struct apic_bus;

/* KVM's irqchip_mode */
enum irqchip_mode { IRQCHIP_NONE = 0, IRQCHIP_KERNEL, IRQCHIP_SPLIT };

#define IRQCHIP_MAX_LAPICS 64       /* CUSED_MAX_VCPUS */
#define IRQCHIP_MAX_RESERVED_IOAPIC_PINS 4096 /* KVM's MAX_NR_RESERVED_IOAPIC_PINS = KVM_MAX_IRQ_ROUTES */

/*
 * One vCPU's interrupt side, owned by the container (freed with the VM, so
 * a message already headed for it never touches freed memory).  The
 * runner (vcpu_irq.c) owns lapic's registers; everything else here is
 * for waking it.
 */
struct irqchip_vcpu {
	struct irqchip *chip;
	struct lapic *lapic;
	uint32_t vcpu_id;
	unsigned index;                 /* slot in the bus and in chip->vcpus[] */
	struct irq_env env;             /* ctx = this */
	/* wake: the runner's HLT/INIT sleep and its guest-exit kick */
	pthread_mutex_t wlock;
	pthread_cond_t wcond;
	uint64_t wake_seq;              /* written under wlock (seq_cst), read anywhere; bumped by every kick */
	void (*kick)(void *ctx);        /* under wlock; NULL while no vCPU is attached */
	void *kick_ctx;
	/*
	 * Under wlock: the runner sleeps in poll() on wake_efd (and the
	 * irqfds) rather than on wcond, so a kick must write wake_efd.
	 * wake_efd: nonblocking eventfd, -1 until the runner first needs it.
	 */
	bool efd_sleep;
	int wake_efd;
	/* in KVM_RUN (under the vCPU's lock): near LAPIC deadlines are the runner's */
	bool in_run;
	/* split irqchip: a level EOI the runner must report (KVM_EXIT_IOAPIC_EOI), -1 none */
	int pending_eoi;
};

struct irqchip {
	pthread_mutex_t lock;           /* mode, pit, vcpus[], tq creation */
	_Atomic int mode;               /* enum irqchip_mode; set once */
	uint32_t x2apic_api;            /* KVM_CAP_X2APIC_API flags */
	uint32_t bsp_id;                /* KVM_SET_BOOT_CPU_ID */
	unsigned nr_reserved_ioapic_pins;
	struct timerq *tq;
	struct apic_bus *bus;
	struct pic *pic;                /* KERNEL mode only */
	struct ioapic *io;              /* KERNEL mode only */
	struct routing *rt;             /* KERNEL and SPLIT */
	struct pit *_Atomic pit;        /* KVM_CREATE_PIT2, with or without an irqchip */
	struct irqchip_vcpu *vcpus[IRQCHIP_MAX_LAPICS];
	unsigned nr_vcpus;
	/* the VM's other ack notifiers (irqfd resample, cused/kvm/vm_evfd.c): set
	 * once before any mode; called with no device lock held */
	void (*ack_notify)(void *ctx, unsigned gsi);
	void *ack_ctx;
	/* envs handed to the devices; ctx = this container */
	struct irq_env env_io, env_pit, env_rt;
	struct pic_env pic_hooks;
	struct ioapic_env io_hooks;
	struct pit_env pit_hooks;
};

/* an empty container (mode NONE, no thread); 0 or -ENOMEM */
int irqchip_new(struct irqchip **out);
/* free everything; no vCPU runs and no ioctl is in progress */
void irqchip_free(struct irqchip *c);

static inline int irqchip_mode(struct irqchip *c)
{
	return __atomic_load_n((int *)&c->mode, __ATOMIC_ACQUIRE);
}

/* the PIT, or NULL before KVM_CREATE_PIT2; any thread */
static inline struct pit *irqchip_pit(struct irqchip *c)
{
	return atomic_load_explicit(&c->pit, memory_order_acquire);
}

/*
 * KVM_CREATE_IRQCHIP: -EEXIST if any irqchip exists, -EINVAL if have_vcpus
 * (KVM checks in that order); PIC + IOAPIC + default routing.
 */
int irqchip_create_kernel(struct irqchip *c, bool have_vcpus);
/* KVM_ENABLE_CAP(KVM_CAP_SPLIT_IRQCHIP): -EINVAL pins > 4096; -EEXIST irqchip or vCPUs */
int irqchip_create_split(struct irqchip *c, uint64_t nr_pins, bool have_vcpus);
/* KVM_CREATE_PIT2 (flags: struct kvm_pit_config.flags): -EEXIST if one exists; works
 * without an irqchip too, as in KVM 6.1 (its pulses then go nowhere) */
int irqchip_create_pit(struct irqchip *c, uint32_t flags);
/* KVM_SET_BOOT_CPU_ID: -EBUSY once vCPUs exist */
int irqchip_set_boot_cpu(struct irqchip *c, uint64_t id, bool have_vcpus);

/*
 * The VM ioctls of this room (KVM_IRQ_LINE(_STATUS), KVM_GET/SET_IRQCHIP,
 * KVM_SET_GSI_ROUTING, KVM_SIGNAL_MSI, KVM_CREATE_PIT(2), KVM_GET/SET_PIT(2),
 * KVM_REINJECT_CONTROL).  Returns false when rq->cmd is none of them;
 * otherwise true with KVM's result in *ret.
 */
bool irqchip_vm_ioctl(struct irqchip *c, struct ioctl_req *rq, long *ret);

/*
 * A vCPU with id vcpu_id attaches (KVM_CREATE_VCPU with an irqchip): its
 * LAPIC is created (or, for an id seen before, reset) and kick(kick_ctx)
 * is what wakes its runner out of the guest.  -ENOMEM / -ENOSPC.
 */
int irqchip_attach_vcpu(struct irqchip *c, uint32_t vcpu_id, void (*kick)(void *),
			void *kick_ctx, struct irqchip_vcpu **out);
/* the vCPU is going away: no more kicks reach it; its LAPIC leaves the bus */
void irqchip_detach_vcpu(struct irqchip_vcpu *iv);
/* wake the runner (HLT sleep) and kick it out of the guest; any thread */
void irqchip_vcpu_kick(struct irqchip_vcpu *iv);
/*
 * The runner, about to sleep in HLT, no lock held: fire its LAPIC timer
 * here if it is due at now (timerq_fire_due), so the wake-up does not wait
 * for the timer thread.  Returns the LAPIC's armed deadline (CLOCK_MONOTONIC
 * ns) after that, 0 if none.
 */
uint64_t irqchip_vcpu_timer_due(struct irqchip_vcpu *iv, uint64_t now);
/*
 * A LAPIC deadline at most this far away, armed inside KVM_RUN, is left to
 * the runner: it waits for it and fires it before the next entry (KVM's
 * wait_lapic_expire with LAPIC_TIMER_ADVANCE_NS_MAX).
 */
#define IRQCHIP_TIMER_ADVANCE_NS 5000ull
/*
 * The runner, holding the vCPU's lock: KVM_RUN begins / ends.  Between the
 * two it must call irqchip_vcpu_timer_due before every entry and sleep;
 * run_end hands any deadline left to the timer thread.
 */
void irqchip_vcpu_run_begin(struct irqchip_vcpu *iv);
/*
 * The runner: the eventfd a kick writes while it sleeps in poll()
 * (created at the first call, closed with the chip); -1 if none can be made.
 */
int irqchip_vcpu_wake_fd(struct irqchip_vcpu *iv);
void irqchip_vcpu_run_end(struct irqchip_vcpu *iv);

/* port I/O for the PIC (KERNEL mode) and the PIT; -ENOENT: not ours */
int irqchip_pio(struct irqchip *c, uint16_t port, bool in, void *data, unsigned len);
/* IOAPIC MMIO (KERNEL mode); -ENOENT: not ours */
int irqchip_ioapic_mmio(struct irqchip *c, uint64_t gpa, bool write, void *data, unsigned len);
/* the PIC's INTR for the vCPU whose LAPIC accepts ExtINT: vector, or -1 */
bool irqchip_pic_has_intr(struct irqchip *c);
int irqchip_pic_intack(struct irqchip *c);

#endif
