/* SPDX-License-Identifier: MIT */
/* The device as one file `kvm` (plus `status`) in a FUSE mount, for hosts without CUSE. */
#ifndef CUSED_FRONTEND_FUSE_FS_H
#define CUSED_FRONTEND_FUSE_FS_H

#include "cused/kvm/ctx.h"

/* serve until SIGINT/SIGTERM; bind_path (may be NULL) gets the device bind-mounted over it */
int fuse_fs_serve(struct cused_ctx *ctx, const char *mountpoint, const char *bind_path,
		  bool debug);

#endif
