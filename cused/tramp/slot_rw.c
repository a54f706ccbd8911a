/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include "cused/mmu/guestcopy.h"
#include "cused/tramp/slot_rw.h"

int slot_rw(const struct slot_view *s, uint64_t gpa, void *buf, size_t len, bool write)
{
	uint8_t *p;

	/* written so that no sum can wrap: gpa and len come from the guest */
	if (gpa < s->gpa || gpa - s->gpa >= s->size || len > s->size - (gpa - s->gpa))
		return -ENOENT;
	if (write && !s->writable)
		return -EFAULT;
	p = s->hva + (gpa - s->gpa);
	/* guest RAM is a client file that may have shrunk: no SIGBUS here */
	return write ? guest_copy(p, buf, len) : guest_copy(buf, p, len);
}
