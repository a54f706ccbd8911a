/* SPDX-License-Identifier: MIT */
/*
 * KVM_IRQFD, KVM_IOEVENTFD and KVM_(UN)REGISTER_COALESCED_MMIO of a VM and
 * the runner's hook for them (vm_evfd.h); the rules live in cused/irq/irqfd.c,
 * ioeventfd.c and cused/kvm/coalesced.c.
 */
#include <errno.h>
#include "cused/kvm/vm_evfd.h"
#include "cused/kvm/vcpu.h"
#include "cused/kvm/clientfd.h"
#include "cused/kvm/guestmem.h"
#include "cused/irq/irqfd.h"
#include "cused/irq/ioeventfd.h"
#include "cused/irq/irqchip.h"
#include "cused/util/log.h"

/* the irqchip acked gsi (PIC ack, IOAPIC EOI): irqfd resamplers hear of it */
static void acked(void *ctx, unsigned gsi)
{
	irqfd_ack(ctx, gsi);
}

void vm_evfd_irqchip_created(struct vm *vm)
{
	struct irqchip *c = vm->irqchip;
	struct irqfd_sink k = irqfd_routing_sink(c->rt, irqchip_mode(c) == IRQCHIP_KERNEL);

	irqfd_set_sink(vm->irqfds, &k);
}

int vm_evfd_init(struct vm *vm)
{
	int r = irqfd_set_create(&vm->irqfds);

	if (r)
		return r;
	r = ioeventfd_set_create(&vm->ioeventfds);
	if (r) {
		irqfd_set_destroy(vm->irqfds);
		vm->irqfds = NULL;
		return r;
	}
	coalesced_init(&vm->coalesced);
	pthread_mutex_init(&vm->evfd_lock, NULL);
	vm->evfd_charged = 0;
	/* before any irqchip mode exists, so no ack can race this */
	vm->irqchip->ack_ctx = vm->irqfds;
	vm->irqchip->ack_notify = acked;
	return 0;
}

void vm_evfd_fini(struct vm *vm)
{
	irqfd_set_destroy(vm->irqfds);
	ioeventfd_set_destroy(vm->ioeventfds);
	vm->irqfds = NULL;
	vm->ioeventfds = NULL;
	coalesced_fini(&vm->coalesced);
	pthread_mutex_destroy(&vm->evfd_lock);
	ctx_uncharge_fds(vm->ctx, vm->uid, vm->evfd_charged);
	vm->evfd_charged = 0;
	guestmem_unmap(vm->ring, CUSED_PAGE_SIZE);
	vm->ring = NULL;
}

int vm_attach_ring(struct vm *vm, pid_t pid, int ring_fd)
{
	/* the daemon writes it from every runner: it may never shrink under us */
	struct guestmem_want w = { .size = CUSED_PAGE_SIZE, .writable = true,
				   .unshrinkable = true };
	void *p;
	int r;

	if (ring_fd < 0)
		return 0;
	r = guestmem_map(pid, ring_fd, &w, &p);
	if (r)
		return refuse(r, "CUSED_IOC_BIND: VM ring fd %d unusable: %d", ring_fd, r);
	vm->ring = p;
	coalesced_set_ring(&vm->coalesced, p);
	return 0;
}

static long fd_ioctl(struct vm *vm, struct ioctl_req *rq);

/* client fds an assign may add: irqfd 1, with a resamplefd 2, ioeventfd 1; deassign 0 */
static unsigned fds_needed(const struct ioctl_req *rq)
{
	if (rq->cmd == KVM_IRQFD) {
		const struct kvm_irqfd *a = req_in(rq, sizeof(*a));

		if (!a || (a->flags & KVM_IRQFD_FLAG_DEASSIGN))
			return 0;
		return a->flags & KVM_IRQFD_FLAG_RESAMPLE ? 2 : 1;
	} else {
		const struct kvm_ioeventfd *a = req_in(rq, sizeof(*a));

		return !a || (a->flags & KVM_IOEVENTFD_FLAG_DEASSIGN) ? 0 : 1;
	}
}

/*
 * KVM_IRQFD and KVM_IOEVENTFD keep client fds in the daemon: charge what
 * the call may add to the VM's uid first, then keep what the sets hold.
 * Over the budget that is ENOMEM, as KVM's accounted allocation of an
 * irqfd or ioeventfd fails over the user's memory cgroup limit.  A
 * deassign needs nothing, so it always gets through.
 */
