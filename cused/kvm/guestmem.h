/* SPDX-License-Identifier: MIT */
/*
 * Mapping memory the client shares with us by fd number.  The daemon is
 * root, so it must not hand a client more access than the client itself had
 * on that fd: the open mode is checked in /proc/<pid>/fdinfo first.
 */
#ifndef CUSED_KVM_GUESTMEM_H
#define CUSED_KVM_GUESTMEM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

int guestmem_map(pid_t pid, int client_fd, uint64_t offset, uint64_t size,
		 bool writable, void **hva);
void guestmem_unmap(void *hva, uint64_t size);

#endif
