/* SPDX-License-Identifier: MIT */
/*
 * A client's fd, taken as the client's own open file description.  The daemon
 * is root: re-opening /proc/<pid>/fd/<n> by path would give it a new, fully
 * privileged open of whatever the path names at that moment (TOCTOU, O_PATH
 * fds, FIFOs that block in open).  pidfd_getfd() duplicates the description
 * itself, with exactly the access mode the client opened it with, and never
 * opens anything.
 */
#ifndef CUSED_KVM_CLIENTFD_H
#define CUSED_KVM_CLIENTFD_H

#include <sys/types.h>

/*
 * Duplicate fd @fd of the process that thread @tid (a FUSE request's caller,
 * blocked in our ioctl) belongs to.  Returns a new O_CLOEXEC fd of the daemon
 * (the caller closes it) or -EBADF (fd not open), -ESRCH (caller gone or not
 * visible), -EPERM.  Never blocks on the file.
 */
int clientfd_take(pid_t tid, int fd);

#endif
