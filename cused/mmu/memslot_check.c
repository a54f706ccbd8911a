/* SPDX-License-Identifier: MIT */
/*
 * KVM_SET_USER_MEMORY_REGION validation.  The order of the checks is Linux
 * 6.1's (check_memory_region_flags, then __kvm_set_memory_region), so a
 * request breaking several rules fails the same way here as there.
 */
#include <errno.h>
#include <stdbool.h>
#include "cused/mmu/memslot.h"
#include "cused/util/log.h"

#define PAGE_OFFSET_MASK 0xfffULL
/* x86-64 TASK_SIZE_MAX with 4-level paging: the bound of KVM's access_ok() */
#define USER_ADDR_LIMIT 0x7ffffffff000ULL

static bool overlaps_other(const struct memslot_table *t, uint16_t id, uint64_t gpa,
			   uint64_t size)
{
	for (unsigned i = 0; i < t->nr; i++) {
		const struct memslot *s = &t->slot[t->by_gpa[i]];

		/* a moving slot may overlap where it is now */
		if (s->id != id && gpa < s->gpa + s->size && s->gpa < gpa + size)
			return true;
	}
	return false;
}

int memslot_check(const struct memslot_table *t, const struct kvm_userspace_memory_region *r,
		  uint32_t valid_flags)
{
	uint16_t id = (uint16_t)r->slot;
	uint64_t npages = r->memory_size >> 12;
	const struct memslot *old;
	enum memslot_change ch;

	if (r->flags & ~valid_flags)
		return refuse(-EINVAL, "memslot %#x: flags %#x not in supported %#x",
			      r->slot, r->flags, valid_flags);
	if (r->memory_size & PAGE_OFFSET_MASK)
		return refuse(-EINVAL, "memslot %#x: memory_size not page aligned", r->slot);
	if (r->guest_phys_addr & PAGE_OFFSET_MASK)
		return refuse(-EINVAL, "memslot %#x: guest_phys_addr not page aligned", r->slot);
	if (r->userspace_addr & PAGE_OFFSET_MASK)
		return refuse(-EINVAL, "memslot %#x: userspace_addr not page aligned", r->slot);
	/* written so that neither side can wrap */
	if (r->memory_size > USER_ADDR_LIMIT ||
	    r->userspace_addr > USER_ADDR_LIMIT - r->memory_size)
		return refuse(-EINVAL, "memslot %#x: userspace range not below %#llx", r->slot,
			      USER_ADDR_LIMIT);
	if (r->slot >> 16)
		return refuse(-EINVAL, "memslot %#x: address space %u (only 0 exists here)",
			      r->slot, r->slot >> 16);
	if (id >= CUSED_USER_MEMSLOTS)
		return refuse(-EINVAL, "memslot %#x: id >= %u", r->slot, CUSED_USER_MEMSLOTS);
	if (r->guest_phys_addr + r->memory_size < r->guest_phys_addr)
		return refuse(-EINVAL, "memslot %#x: guest range wraps", r->slot);
	if (npages > CUSED_MEM_MAX_NR_PAGES)
		return refuse(-EINVAL, "memslot %#x: %llu pages > %llu", r->slot,
			      (unsigned long long)npages, CUSED_MEM_MAX_NR_PAGES);

	old = t->slot[id].size ? &t->slot[id] : NULL;
	if (!r->memory_size) {
		if (!old)
			return refuse(-EINVAL, "memslot %#x: delete of an empty slot", r->slot);
		return MEMSLOT_DELETE;
	}
	if (!old) {
		ch = MEMSLOT_CREATE;
	} else {
		/* KVM lets an existing slot move or toggle logging, nothing else */
		if (r->userspace_addr != old->uaddr || r->memory_size != old->size ||
		    ((r->flags ^ old->flags) & KVM_MEM_READONLY))
			return refuse(-EINVAL, "memslot %#x: only gpa and dirty logging of an "
				      "existing slot can change", r->slot);
		if (r->guest_phys_addr != old->gpa)
			ch = MEMSLOT_MOVE;
		else if (r->flags != old->flags)
			ch = MEMSLOT_FLAGS;
		else
			return MEMSLOT_NONE;
	}
	if ((ch == MEMSLOT_CREATE || ch == MEMSLOT_MOVE) &&
	    overlaps_other(t, id, r->guest_phys_addr, r->memory_size))
		return refuse(-EEXIST, "memslot %#x: gpa %#llx size %#llx overlaps another slot",
			      r->slot, (unsigned long long)r->guest_phys_addr,
			      (unsigned long long)r->memory_size);
	return ch;
}
