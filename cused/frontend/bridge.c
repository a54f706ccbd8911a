/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include "cused/frontend/bridge.h"
#include "cused/util/log.h"

/* process_vm_* on the calling thread: FUSE tells us its tid */
static int pid_read(void *ctx, uint64_t uaddr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)uaddr, len };

	return process_vm_readv((pid_t)(uintptr_t)ctx, &local, 1, &remote, 1, 0) ==
	       (ssize_t)len ? 0 : -EFAULT;
}

static int pid_write(void *ctx, uint64_t uaddr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)uaddr, len };

	return process_vm_writev((pid_t)(uintptr_t)ctx, &local, 1, &remote, 1, 0) ==
	       (ssize_t)len ? 0 : -EFAULT;
}

void bridge_open(struct cused_ctx *ctx, fuse_req_t req, struct fuse_file_info *fi)
{
	struct cused_handle *h = handle_open(ctx);

	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	/* every open is its own object; nothing may be cached or seeked */
	fi->direct_io = 1;
	fi->nonseekable = 1;
	fuse_reply_open(req, fi);
}

void bridge_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct cused_handle *h = (struct cused_handle *)(uintptr_t)fi->fh;

	/* a dead client lands here too: the kernel closes its files for it */
	if (h)
		handle_release(h);
	fuse_reply_err(req, 0);
}

void bridge_ioctl(fuse_req_t req, unsigned int cmd, void *arg, struct fuse_file_info *fi,
		  unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct cused_handle *h = (struct cused_handle *)(uintptr_t)fi->fh;
	pid_t pid = fuse_req_ctx(req)->pid;
	struct client_mem mem = { pid_read, pid_write, (void *)(uintptr_t)pid };
	size_t size = _IOC_SIZE(cmd);
	unsigned dir = _IOC_DIR(cmd);
	struct ioctl_req rq = {
		.cmd = cmd, .arg = (uintptr_t)arg, .pid = pid, .mem = &mem,
	};
	void *out = NULL;
	long r;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((dir & _IOC_WRITE) && in_bufsz < size) {
		/* restricted ioctls always arrive with the encoded size */
		fuse_reply_err(req, EFAULT);
		return;
	}
	if (dir & _IOC_WRITE) {
		rq.in = in_buf;
		rq.in_len = size;
	}
	if (dir & _IOC_READ) {
		out = calloc(1, size ? size : 1);
		if (!out) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		/* a zero-size _IOWR arrives with no input buffer at all */
		if ((dir & _IOC_WRITE) && size)
			memcpy(out, in_buf, size);
		rq.out = out;
		rq.out_len = size < out_bufsz ? size : out_bufsz;
	}
	r = handle_ioctl(h, &rq);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_ioctl(req, (int)r, out, out ? rq.out_len : 0);
	free(out);
}

int bridge_loop(struct fuse_session *se)
{
	struct fuse_loop_config *cfg = fuse_loop_cfg_create();
	int r;

	/* handlers block (KVM_RUN without the doorbell, vCPU release joins a thread) */
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, 64);
	r = fuse_session_loop_mt(se, cfg) ? -EIO : 0;
	fuse_loop_cfg_destroy(cfg);
	return r;
}
