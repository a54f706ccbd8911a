/* SPDX-License-Identifier: MIT */
/* KVM_X86_SET_MSR_FILTER and the guest-side check (see msr_filter.h) */
#include <errno.h>
#include <stdlib.h>
#include <linux/kvm.h>
#include "cused/kvm/ioctl.h"
#include "cused/kvm/msr_filter.h"
#include "cused/util/log.h"

#define MAX_BITMAP_BYTES 0x600   /* KVM_MSR_FILTER_MAX_BITMAP_SIZE */
#define RANGE_VALID (KVM_MSR_FILTER_READ | KVM_MSR_FILTER_WRITE)

struct filter_range {
	uint32_t flags, base, nmsrs;
	uint8_t *bitmap;    /* bit i: MSR base + i allowed */
};

struct msr_filter {
	bool default_allow;
	unsigned count;
	struct filter_range ranges[KVM_MSR_FILTER_MAX_RANGES];
};

static void filter_free(struct msr_filter *f)
{
	if (!f)
		return;
	for (unsigned i = 0; i < f->count; i++)
		free(f->ranges[i].bitmap);
	free(f);
}

void msr_filter_ref_init(struct msr_filter_ref *ref)
{
	pthread_mutex_init(&ref->lock, NULL);
	ref->f = NULL;
}

void msr_filter_ref_fini(struct msr_filter_ref *ref)
{
	filter_free(ref->f);
	ref->f = NULL;
	pthread_mutex_destroy(&ref->lock);
}

/* kvm_add_msr_filter: ranges with nmsrs 0 are skipped, not stored */
static int add_range(struct msr_filter *f, const struct kvm_msr_filter_range *u,
		     struct ioctl_req *rq)
{
	/* BITS_TO_LONGS(nmsrs) * sizeof(long), in 64-bit arithmetic */
	uint64_t bytes = ((uint64_t)u->nmsrs + 63) / 64 * 8;
	struct filter_range *r;

	if (!u->nmsrs)
		return 0;
	if (u->flags & ~RANGE_VALID)
		return refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER: range flags %#x", u->flags);
	if (!u->flags)
		return refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER: range with no READ/WRITE flag");
	if (bytes > MAX_BITMAP_BYTES)
		return refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER: %u MSRs in one range", u->nmsrs);
	r = &f->ranges[f->count];
	r->bitmap = malloc(bytes);
	if (!r->bitmap)
		return -ENOMEM;
	if (client_read(rq, (uint64_t)(uintptr_t)u->bitmap, r->bitmap, bytes)) {
		free(r->bitmap);
		return refuse(-EFAULT, "KVM_X86_SET_MSR_FILTER: bitmap unreadable");
	}
	r->flags = u->flags;
	r->base = u->base;
	r->nmsrs = u->nmsrs;
	f->count++;
	return 0;
}

long msr_filter_set(struct msr_filter_ref *ref, struct ioctl_req *rq)
{
	const struct kvm_msr_filter *u = req_in(rq, sizeof(*u));
	struct msr_filter *f, *old;
	bool empty = true;
	int r;

	if (!u)
		return -EFAULT;
	if (u->flags & ~KVM_MSR_FILTER_DEFAULT_DENY)
		return refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER: flags %#x", u->flags);
	for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++)
		empty &= !u->ranges[i].nmsrs;
	if (empty && (u->flags & KVM_MSR_FILTER_DEFAULT_DENY))
		return refuse(-EINVAL, "KVM_X86_SET_MSR_FILTER: deny-all with no range");
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->default_allow = !(u->flags & KVM_MSR_FILTER_DEFAULT_DENY);
	for (unsigned i = 0; i < KVM_MSR_FILTER_MAX_RANGES; i++) {
		r = add_range(f, &u->ranges[i], rq);
		if (r) {
			filter_free(f);
			return r;
		}
	}
	pthread_mutex_lock(&ref->lock);
	old = ref->f;
	ref->f = f;
	pthread_mutex_unlock(&ref->lock);
	filter_free(old);
	return 0;
}

bool msr_filter_allowed(struct msr_filter_ref *ref, uint32_t index, bool write)
{
	uint32_t type = write ? KVM_MSR_FILTER_WRITE : KVM_MSR_FILTER_READ;
	bool allowed = true;

	if (index >= 0x800 && index <= 0x8ff)
		return true;
	pthread_mutex_lock(&ref->lock);
	if (ref->f) {
		const struct msr_filter *f = ref->f;

		allowed = f->default_allow;
		for (unsigned i = 0; i < f->count; i++) {
			const struct filter_range *r = &f->ranges[i];
			/* u32 arithmetic as KVM: a range past 2^32 wraps and matches nothing above */
			uint32_t end = r->base + r->nmsrs;

			if (index >= r->base && index < end && (r->flags & type)) {
				uint32_t bit = index - r->base;

				allowed = r->bitmap[bit / 8] >> (bit % 8) & 1;
				break;
			}
		}
	}
	pthread_mutex_unlock(&ref->lock);
	return allowed;
}
