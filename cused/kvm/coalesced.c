/* SPDX-License-Identifier: MIT */
/* KVM_(UN)REGISTER_COALESCED_MMIO: rules as Linux 6.1 virt/kvm/coalesced_mmio.c */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "cused/kvm/coalesced.h"
#include "cused/util/log.h"

_Static_assert(COALESCED_RING_MAX == 170, "KVM_COALESCED_MMIO_MAX on x86");

void coalesced_init(struct coalesced *c)
{
	memset(c, 0, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
}

void coalesced_fini(struct coalesced *c)
{
	free(c->zones);
	pthread_mutex_destroy(&c->lock);
}

void coalesced_set_ring(struct coalesced *c, struct kvm_coalesced_mmio_ring *ring)
{
	pthread_mutex_lock(&c->lock);
	c->ring = ring;
	pthread_mutex_unlock(&c->lock);
}

/* coalesced_mmio_in_range(): [addr, addr+len) inside the zone; len is an int there */
static bool in_range(const struct kvm_coalesced_mmio_zone *z, uint64_t addr, int len)
{
	if (len < 0 || addr + len < addr)
		return false;
	return addr >= z->addr && addr + len <= z->addr + z->size;
}

int coalesced_register(struct coalesced *c, const struct kvm_coalesced_mmio_zone *z)
{
	int r = 0;

	if (z->pio != 0 && z->pio != 1)
		return refuse(-EINVAL, "KVM_REGISTER_COALESCED_MMIO: pio %u is not 0 or 1", z->pio);
	pthread_mutex_lock(&c->lock);
	if (c->n_bus[z->pio] >= COALESCED_MAX_ZONES) {
		r = refuse(-ENOSPC, "KVM_REGISTER_COALESCED_MMIO: %u zones on that bus already",
			   c->n_bus[z->pio]);
		goto out;
	}
	if (c->nz == c->cap) {
		unsigned cap = c->cap ? c->cap * 2 : 8;
		struct kvm_coalesced_mmio_zone *nz = realloc(c->zones, cap * sizeof(*nz));

		if (!nz) {
			r = -ENOMEM;
			goto out;
		}
		c->zones = nz;
		c->cap = cap;
	}
	c->zones[c->nz] = *z;
	/* coalesced_write looks at nz without the lock first */
	__atomic_store_n(&c->nz, c->nz + 1, __ATOMIC_RELAXED);
	c->n_bus[z->pio]++;
out:
	pthread_mutex_unlock(&c->lock);
	return r;
}

int coalesced_unregister(struct coalesced *c, const struct kvm_coalesced_mmio_zone *z)
{
	if (z->pio != 0 && z->pio != 1)
		return refuse(-EINVAL, "KVM_UNREGISTER_COALESCED_MMIO: pio %u is not 0 or 1",
			      z->pio);
	pthread_mutex_lock(&c->lock);
	for (unsigned i = 0; i < c->nz;) {
		if (c->zones[i].pio == z->pio && in_range(&c->zones[i], z->addr, (int)z->size)) {
			c->n_bus[z->pio]--;
			/* keep the order: the first zone that holds a write takes it */
			memmove(&c->zones[i], &c->zones[i + 1], (c->nz - i - 1) * sizeof(*c->zones));
			__atomic_store_n(&c->nz, c->nz - 1, __ATOMIC_RELAXED);
		} else {
			i++;
		}
	}
	pthread_mutex_unlock(&c->lock);
	return 0;
}

bool coalesced_write(struct coalesced *c, bool pio, uint64_t addr, unsigned len,
		     const void *data)
{
	struct kvm_coalesced_mmio_ring *ring;
	struct kvm_coalesced_mmio *e;
	uint32_t insert, first;
	bool hit = false;

	/* the ring is set before the VM has a handle, so before any runner */
	if (!c->ring || len > sizeof(e->data) ||
	    !__atomic_load_n(&c->nz, __ATOMIC_RELAXED))
		return false;
	pthread_mutex_lock(&c->lock);
	ring = c->ring;
	for (unsigned i = 0; i < c->nz && !hit; i++)
		hit = c->zones[i].pio == pio && in_range(&c->zones[i], addr, (int)len);
	if (!hit)
		goto out;
	/* both indices are in the client's memory: read each once, check it */
	insert = __atomic_load_n(&ring->last, __ATOMIC_RELAXED);
	first = __atomic_load_n(&ring->first, __ATOMIC_ACQUIRE);
	if (insert >= COALESCED_RING_MAX || (insert + 1) % COALESCED_RING_MAX == first) {
		hit = false;
		goto out;
	}
	e = &ring->coalesced_mmio[insert];
	e->phys_addr = addr;
	e->len = len;
	e->pio = pio;
	memset(e->data, 0, sizeof(e->data));
	memcpy(e->data, data, len);
	/* the entry before the index that publishes it (KVM's smp_wmb) */
	__atomic_store_n(&ring->last, (insert + 1) % COALESCED_RING_MAX, __ATOMIC_RELEASE);
out:
	pthread_mutex_unlock(&c->lock);
	return hit;
}
