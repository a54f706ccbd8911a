/* SPDX-License-Identifier: MIT */
/* The device as a real character device through CUSE. */
#ifndef CUSED_FRONTEND_CUSE_DEV_H
#define CUSED_FRONTEND_CUSE_DEV_H

#include <stdbool.h>
#include "cused/kvm/ctx.h"

bool cuse_available(void);
int cuse_dev_serve(struct cused_ctx *ctx, const char *devname, const char *bind_path,
		   bool debug);

#endif
