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

/* what a mapping needs of the file behind it */
struct guestmem_want {
	uint64_t offset, size;
	bool writable;
	/*
	 * The file must be sealed against shrinking (memfd F_SEAL_SHRINK):
	 * memory the daemon itself reads and writes at any time (kvm_run and
	 * the doorbell) would raise SIGBUS in the daemon, killing every
	 * user's VMs, if the client truncated the file under it.
	 */
	bool unshrinkable;
};

/*
 * May a description with F_GETFL @flags, fstat @st, F_GET_SEALS @seals (0 if
 * the file cannot be sealed), on a file system of statfs type @fs_type, back
 * @w?  Pure.  0, or a negative errno with *why saying which rule:
 * -EBADF an O_PATH fd (no access to the file at all), -EACCES not open for
 * reading, or not read-write for a writable mapping, -EINVAL not a regular
 * file (FIFO, socket, device, directory), a FUSE file (a page fault would
 * wait on its server), an empty or unaligned range, a file too small, or
 * one that can shrink when w->unshrinkable.
 */
int guestmem_check(const struct stat *st, long fs_type, int flags, int seals,
		   const struct guestmem_want *w, const char **why);

/*
 * Map @w of fd @client_fd of the process of thread @tid shared into the
 * daemon, PROT_WRITE if w->writable.  Never blocks on the file and takes no
 * lock, so callers do it before taking theirs.  0 and *hva, or a negative
 * errno (guestmem_check's, -EBADF for a closed fd, -ESRCH for a vanished
 * caller, mmap's), logged once.
 */
int guestmem_map(pid_t tid, int client_fd, const struct guestmem_want *w, void **hva);

/* undo guestmem_map; NULL is ignored */
void guestmem_unmap(void *hva, uint64_t size);

#endif
