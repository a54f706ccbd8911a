/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_STATS_FD on a VM or vCPU fd.  Like KVM_CREATE_VCPU: the daemon
 * parks the stats under a token, the shim opens the device again and binds
 * that handle to it.  The open is read-only, as KVM's stats file: write(2)
 * fails with EBADF in the VFS, and the daemon leaves read-only handles
 * seekable so pread(2) works.  The fd needs no entry in the fd table: reads
 * go straight to the daemon, and any ioctl on it is the daemon's ENOTTY.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cused/shim/shim.h"

int shim_get_stats_fd(struct cfd *c)
{
	struct cused_create cr = { 0 };
	struct cused_bind b = { .run_fd = -1, .kind = CUSED_BIND_STATS };
	char path[40];
	int fd, e;

	if (sys_ioctl(c->fd, CUSED_IOC_STATS_FD, &cr) < 0)
		return -1;
	b.token = cr.token;
	/* KVM's stats fd is O_RDONLY | O_CLOEXEC */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", c->fd);
	fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (sys_ioctl(fd, CUSED_IOC_BIND, &b) < 0) {
		e = errno;
		sys_close(fd);
		errno = e;
		return -1;
	}
	return fd;
}
