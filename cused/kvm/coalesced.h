/* SPDX-License-Identifier: MIT */
/*
 * Coalesced MMIO and PIO of one VM, mirroring Linux virt/kvm/coalesced_mmio.c
 * (kvm_vm_ioctl_register/unregister_coalesced_mmio, coalesced_mmio_in_range,
 * coalesced_mmio_write).  A guest write inside a zone is appended to the
 * VM's ring instead of exiting; the client drains the ring, which it sees
 * at page KVM_COALESCED_MMIO_PAGE_OFFSET of every vCPU mapping.
 *
 * The ring is a page of a memfd the shim made at KVM_CREATE_VM (sealed
 * against shrinking) and passed at CUSED_IOC_BIND.  The client writes
 * ring->first, so every index read from it is checked, as KVM does.
 */
#ifndef CUSED_KVM_COALESCED_H
#define CUSED_KVM_COALESCED_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* entries of the ring page: KVM_COALESCED_MMIO_MAX for 4 KiB pages */
#define COALESCED_RING_MAX ((4096 - sizeof(struct kvm_coalesced_mmio_ring)) / \
			    sizeof(struct kvm_coalesced_mmio))
/* KVM's NR_IOBUS_DEVS: devices (zones here) per bus before ENOSPC */
#define COALESCED_MAX_ZONES 1000u

struct coalesced {
	pthread_mutex_t lock;      /* covers zones, nz, and appending to ring */
	struct kvm_coalesced_mmio_zone *zones;
	unsigned nz, cap;
	unsigned n_bus[2];         /* zones per bus (MMIO, PIO), for ENOSPC */
	struct kvm_coalesced_mmio_ring *ring; /* shared with the client; NULL: none */
};

void coalesced_init(struct coalesced *c);
/* frees the zones; the ring mapping is the caller's */
void coalesced_fini(struct coalesced *c);
/* the ring page (one page, shared); before the VM is visible to anyone */
void coalesced_set_ring(struct coalesced *c, struct kvm_coalesced_mmio_ring *ring);

/*
 * KVM_REGISTER_COALESCED_MMIO: -EINVAL for pio not 0/1, -ENOSPC beyond
 * COALESCED_MAX_ZONES on that bus, -ENOMEM.  Any addr/size, overlaps
 * included, as KVM.  Takes c->lock.
 */
int coalesced_register(struct coalesced *c, const struct kvm_coalesced_mmio_zone *z);
/*
 * KVM_UNREGISTER_COALESCED_MMIO: -EINVAL for pio not 0/1; otherwise removes
 * every zone of that bus that contains [addr, addr+size) and returns 0.
 */
int coalesced_unregister(struct coalesced *c, const struct kvm_coalesced_mmio_zone *z);

/*
 * The vCPU runner: a guest write of len bytes at addr (pio: a port) inside
 * a zone is appended to the ring; true means it was, and the access is
 * retired without an exit.  false when no zone holds it, there is no ring,
 * or the ring is full (KVM then exits as usual).
 */
bool coalesced_write(struct coalesced *c, bool pio, uint64_t addr, unsigned len,
		     const void *data);

#endif
