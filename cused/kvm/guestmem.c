/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>
#include "cused/kvm/clientfd.h"
#include "cused/kvm/guestmem.h"
#include "cused/util/log.h"

int guestmem_map(pid_t tid, int client_fd, uint64_t offset, uint64_t size,
		 bool writable, void **hva)
{
	const char *why = NULL;
	struct statfs sfs;
	struct stat st;
	int fd, flags, r;
	void *p;

	if (client_fd < 0)
		return refuse(-EFAULT, "pid %d: guest memory has no shareable backing "
			      "(run the client under cused-run)", tid);
	fd = clientfd_take(tid, client_fd);
	if (fd < 0)
		return refuse(fd, "pid %d: cannot take fd %d: %s", tid, client_fd,
			      strerror(-fd));
	/* every check is on the description we will map, not on a name */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fstat(fd, &st) || fstatfs(fd, &sfs)) {
		r = refuse(-errno, "pid %d: fd %d: cannot inspect: %s", tid, client_fd,
			   strerror(errno));
		goto out;
	}
	r = guestmem_check(&st, (long)sfs.f_type, flags, offset, size, writable, &why);
	if (r) {
		r = refuse(r, "pid %d: fd %d refused for %s guest memory at offset %#llx "
			   "size %#llx: %s", tid, client_fd, writable ? "writable" : "read-only",
			   (unsigned long long)offset, (unsigned long long)size, why);
		goto out;
	}
	p = mmap(NULL, size, PROT_READ | (writable ? PROT_WRITE : 0), MAP_SHARED, fd,
		 (off_t)offset);
	if (p == MAP_FAILED) {
		r = refuse(-errno, "pid %d: mmap of guest memory failed: %s", tid,
			   strerror(errno));
		goto out;
	}
	*hva = p;
out:
	close(fd);
	return r;
}

void guestmem_unmap(void *hva, uint64_t size)
{
	if (hva)
		munmap(hva, size);
}
