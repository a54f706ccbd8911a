/* SPDX-License-Identifier: MIT */
/*
 * The eventfd ioctls of a VM (KVM_IRQFD, KVM_IOEVENTFD) and the runner's
 * hook that retires matching guest writes in the daemon.  The logic lives
 * in cused/irq/irqfd.c and ioeventfd.c; this is the glue to struct vm,
 * struct vcpu and the client's fds (clientfd_take).
 */
#ifndef CUSED_KVM_VM_EVFD_H
#define CUSED_KVM_VM_EVFD_H

#include <stdbool.h>
#include <sys/types.h>

struct vm;
struct vcpu;
struct ioctl_req;
struct tramp_exit;

/* vm_create: the VM's empty sets; 0 or -ENOMEM (nothing to undo then) */
int vm_evfd_init(struct vm *vm);
/* vm_put, before the irqchip goes: stops the irqfd thread, closes the fds */
void vm_evfd_fini(struct vm *vm);
/*
 * CUSED_IOC_BIND of a VM: map the coalesced ring page from the client's
 * ring_fd (a memfd of at least a page sealed with F_SEAL_SHRINK); -1 means
 * none (an old shim): zones are then taken but never coalesce.
 */
int vm_attach_ring(struct vm *vm, pid_t pid, int ring_fd);
/*
 * KVM_CREATE_IRQCHIP or KVM_CAP_SPLIT_IRQCHIP succeeded: irqfds now inject
 * through the VM's GSI routing (resampling only with a full irqchip).
 */
void vm_evfd_irqchip_created(struct vm *vm);
/* KVM_IRQFD, KVM_IOEVENTFD, KVM_(UN)REGISTER_COALESCED_MMIO on a VM handle */
long vm_evfd_ioctl(struct vm *vm, struct ioctl_req *rq);

/*
 * exit_to_user, for TX_IO and TX_MMIO: a guest OUT or MMIO store that an
 * ioeventfd takes is signalled and retired here (the backend's complete());
 * true means the exit must not reach the client.  Runner only.
 */
bool vcpu_evfd_write(struct vcpu *v, struct tramp_exit *ex);

#endif
