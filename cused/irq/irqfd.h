/* SPDX-License-Identifier: MIT */
/*
 * The irqfds of one VM (KVM_IRQFD), mirroring Linux virt/kvm/eventfd.c
 * (kvm_irqfd, kvm_irqfd_assign, kvm_irqfd_deassign, irqfd_inject,
 * irqfd_resampler_ack) and x86's kvm_arch_irqfd_allowed.
 *
 * One epoll thread per VM (kvmtool's epoll__init), started by the first
 * assign and stopped through an eventfd, waits on every irqfd's eventfd and
 * injects through the sink.  Assign adds the eventfd level-triggered, so a
 * count signalled before the assign is delivered at once (KVM polls once).
 * Deassign returns only once the thread can no longer inject for that fd.
 *
 * Locks: `lock` covers the list; `cb_lock` is held by the thread while it
 * injects.  The sink (routing, then device locks) is called under cb_lock
 * only, never under `lock`, and irqfd_ack takes only `lock`: so
 * cb_lock -> device lock -> lock is the only order, and an ack notifier
 * may call irqfd_ack with a device lock held.
 */
#ifndef CUSED_IRQ_IRQFD_H
#define CUSED_IRQ_IRQFD_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* where irqfds inject: the VM's GSI routing (routing_set_irq) */
struct irqfd_sink {
	/*
	 * Drive gsi from source (irq_line.h IRQ_SRC_*) to level; returns
	 * kvm_set_irq()'s value (ignored).  Called from the irqfd thread
	 * (holding cb_lock), from irqfd_ack and from deassign (holding none).
	 */
	int (*set_irq)(void *ctx, uint32_t gsi, unsigned source, bool level);
	void *ctx;
	/* KVM irqchip_kernel(): a full in-daemon irqchip, so RESAMPLE is allowed
	 * (a split irqchip has irqfds but no resampling) */
	bool resample;
};

struct routing;
/*
 * The sink for the irqchip code to install: irqfds drive the VM's GSI
 * routing (routing_set_irq, which rt must outlive the set).  full: a
 * KVM_CREATE_IRQCHIP irqchip (resampling allowed); false: a split one.
 *   struct irqfd_sink k = irqfd_routing_sink(rt, true);
 *   irqfd_set_sink(vm->irqfds, &k);
 * and each ack notifier of a GSI (PIC ack, IOAPIC EOI) calls irqfd_ack().
 */
struct irqfd_sink irqfd_routing_sink(struct routing *rt, bool full);

/* per VM; KVM has no limit, the daemon holds an fd (two) for each */
#define IRQFD_MAX 1024u

struct irqfd_set;

/*
 * A halted vCPU's runner waits on the irqfds too (irqfd_poll_fd in its
 * poll set) and injects what is ready itself (irqfd_poll): the interrupt
 * then reaches it without a hop through the thread, as KVM's irqfd wakeup
 * injects from the writer's context.  Both may see an event; the eventfd
 * read decides who injects.
 */
/* the epoll fd of the set's irqfds, -1 before the first assign; valid until destroy */
int irqfd_poll_fd(struct irqfd_set *s);
/*
 * Any thread, no device lock held: inject for every irqfd ready now,
 * without waiting; nothing if the thread is injecting at this moment.
 */
void irqfd_poll(struct irqfd_set *s);

/* an empty set without sink (every assign is -EINVAL); 0 or -ENOMEM */
int irqfd_set_create(struct irqfd_set **out);
/* stop the thread, close every fd; no other entry point may be running */
void irqfd_set_destroy(struct irqfd_set *s);

/*
 * KVM_CREATE_IRQCHIP or KVM_CAP_SPLIT_IRQCHIP: from now on irqfds inject
 * through *sink (copied; sink->ctx must outlive the set).  Once per VM,
 * before any assign can succeed.
 */
void irqfd_set_sink(struct irqfd_set *s, const struct irqfd_sink *sink);

/*
 * KVM_IRQFD.  fd and resamplefd are the daemon's copies of a->fd and
 * a->resamplefd (or the negative errno of taking them; resamplefd is only
 * looked at for an assign with RESAMPLE); the set always consumes both
 * (keeps or closes them).  -EINVAL: flags other than DEASSIGN|RESAMPLE;
 * assign with no irqchip, or RESAMPLE without a full one; fd (or
 * resamplefd) not an eventfd.  -EBADF (the take's errno) for a closed fd.
 * -EBUSY: that eventfd already is an irqfd of this VM (any GSI).
 * Deassign of an fd that is not assigned to gsi succeeds, as in KVM.
 */
int irqfd_ioctl(struct irqfd_set *s, const struct kvm_irqfd *a, int fd, int resamplefd);

/*
 * The irqchip acked gsi (IOAPIC EOI or PIC ack: KVM's ack notifier): if
 * resample irqfds are on gsi, de-assert their line (IRQ_SRC_IRQFD_RESAMPLE)
 * and signal each resamplefd, as irqfd_resampler_ack.  Call with no device
 * lock held (KVM drops ioapic->lock around kvm_notify_acked_irq).
 */
void irqfd_ack(struct irqfd_set *s, uint32_t gsi);

/* how many irqfds the set has (tests, status) */
unsigned irqfd_count(struct irqfd_set *s);
/* how many client fds it holds (an irqfd and its resamplefd), for the uid's budget */
unsigned irqfd_fds(struct irqfd_set *s);

#endif
