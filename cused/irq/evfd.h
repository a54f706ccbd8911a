/* SPDX-License-Identifier: MIT */
/*
 * A client's eventfd as the daemon holds it: the client's own open file
 * description (clientfd_take), whose flags are the client's.  The daemon
 * must never block on it, and may not set O_NONBLOCK (that would change the
 * client's file too), so reads use RWF_NOWAIT and writes look first.
 */
#ifndef CUSED_IRQ_EVFD_H
#define CUSED_IRQ_EVFD_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Is fd an eventfd?  0 and *id = the kernel's eventfd-id (which names the
 * eventfd itself, as KVM compares eventfd_ctx pointers: two fds of one
 * eventfd have one id); -EINVAL for any other file, as eventfd_ctx_fileget.
 */
int evfd_check(int fd, uint64_t *id);

/*
 * eventfd_signal(): add 1.  Never blocks unless another writer races the
 * counter to its maximum between our look and our write (Linux offers no
 * RWF_NOWAIT write on an eventfd); a full counter drops the event, as the
 * kernel's eventfd_signal saturates.  0 or -errno.
 */
int evfd_signal(int fd);

/* take the count without blocking: 1 and *count, 0 if it was 0, or -errno */
int evfd_drain(int fd, uint64_t *count);

#endif
