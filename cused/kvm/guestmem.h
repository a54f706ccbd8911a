/* SPDX-License-Identifier: MIT */
/*
 * Mapping memory the client shares with us by fd number (guest RAM slots and
 * the vCPU kvm_run area).  The daemon is root, so it must never hold more
 * access to a file than the client had: it takes the client's own open file
 * description (clientfd_take), checks that very description and maps it.
 * Nothing is re-opened by path.
 */
#ifndef CUSED_KVM_GUESTMEM_H
#define CUSED_KVM_GUESTMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

/*
 * May a description with F_GETFL @flags, fstat @st, on a file system of
 * statfs type @fs_type, back [offset, offset+size) mapped shared, writable
 * or read-only?  Pure.  0, or a negative errno with *why saying which rule:
 * -EBADF an O_PATH fd (no access to the file at all), -EACCES not open for
 * reading, or not read-write for a @writable mapping, -EINVAL not a regular
 * file (FIFO, socket, device, directory), a FUSE file (a page fault would
 * wait on its server), an empty or unaligned range, or a file too small.
 */
int guestmem_check(const struct stat *st, long fs_type, int flags, uint64_t offset,
		   uint64_t size, bool writable, const char **why);

/*
 * Map [offset, offset+size) of fd @client_fd of the process of thread @tid
 * shared into the daemon, PROT_WRITE if @writable.  Never blocks on the file
 * and takes no lock, so callers do it before taking theirs.  0 and *hva, or
 * a negative errno (guestmem_check's, -EBADF for a closed fd, -ESRCH for a
 * vanished caller, mmap's), logged once.
 */
int guestmem_map(pid_t tid, int client_fd, uint64_t offset, uint64_t size,
		 bool writable, void **hva);

/* undo guestmem_map; NULL is ignored */
void guestmem_unmap(void *hva, uint64_t size);

#endif
