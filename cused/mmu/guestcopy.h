/* SPDX-License-Identifier: MIT */
/*
 * Copies to and from guest RAM that survive the client shrinking the file
 * behind it.  Guest RAM is a client's file mapped shared into the daemon;
 * plain files cannot be sealed, so the client may truncate one at any time,
 * and the daemon's next access to the lost pages raises SIGBUS, which would
 * kill the daemon and every user's VMs.
 */
#ifndef CUSED_MMU_GUESTCOPY_H
#define CUSED_MMU_GUESTCOPY_H

#include <stddef.h>

/*
 * memcpy(dst, src, len) where either side may be guest RAM: 0, or -EFAULT
 * if a page of it is gone (SIGBUS), with dst partly written.  A SIGBUS
 * outside guest_copy still kills the process as before.
 */
int guest_copy(void *dst, const void *src, size_t len);

#endif
