/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cused/kvm/clientfd.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

/* the thread group (process) thread @tid belongs to, or -ESRCH */
static pid_t tgid_of(pid_t tid)
{
	char path[64], line[128];
	pid_t tgid = -ESRCH;
	FILE *f;
	int t;

	snprintf(path, sizeof(path), "/proc/%d/status", tid);
	f = fopen(path, "re");
	if (!f)
		return -ESRCH;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Tgid: %d", &t) == 1) {
			tgid = t > 0 ? t : -ESRCH;
			break;
		}
	fclose(f);
	return tgid;
}

int clientfd_take(pid_t tid, int fd)
{
	struct pollfd p = { .events = POLLIN };
	pid_t tgid;
	int r;

	if (fd < 0)
		return -EBADF;
	/* 0: the caller is in a pid namespace we cannot see */
	if (tid <= 0)
		return -ESRCH;
	/*
	 * FUSE names the calling thread; pidfd_open() takes only a thread
	 * group leader before Linux 6.9, so open the process instead.
	 */
	tgid = tgid_of(tid);
	if (tgid < 0)
		return tgid;
	p.fd = syscall(SYS_pidfd_open, tgid, 0);
	if (p.fd < 0)
		return errno == ESRCH || errno == EINVAL ? -ESRCH : -errno;
	/*
	 * The pidfd must name the caller's process, not a recycled pid: if the
	 * caller's thread still belongs to tgid after the open and the process
	 * the pidfd names is still alive, no other process can hold tgid.
	 * (The caller cannot go away on its own: it waits in our ioctl.)
	 */
	if (tgid_of(tid) != tgid || poll(&p, 1, 0) != 0) {
		close(p.fd);
		return -ESRCH;
	}
	r = syscall(SYS_pidfd_getfd, p.fd, fd, 0);
	r = r < 0 ? -errno : r;
	close(p.fd);
	return r;
}
