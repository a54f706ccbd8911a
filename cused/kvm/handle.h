/* SPDX-License-Identifier: MIT */
/*
 * One daemon handle per open file of the device.  A handle starts as a
 * system handle; libcused binds a fresh one to a new VM or vCPU, after
 * which every ioctl on that fd is a VM or vCPU ioctl — the vCPU is named by
 * the fd, never by a number in the argument (KVM's per-vCPU inode design).
 */
#ifndef CUSED_KVM_HANDLE_H
#define CUSED_KVM_HANDLE_H

#include <stdatomic.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/ioctl.h"

/* H_BINDING: one CUSED_IOC_BIND owns the handle until it settles */
enum handle_kind { H_SYSTEM, H_VM, H_VCPU, H_BINDING, H_STATS };

struct vm;
struct vcpu;
struct statsfd;

struct cused_handle {
	struct cused_ctx *ctx;
	_Atomic int kind;          /* enum handle_kind; SYSTEM -> BINDING -> VM/VCPU (or back) */
	struct vm *vm;             /* H_VM */
	struct vcpu *vcpu;         /* H_VCPU */
	struct statsfd *stats;     /* H_STATS (statsfd.h) */
	/* ctx->handles, under ctx->lock: what is still open when the daemon stops */
	struct cused_handle *next, **pprev;
};

struct cused_handle *handle_open(struct cused_ctx *ctx);
void handle_release(struct cused_handle *h);
/*
 * Shutdown, after the frontend loop has ended: release every handle a client
 * still holds (FUSE sends no RELEASE for them), so VMs, vCPU threads and
 * host fds go down in order instead of with the process.
 */
void handle_release_all(struct cused_ctx *ctx);
/* >= 0 result for the client, or -errno */
long handle_ioctl(struct cused_handle *h, struct ioctl_req *rq);
/* read(2) of h at off: bytes copied to buf, or -errno */
long handle_read(struct cused_handle *h, void *buf, size_t size, uint64_t off);
/* rq (in handle_ioctl on h) was interrupted by a signal to its caller: end its waits */
void handle_interrupt(struct cused_handle *h, struct ioctl_req *rq);

/* VM-handle half of CUSED_IOC_CREATE (creates and parks a vCPU) */
long handle_create_vcpu(struct cused_handle *h, struct ioctl_req *rq);

long system_ioctl(struct cused_handle *h, struct ioctl_req *rq);

#endif
