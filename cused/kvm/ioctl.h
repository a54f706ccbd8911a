/* SPDX-License-Identifier: MIT */
/*
 * One KVM ioctl as the frontend (FUSE or CUSE) hands it to the handlers.
 * The fixed-size part encoded in the ioctl number is already copied in and
 * out by the kernel; variable-length tails (MSR entries, CPUID entries,
 * dirty bitmaps) are read and written in the caller's memory through mem.
 * Keeping this free of FUSE types is what lets unit tests call handlers.
 */
#ifndef CUSED_KVM_IOCTL_H
#define CUSED_KVM_IOCTL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct client_mem {
	/* 0 or -EFAULT */
	int (*read)(void *ctx, uint64_t uaddr, void *buf, size_t len);
	int (*write)(void *ctx, uint64_t uaddr, const void *buf, size_t len);
	void *ctx;
};

struct ioctl_req {
	unsigned int cmd;
	uint64_t arg;        /* value for _IO ioctls, caller's pointer otherwise */
	const void *in;      /* _IOC_SIZE(cmd) bytes for _IOW/_IOWR */
	size_t in_len;
	void *out;           /* _IOC_SIZE(cmd) bytes for _IOR/_IOWR */
	size_t out_len;
	pid_t pid;           /* caller's thread id, as seen by the daemon */
	uid_t uid;           /* caller's uid: owner of what it creates (limits.h) */
	const struct client_mem *mem;
	atomic_bool interrupted; /* the caller took a signal (FUSE INTERRUPT): stop waiting */
};

static inline int client_read(const struct ioctl_req *rq, uint64_t uaddr, void *buf, size_t len)
{
	return len ? rq->mem->read(rq->mem->ctx, uaddr, buf, len) : 0;
}

static inline int client_write(const struct ioctl_req *rq, uint64_t uaddr, const void *buf, size_t len)
{
	return len ? rq->mem->write(rq->mem->ctx, uaddr, buf, len) : 0;
}

/* the fixed part must be exactly what the ioctl number says */
static inline const void *req_in(const struct ioctl_req *rq, size_t len)
{
	return rq->in && rq->in_len >= len ? rq->in : NULL;
}

static inline void *req_out(const struct ioctl_req *rq, size_t len)
{
	return rq->out && rq->out_len >= len ? rq->out : NULL;
}

#endif
