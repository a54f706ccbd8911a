/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cused/kvm/guestmem.h"
#include "cused/util/log.h"

static int client_fd_mode(pid_t pid, int fd, int *accmode)
{
	char path[64], line[128];
	FILE *f;
	int r = -EBADF;

	snprintf(path, sizeof(path), "/proc/%d/fdinfo/%d", pid, fd);
	f = fopen(path, "re");
	if (!f)
		return -EBADF;
	while (fgets(line, sizeof(line), f)) {
		unsigned long flags;

		if (sscanf(line, "flags: %lo", &flags) == 1) {
			*accmode = flags & O_ACCMODE;
			r = 0;
			break;
		}
	}
	fclose(f);
	return r;
}

int guestmem_map(pid_t pid, int client_fd, uint64_t offset, uint64_t size,
		 bool writable, void **hva)
{
	char path[64];
	struct stat st;
	int accmode, fd, r;
	void *p;

	if (client_fd < 0)
		return refuse(-EFAULT, "pid %d: guest memory has no shareable backing "
			      "(run the client under cused-run)", pid);
	r = client_fd_mode(pid, client_fd, &accmode);
	if (r)
		return refuse(r, "pid %d: fd %d is not open", pid, client_fd);
	if (writable && accmode != O_RDWR)
		return refuse(-EACCES, "pid %d: fd %d is not open read-write", pid, client_fd);

	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, client_fd);
	fd = open(path, (writable ? O_RDWR : O_RDONLY) | O_CLOEXEC);
	if (fd < 0)
		return refuse(-errno, "pid %d: cannot open fd %d: %s", pid, client_fd,
			      strerror(errno));
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < offset + size) {
		close(fd);
		return refuse(-EFAULT, "pid %d: fd %d is not a regular file covering "
			      "offset %#llx size %#llx", pid, client_fd,
			      (unsigned long long)offset, (unsigned long long)size);
	}
	p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd, offset);
	r = p == MAP_FAILED ? -errno : 0;
	close(fd);
	if (r)
		return refuse(r, "pid %d: mmap of guest memory failed: %s", pid, strerror(-r));
	*hva = p;
	return 0;
}

void guestmem_unmap(void *hva, uint64_t size)
{
	if (hva)
		munmap(hva, size);
}
