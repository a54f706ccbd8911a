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

int guestmem_map(pid_t tid, int client_fd, const struct guestmem_want *w, void **hva)
{
	const char *why = NULL;
	struct statfs sfs;
	struct stat st;
	int fd, flags, seals, r;
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
	/* EINVAL: not a file that can be sealed, so it has no seals */
	seals = fcntl(fd, F_GET_SEALS);
	r = guestmem_check(&st, (long)sfs.f_type, flags, seals < 0 ? 0 : seals, w, &why);
	if (r) {
		r = refuse(r, "pid %d: fd %d refused for %s shared memory at offset %#llx "
			   "size %#llx: %s", tid, client_fd, w->writable ? "writable" : "read-only",
			   (unsigned long long)w->offset, (unsigned long long)w->size, why);
		goto out;
	}
	p = mmap(NULL, w->size, PROT_READ | (w->writable ? PROT_WRITE : 0), MAP_SHARED, fd,
		 (off_t)w->offset);
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