static long charged_ioctl(struct vm *vm, struct ioctl_req *rq)
{
	unsigned need = fds_needed(rq), held;
	long r;

	pthread_mutex_lock(&vm->evfd_lock);
	if (ctx_charge_fds(vm->ctx, vm->uid, need)) {
		pthread_mutex_unlock(&vm->evfd_lock);
		return refuse(-ENOMEM, "pid %d: uid %u already has %u eventfds in the daemon",
			      rq->pid, (unsigned)vm->uid, CUSED_MAX_EVENTFDS_PER_UID);
	}
	r = fd_ioctl(vm, rq);
	held = irqfd_fds(vm->irqfds) + ioeventfd_count(vm->ioeventfds);
	/* held <= charged + need: a deassign's fds are given back here too */
	ctx_uncharge_fds(vm->ctx, vm->uid, vm->evfd_charged + need - held);
	vm->evfd_charged = held;
	pthread_mutex_unlock(&vm->evfd_lock);
	return r;
}

long vm_evfd_ioctl(struct vm *vm, struct ioctl_req *rq)
{
	switch (rq->cmd) {
	case KVM_IRQFD:
	case KVM_IOEVENTFD:
		return charged_ioctl(vm, rq);
	case KVM_REGISTER_COALESCED_MMIO:
	case KVM_UNREGISTER_COALESCED_MMIO: {
		const struct kvm_coalesced_mmio_zone *z = req_in(rq, sizeof(*z));

		if (!z)
			return -EFAULT;
		/* a VM without a ring (no shim) takes zones and never coalesces */
		if (rq->cmd == KVM_REGISTER_COALESCED_MMIO)
			return coalesced_register(&vm->coalesced, z);
		return coalesced_unregister(&vm->coalesced, z);
	}
	default:
		return refuse(-ENOTTY, "VM ioctl %#x not implemented", rq->cmd);
	}
}

static long fd_ioctl(struct vm *vm, struct ioctl_req *rq)
{
	switch (rq->cmd) {
	case KVM_IRQFD: {
		const struct kvm_irqfd *a = req_in(rq, sizeof(*a));
		int fd, rfd = -EBADF;

		if (!a)
			return -EFAULT;
		/* the caller waits in this ioctl, so its fds cannot change under us */
		fd = clientfd_take(rq->pid, (int)a->fd);
		if ((a->flags & KVM_IRQFD_FLAG_RESAMPLE) && !(a->flags & KVM_IRQFD_FLAG_DEASSIGN))
			rfd = clientfd_take(rq->pid, (int)a->resamplefd);
		return irqfd_ioctl(vm->irqfds, a, fd, rfd);
	}
	case KVM_IOEVENTFD: {
		const struct kvm_ioeventfd *a = req_in(rq, sizeof(*a));

		if (!a)
			return -EFAULT;
		return ioeventfd_ioctl(vm->ioeventfds, a, clientfd_take(rq->pid, a->fd));
	}
	default:
		return -ENOTTY;
	}
}

/* a PIO OUT: every element must match, or the whole access goes to the client */
static bool pio_out(struct ioeventfd_set *s, const struct tramp_exit *ex)
{
	const uint8_t *d = ex->io.data;
	unsigned n = ex->io.count, sz = ex->io.size;

	if (n == 1)
		return ioeventfd_write(s, IOEVENTFD_PIO, ex->io.port, sz, d);
	for (unsigned i = 0; i < n; i++)
		if (!ioeventfd_matches(s, IOEVENTFD_PIO, ex->io.port, sz, d + (size_t)i * sz))
			return false;
	for (unsigned i = 0; i < n; i++)
		ioeventfd_write(s, IOEVENTFD_PIO, ex->io.port, sz, d + (size_t)i * sz);
	return true;
}

bool vcpu_evfd_write(struct vcpu *v, struct tramp_exit *ex)
{
	struct ioeventfd_set *s = v->vm->ioeventfds;
	bool taken;
	int r;

	/* an ioeventfd first, then a coalesced zone (one element only) */
	if (ex->reason == TX_IO && !ex->io.in)
		taken = pio_out(s, ex) ||
			(ex->io.count == 1 && coalesced_write(&v->vm->coalesced, true, ex->io.port,
							      ex->io.size, ex->io.data));
	else if (ex->reason == TX_MMIO && ex->mmio.is_write)
		taken = ioeventfd_write(s, IOEVENTFD_MMIO, ex->mmio.gpa, ex->mmio.len,
					ex->mmio.data) ||
			coalesced_write(&v->vm->coalesced, false, ex->mmio.gpa, ex->mmio.len,
					ex->mmio.data);
	else
		return false;
	if (!taken)
		return false;
	/* what retire_last_exit would do at the next KVM_RUN, done now */
	r = v->vm->ctx->ops->complete(v->tv, ex);
	if (r)
		log_warn("vcpu %u: backend could not retire an ioeventfd write: %d", v->id, r);
	return true;
}
