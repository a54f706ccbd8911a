/* SPDX-License-Identifier: MIT */
/*
 * Both backends' dirty-log ioctls (the host's KVM_GET_DIRTY_LOG, the
 * module's CUSED_TRAMP_GET_DIRTY) write a flat bitmap of the whole slot into
 * a user buffer: that ABI cannot be asked for less.  This keeps the buffer
 * out of the daemon's steady state: anonymous MAP_NORESERVE memory mapped
 * for one collect and unmapped before returning, scanned in pieces so only
 * non-zero words reach the sink.
 */
#ifndef CUSED_TRAMP_DIRTY_FLAT_H
#define CUSED_TRAMP_DIRTY_FLAT_H

#include <stdint.h>
#include "cused/tramp/backend.h"

/*
 * Map a zeroed scratch bitmap of nwords words, call fill(arg, buf) to have
 * the backend's ioctl write it, then hand every non-zero word to sink.
 * 0, fill's or sink's -errno, or -ENOMEM.
 */
int tramp_dirty_flat(uint64_t nwords, int (*fill)(void *arg, uint64_t *buf), void *arg,
		     tramp_dirty_sink *sink, void *opaque);

#endif
