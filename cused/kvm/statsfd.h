/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_STATS_FD.  The daemon half parks a stats object under a token
 * (CUSED_IOC_STATS_FD on a VM or vCPU handle); libcused opens the device
 * again read-only and binds the fresh handle to it (CUSED_BIND_STATS), and
 * that fd is what the client gets.  Reads (pread / read) of the bound handle
 * are KVM's binary stats file (binstats.h), counters taken at read time.
 *
 * What a stats object holds: the id string and, for a vCPU, a reference on
 * that vCPU's counter block (stats.h), never the VM or vCPU itself.  KVM's
 * stats fd pins the whole struct kvm; here closing the VM and vCPU fds frees
 * the guest, its memory and its charges at once, and a stats fd that
 * outlives them reads the counters as they were at the end (the VM fd's
 * counters are all 0 anyway).  The block is the only thing the handle can
 * reach, so it can never read another VM's or vCPU's stats.  Each object is
 * charged to the uid that asked for it (CUSED_MAX_STATS_FDS_PER_UID) until
 * it is freed.
 */
#ifndef CUSED_KVM_STATSFD_H
#define CUSED_KVM_STATSFD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "cused/kvm/binstats.h"
#include "cused/kvm/ioctl.h"

struct cused_ctx;
struct cused_handle;

struct statsfd {
	struct cused_ctx *ctx;
	uid_t uid;                     /* charged to it */
	struct vcpu_stats *vcpu;       /* one reference; NULL: a VM's stats */
	char id[BINSTATS_NAME_SIZE];   /* "kvm-<pid>" or "kvm-<pid>/vcpu-<id>" */
};

/*
 * CUSED_IOC_STATS_FD on h, a VM or vCPU handle: park a stats object of h's
 * VM or vCPU for rq->uid and return its token in the struct cused_create
 * out.  0, -EFAULT (no out buffer), -ENOMEM (out of memory, or over the
 * uid's cap), -EAGAIN (no token).
 */
long statsfd_create(struct cused_handle *h, struct ioctl_req *rq);
/* free a parked or bound stats object and its charge */
void statsfd_put(struct statsfd *s);
/*
 * pread(fd, buf, size, off) of a bound stats handle: the bytes copied (0 at
 * or past the end, short at it), as KVM's kvm_stats_read.
 */
size_t statsfd_read(const struct statsfd *s, void *buf, size_t size, uint64_t off);

#endif
