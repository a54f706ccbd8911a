/* SPDX-License-Identifier: MIT */
#ifndef CUSED_KVM_CAPS_H
#define CUSED_KVM_CAPS_H

#include <stdint.h>
#include "cused/kvm/ctx.h"

/* KVM_CHECK_EXTENSION: non-zero only for what cused really implements */
long caps_check(const struct cused_ctx *ctx, uint64_t cap);

#endif
