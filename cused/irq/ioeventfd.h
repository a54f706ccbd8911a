/* SPDX-License-Identifier: MIT */
/*
 * The ioeventfds of one VM (KVM_IOEVENTFD), mirroring Linux
 * virt/kvm/eventfd.c (kvm_assign_ioeventfd, kvm_assign_ioeventfd_idx,
 * ioeventfd_check_collision, ioeventfd_in_range, kvm_deassign_ioeventfd_idx).
 *
 * A guest write (PIO OUT or MMIO store) that matches one is retired by the
 * vCPU's runner in the daemon: the eventfd is signalled and the exit never
 * reaches the client (STYLE.md §3).  The table is read on every such exit,
 * so lookups take only the read side of a rwlock and the signal is sent
 * after it is dropped, holding a reference on the entry instead: a
 * deassign never waits for a client's eventfd.
 */
#ifndef CUSED_IRQ_IOEVENTFD_H
#define CUSED_IRQ_IOEVENTFD_H

#include <stdbool.h>
#include <stdint.h>
#include <linux/kvm.h>

/* KVM's io buses an ioeventfd can sit on (KVM_FAST_MMIO_BUS is MMIO with len 0 here) */
enum ioeventfd_bus { IOEVENTFD_MMIO, IOEVENTFD_PIO, IOEVENTFD_CCW };

/*
 * KVM_IOEVENTFD_VALID_FLAG_MASK: every flag of the uapi enum, including
 * VIRTIO_CCW_NOTIFY (an x86 VM accepts it: the CCW bus exists and is never
 * written) and the never-#defined fast-MMIO bit 4 (ignored).
 */
#define IOEVENTFD_VALID_FLAGS ((1u << kvm_ioeventfd_flag_nr_max) - 1)
/*
 * Per VM.  KVM does not count ioeventfds against NR_IOBUS_DEVS; the daemon
 * holds an fd for each, so it bounds them (ENOSPC, KVM's "bus full").
 */
#define IOEVENTFD_MAX 1024u

struct ioeventfd_set;

/* an empty set; 0 or -ENOMEM */
int ioeventfd_set_create(struct ioeventfd_set **out);
/* close every eventfd; no other entry point may be running */
void ioeventfd_set_destroy(struct ioeventfd_set *s);

/*
 * KVM_IOEVENTFD.  fd is the daemon's copy of a->fd (clientfd_take) or the
 * negative errno taking it gave; the set always consumes it (keeps it, or
 * closes it on any error).  Assign: -EINVAL for len not 0/1/2/4/8, addr+len
 * wrapping, unknown flags, DATAMATCH with len 0, an fd that is no eventfd;
 * -EBADF (or the take's errno) for no fd; -EEXIST when an ioeventfd on the
 * same bus and addr has len 0, or the other has len 0, or both have the
 * same len and either is a wildcard or both match the same datamatch;
 * -ENOSPC beyond IOEVENTFD_MAX.  Deassign: the fd's errors, then -ENOENT
 * unless an entry with the same eventfd, bus, addr, len, wildcard-ness and
 * (DATAMATCH) datamatch exists.  Takes the write lock.
 */
int ioeventfd_ioctl(struct ioeventfd_set *s, const struct kvm_ioeventfd *a, int fd);

/*
 * The vCPU runner: does a guest write of len bytes at addr on bus match
 * (KVM ioeventfd_in_range: exact addr; len 0 matches any write; else the
 * same len, and the zero-extended data equals datamatch unless wildcard)?
 * true: the eventfd was signalled, the caller retires the access.  Lock-free
 * when the VM has no ioeventfd; never blocks on a client fd under the lock.
 */
bool ioeventfd_write(struct ioeventfd_set *s, enum ioeventfd_bus bus, uint64_t addr,
		     unsigned len, const void *data);
/* how many ioeventfds (each holds a client fd), for the uid's budget */
unsigned ioeventfd_count(struct ioeventfd_set *s);
/* the same match without signalling (a REP OUTS is taken only if every element matches) */
bool ioeventfd_matches(struct ioeventfd_set *s, enum ioeventfd_bus bus, uint64_t addr,
		       unsigned len, const void *data);

#endif
