/* SPDX-License-Identifier: MIT */
/*
 * What the FUSE and CUSE frontends share: turning a libfuse ioctl request
 * into a struct ioctl_req for the handlers, and reaching into the caller's
 * memory for variable-length tails.
 */
#ifndef CUSED_FRONTEND_BRIDGE_H
#define CUSED_FRONTEND_BRIDGE_H

#include <fuse_lowlevel.h>
#include "cused/kvm/ctx.h"
#include "cused/kvm/handle.h"

void bridge_open(struct cused_ctx *ctx, fuse_req_t req, struct fuse_file_info *fi);
void bridge_release(fuse_req_t req, struct fuse_file_info *fi);
/* read(2) / pread(2) of a device handle (a KVM_GET_STATS_FD file, handle_read) */
void bridge_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi);
void bridge_ioctl(fuse_req_t req, unsigned int cmd, void *arg, struct fuse_file_info *fi,
		  unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz);
/*
 * The multi-threaded request loop both frontends run, until SIGTERM / SIGINT
 * / SIGHUP (then 0, after ctx_shutdown has ended every wait) or a session
 * error (-EIO).
 */
int bridge_loop(struct cused_ctx *ctx, struct fuse_session *se);

#endif
