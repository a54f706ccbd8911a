/* SPDX-License-Identifier: MIT */
/*
 * Private protocol between libcused (the LD_PRELOAD client shim) and the
 * cused daemon.  It covers only what CUSE/FUSE cannot do for a device:
 * handing out a new fd per VM / vCPU, sharing kvm_run, and sharing guest RAM.
 *
 * New objects: the shim asks the daemon to create a VM or vCPU on an existing
 * handle and receives an unguessable token; it then opens the device again
 * (a fresh daemon handle) and binds that handle to the token.  The new fd is
 * what the client gets back from KVM_CREATE_VM / KVM_CREATE_VCPU.
 *
 * Shared memory is passed by fd number, and no socket is needed: during the
 * ioctl the daemon duplicates the caller's open file description with
 * pidfd_getfd() (the caller's process, resolved from the thread FUSE names).
 * It maps that description as it is and never re-opens anything by path, so
 * the fd must grant what the mapping needs: a regular file or memfd, not
 * O_PATH, open O_RDWR for a writable slot or the kvm_run area (EBADF for an
 * O_PATH or closed fd, EACCES for a too weak access mode, EINVAL for another
 * kind of file or one too small for fd_offset + size).
 */
#ifndef CUSED_SHIM_ABI_H
#define CUSED_SHIM_ABI_H

#include <linux/types.h>
#include <linux/ioctl.h>
#include <linux/kvm.h>

#define CUSED_SHIM_VERSION 2   /* 2: VM bind passes the coalesced ring */
#define CUSED_DEFAULT_MOUNT "/run/cused"
#define CUSED_DEFAULT_DEVICE "/run/cused/kvm"

/*
 * Layout of a vCPU's shared mapping (size = KVM_GET_VCPU_MMAP_SIZE):
 *   page 0: struct kvm_run, exactly as <linux/kvm.h>
 *   page 1: PIO data (kvm_run.io.data_offset points here)
 *   page 2: KVM_COALESCED_MMIO_PAGE_OFFSET: the shim maps the VM's ring
 *           here (struct kvm_coalesced_mmio_ring; one memfd page per VM,
 *           see struct cused_bind), over the vCPU memfd's own page
 *   page 3: struct cused_doorbell (shim <-> daemon KVM_RUN handshake)
 */
#define CUSED_PAGE_SIZE 4096
#define CUSED_RUN_PIO_OFFSET (1 * CUSED_PAGE_SIZE)
#define CUSED_RUN_DOORBELL_OFFSET (3 * CUSED_PAGE_SIZE)
#define CUSED_VCPU_MMAP_SIZE (4 * CUSED_PAGE_SIZE)

/*
 * KVM_RUN without a FUSE round trip.  The client bumps req_seq; the daemon's
 * vCPU thread runs the guest, stores result and sets done_seq = req_seq.
 * Each side spins for a bounded, adaptive time (cused/spin.h), then sleeps
 * on the word (shared futex) counted in its *_waiting; the other side makes
 * the FUTEX_WAKE only when that count is not zero (cused/dbwait.h).
 */
struct cused_doorbell {
	__u32 req_seq;     /* written by client */
	__u32 done_seq;    /* written by daemon */
	__s32 result;      /* 0 or -errno of the finished KVM_RUN */
	__u32 magic;       /* CUSED_DOORBELL_MAGIC once the daemon serves it */
	__u32 client_waiting; /* client threads (about to be) asleep on done_seq */
	__u32 daemon_waiting; /* daemon threads (about to be) asleep on req_seq */
	/* 1 + the CPU each side last ran on (0: unknown): spinning while the
	 * other side waits for the spinner's own CPU only delays it */
	__u32 client_cpu;  /* written by client */
	__u32 daemon_cpu;  /* written by daemon */
	/* CLOCK_MONOTONIC ns of the last post, stored before the seq: how long
	 * the other side took, which sizes the waiter's next spin */
	__u64 req_ns;      /* written by client */
	__u64 done_ns;     /* written by daemon */
};
#define CUSED_DOORBELL_MAGIC 0x43555344u /* "CUSD" */

/* CUSED_IOC_CREATE: on a system handle (VM) or VM handle (vCPU) */
struct cused_create {
	__u64 arg;         /* in: the KVM_CREATE_VM type / KVM_CREATE_VCPU id */
	__u64 token;       /* out: pass to CUSED_IOC_BIND on a fresh handle */
};

#define CUSED_BIND_VM   1
#define CUSED_BIND_VCPU 2
#define CUSED_BIND_STATS 3   /* a KVM_GET_STATS_FD file; run_fd is ignored */
struct cused_bind {
	__u64 token;
	__s32 run_fd;      /* vCPU: client fd of a memfd of CUSED_VCPU_MMAP_SIZE,
			    * sealed with F_SEAL_SHRINK (else EINVAL): the daemon
			    * itself uses it and must never fault on it.
			    * VM: a memfd of CUSED_PAGE_SIZE, sealed likewise, for
			    * the coalesced MMIO ring, or -1 for none (zones then
			    * never coalesce) */
	__u32 kind;        /* CUSED_BIND_*; must match the token's object */
};

/*
 * Guest RAM backed by a client fd the daemon can map too.  The fd only has
 * to stay open for the duration of the ioctl: the daemon maps it at once.
 * fd = -1 with a non-zero size registers a slot with no shareable backing;
 * like KVM with an unmapped userspace_addr, that succeeds and a guest access
 * to it makes KVM_RUN fail with EFAULT.
 */
struct cused_mem_region {
	struct kvm_userspace_memory_region region;
	__s32 fd;          /* client fd backing [userspace_addr, +size); -1 on delete */
	__u32 pad;
	__u64 fd_offset;   /* file offset of userspace_addr within fd */
};

#define CUSED_SHIM_IOC 0xCF
#define CUSED_IOC_CREATE     _IOWR(CUSED_SHIM_IOC, 0x01, struct cused_create)
#define CUSED_IOC_BIND       _IOW(CUSED_SHIM_IOC,  0x02, struct cused_bind)
#define CUSED_IOC_SET_MEMORY _IOW(CUSED_SHIM_IOC,  0x03, struct cused_mem_region)
/*
 * Ask the vCPU's KVM_RUN to return -EINTR (the client got a signal).  The
 * argument is the req_seq of the run meant, so a kick that arrives after
 * that run finished does not cut the next one short.
 */
#define CUSED_IOC_KICK       _IO(CUSED_SHIM_IOC,   0x04)
#define CUSED_IOC_VERSION    _IO(CUSED_SHIM_IOC,   0x05)
/*
 * KVM_GET_STATS_FD on a VM or vCPU handle: the daemon parks that object's
 * binary stats under token (struct cused_create: arg unused); the shim binds
 * a fresh read-only handle of the device to it with CUSED_BIND_STATS.
 */
#define CUSED_IOC_STATS_FD   _IOR(CUSED_SHIM_IOC,  0x06, struct cused_create)

#endif
