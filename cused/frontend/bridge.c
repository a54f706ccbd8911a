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

/*
 * Like /dev/kvm (0660 root:kvm): root, or a caller whose group or one of
 * whose supplementary groups is the device group.  The FUSE mount also has
 * default_permissions and the CUSE node is chmod'ed, so this is the second
 * check; it is the one that also holds if a node's mode is changed.
 */
static bool may_open(const struct cused_ctx *ctx, fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	gid_t groups[256];
	int n;

	if (c->uid == 0)
		return true;
	if (ctx->dev_gid == (gid_t)-1)
		return false;
	if (c->gid == ctx->dev_gid)
		return true;
	n = fuse_req_getgroups(req, sizeof(groups) / sizeof(groups[0]), groups);
	for (int i = 0; i < n && i < (int)(sizeof(groups) / sizeof(groups[0])); i++)
		if (groups[i] == ctx->dev_gid)
			return true;
	return false;
}

void bridge_open(struct cused_ctx *ctx, fuse_req_t req, struct fuse_file_info *fi)
{
	struct cused_handle *h;

	log_set_client(fuse_req_ctx(req)->uid + 1);
	if (!may_open(ctx, req)) {
		log_warn("pid %d uid %u: open refused: not root and not in the "
		       "device's group", fuse_req_ctx(req)->pid, (unsigned)fuse_req_ctx(req)->uid);
		log_set_client(0);
		fuse_reply_err(req, EACCES);
		return;
	}
	log_set_client(0);
	h = handle_open(ctx);
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
		.uid = fuse_req_ctx(req)->uid,
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
		if (dir & _IOC_WRITE)
			memcpy(out, in_buf, size);
		rq.out = out;
		rq.out_len = size < out_bufsz ? size : out_bufsz;
	}
	log_set_client(rq.uid + 1);
	r = handle_ioctl(h, &rq);
	log_set_client(0);
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
