/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include "cused/kvm/guestmem.h"
#include "cused/shim_abi.h"

#define FUSE_FS_MAGIC 0x65735546L

int guestmem_check(const struct stat *st, long fs_type, int flags, int seals,
		   const struct guestmem_want *w, const char **why)
{
	uint64_t offset = w->offset, size = w->size;
	int acc = flags & O_ACCMODE;

	/* an O_PATH fd carries no access mode: it grants nothing, so we map nothing */
	if (flags & O_PATH)
		return *why = "is an O_PATH fd", -EBADF;
	/* guest memory is always readable; a write-only open grants no reads */
	if (acc != O_RDONLY && acc != O_RDWR)
		return *why = "is not open for reading", -EACCES;
	if (w->writable && acc != O_RDWR)
		return *why = "is not open read-write", -EACCES;
	/* memfds and shm files are regular; FIFOs, sockets, devices, dirs never are */
	if (!S_ISREG(st->st_mode))
		return *why = "is not a regular file or memfd", -EINVAL;
	if (fs_type == FUSE_FS_MAGIC)
		return *why = "is on a FUSE file system", -EINVAL;
	if (!size || size % CUSED_PAGE_SIZE || offset % CUSED_PAGE_SIZE)
		return *why = "range is empty or not page aligned", -EINVAL;
	if (offset + size < offset || st->st_size < 0 ||
	    offset + size > (uint64_t)st->st_size)
		return *why = "file is smaller than offset + size", -EINVAL;
	if (w->unshrinkable && !(seals & F_SEAL_SHRINK))
		return *why = "is not a memfd sealed with F_SEAL_SHRINK", -EINVAL;
	return 0;
}
