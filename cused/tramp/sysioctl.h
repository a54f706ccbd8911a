/* SPDX-License-Identifier: MIT */
/*
 * The ioctl call every backend makes on its device: 0/-errno like the rest
 * of the daemon, and an EINTR from an unrelated signal retried.  A backend
 * whose RUN must see EINTR (a kick) calls ioctl() directly there.
 */
#ifndef CUSED_TRAMP_SYSIOCTL_H
#define CUSED_TRAMP_SYSIOCTL_H

#include <errno.h>
#include <sys/ioctl.h>

static inline int tramp_ioctl(int fd, unsigned long req, void *arg)
{
	int r;

	do
		r = ioctl(fd, req, arg);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : r;
}

#endif
