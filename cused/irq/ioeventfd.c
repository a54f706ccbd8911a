/* SPDX-License-Identifier: MIT */
/* KVM_IOEVENTFD: rules as Linux 6.1 virt/kvm/eventfd.c; see ioeventfd.h */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "cused/irq/ioeventfd.h"
#include "cused/irq/evfd.h"
#include "cused/util/log.h"

struct ioeventfd {
	uint64_t addr;
	uint64_t datamatch;
	uint32_t len;              /* 0: any write at addr */
	enum ioeventfd_bus bus;
	bool wildcard;             /* no DATAMATCH */
	uint64_t efd_id;           /* evfd_check(): which eventfd */
	int fd;                    /* the daemon's; closed with the last reference */
	atomic_int refs;           /* the table's, plus one per signal in flight */
};

struct ioeventfd_set {
	pthread_rwlock_t lock;     /* covers e[] and n */
	struct ioeventfd **e;
	unsigned n, cap;
	atomic_uint nr;            /* n, for the run loop's lock-free "none" check */
};

int ioeventfd_set_create(struct ioeventfd_set **out)
{
	struct ioeventfd_set *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	pthread_rwlock_init(&s->lock, NULL);
	*out = s;
	return 0;
}

static void put(struct ioeventfd *p)
{
	if (atomic_fetch_sub(&p->refs, 1) == 1) {
		close(p->fd);
		free(p);
	}
}

void ioeventfd_set_destroy(struct ioeventfd_set *s)
{
	if (!s)
		return;
	for (unsigned i = 0; i < s->n; i++)
		put(s->e[i]);
	free(s->e);
	pthread_rwlock_destroy(&s->lock);
	free(s);
}

static enum ioeventfd_bus bus_from_flags(uint32_t flags)
{
	if (flags & KVM_IOEVENTFD_FLAG_PIO)
		return IOEVENTFD_PIO;
	if (flags & KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY)
		return IOEVENTFD_CCW;
	return IOEVENTFD_MMIO;
}

/* ioeventfd_check_collision() */
static bool collides(const struct ioeventfd *a, const struct ioeventfd *b)
{
	return a->bus == b->bus && a->addr == b->addr &&
	       (!a->len || !b->len ||
		(a->len == b->len && (a->wildcard || b->wildcard || a->datamatch == b->datamatch)));
}

static int assign_locked(struct ioeventfd_set *s, struct ioeventfd *p)
{
	struct ioeventfd **ne;

	for (unsigned i = 0; i < s->n; i++)
		if (collides(s->e[i], p))
			return refuse(-EEXIST, "KVM_IOEVENTFD: %s %#llx len %u collides with an "
				      "existing ioeventfd", p->bus == IOEVENTFD_PIO ? "port" : "gpa",
				      (unsigned long long)p->addr, p->len);
	if (s->n >= IOEVENTFD_MAX)
		return refuse(-ENOSPC, "KVM_IOEVENTFD: VM already has %u ioeventfds", s->n);
	if (s->n == s->cap) {
		unsigned cap = s->cap ? s->cap * 2 : 16;

		ne = realloc(s->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		s->e = ne;
		s->cap = cap;
	}
	s->e[s->n++] = p;
	atomic_store(&s->nr, s->n);
	return 0;
}

static int assign(struct ioeventfd_set *s, const struct kvm_ioeventfd *a, int fd)
{
	struct ioeventfd *p;
	uint64_t id;
	int r;

	switch (a->len) {
	case 0: case 1: case 2: case 4: case 8:
		break;
	default:
		return refuse(-EINVAL, "KVM_IOEVENTFD: len %u is not 0, 1, 2, 4 or 8", a->len);
	}
	if (a->addr + a->len < a->addr)
		return refuse(-EINVAL, "KVM_IOEVENTFD: addr %#llx + len %u wraps",
			      (unsigned long long)a->addr, a->len);
	if (a->flags & ~IOEVENTFD_VALID_FLAGS)
		return refuse(-EINVAL, "KVM_IOEVENTFD: unknown flags %#x", a->flags);
	if (!a->len && (a->flags & KVM_IOEVENTFD_FLAG_DATAMATCH))
		return refuse(-EINVAL, "KVM_IOEVENTFD: DATAMATCH needs a length");
	if (fd < 0)
		return refuse(fd, "KVM_IOEVENTFD: fd %d: %d", a->fd, fd);
	r = evfd_check(fd, &id);
	if (r)
		return refuse(r, "KVM_IOEVENTFD: fd %d is not an eventfd", a->fd);
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->addr = a->addr;
	p->len = a->len;
	p->bus = bus_from_flags(a->flags);
	p->wildcard = !(a->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	p->datamatch = p->wildcard ? 0 : a->datamatch;
	p->efd_id = id;
	p->fd = fd;
	atomic_init(&p->refs, 1);
	pthread_rwlock_wrlock(&s->lock);
	r = assign_locked(s, p);
	pthread_rwlock_unlock(&s->lock);
	if (r)
		free(p);     /* the caller's fd is closed by ioeventfd_ioctl */
	return r;
}

static int deassign(struct ioeventfd_set *s, const struct kvm_ioeventfd *a, int fd)
{
	bool wildcard = !(a->flags & KVM_IOEVENTFD_FLAG_DATAMATCH);
	enum ioeventfd_bus bus = bus_from_flags(a->flags);
	struct ioeventfd *p = NULL;
	uint64_t id;
	int r;

	if (fd < 0)
		return refuse(fd, "KVM_IOEVENTFD deassign: fd %d: %d", a->fd, fd);
	r = evfd_check(fd, &id);
	if (r)
		return refuse(r, "KVM_IOEVENTFD deassign: fd %d is not an eventfd", a->fd);
	pthread_rwlock_wrlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++) {
		struct ioeventfd *q = s->e[i];

		if (q->bus != bus || q->efd_id != id || q->addr != a->addr || q->len != a->len ||
		    q->wildcard != wildcard || (!wildcard && q->datamatch != a->datamatch))
			continue;
		p = q;
		s->e[i] = s->e[--s->n];
		atomic_store(&s->nr, s->n);
		break;
	}
	pthread_rwlock_unlock(&s->lock);
	if (!p)
		return refuse(-ENOENT, "KVM_IOEVENTFD deassign: no such ioeventfd at %#llx",
			      (unsigned long long)a->addr);
	/* a signal in flight may still hold it; the fd goes with the last reference */
	put(p);
	return 0;
}

int ioeventfd_ioctl(struct ioeventfd_set *s, const struct kvm_ioeventfd *a, int fd)
{
	int r;

	if (a->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)
		r = deassign(s, a, fd);
	else
		r = assign(s, a, fd);
	/* assign keeps fd on success; deassign only compared it */
	if (fd >= 0 && (r || (a->flags & KVM_IOEVENTFD_FLAG_DEASSIGN)))
		close(fd);
	return r;
}

unsigned ioeventfd_count(struct ioeventfd_set *s)
{
	return atomic_load(&s->nr);
}

/* ioeventfd_in_range() */
static bool in_range(const struct ioeventfd *p, uint64_t addr, unsigned len, const void *data)
{
	uint64_t v = 0;

	if (addr != p->addr)
		return false;
	if (!p->len)
		return true;
	if (len != p->len)
		return false;
	if (p->wildcard)
		return true;
	/* little-endian: the first len bytes are the zero-extended value */
	memcpy(&v, data, len);
	return v == p->datamatch;
}

/* the matching entry with a reference taken, or NULL */
static struct ioeventfd *lookup(struct ioeventfd_set *s, enum ioeventfd_bus bus, uint64_t addr,
				unsigned len, const void *data)
{
	struct ioeventfd *p = NULL;

	if (!s || !atomic_load_explicit(&s->nr, memory_order_relaxed) || len > 8)
		return NULL;
	pthread_rwlock_rdlock(&s->lock);
	for (unsigned i = 0; i < s->n; i++)
		if (s->e[i]->bus == bus && in_range(s->e[i], addr, len, data)) {
			p = s->e[i];
			atomic_fetch_add(&p->refs, 1);
			break;
		}
	pthread_rwlock_unlock(&s->lock);
	return p;
}

bool ioeventfd_matches(struct ioeventfd_set *s, enum ioeventfd_bus bus, uint64_t addr,
		       unsigned len, const void *data)
{
	struct ioeventfd *p = lookup(s, bus, addr, len, data);

	if (p)
		put(p);
	return p != NULL;
}

bool ioeventfd_write(struct ioeventfd_set *s, enum ioeventfd_bus bus, uint64_t addr,
		     unsigned len, const void *data)
{
	struct ioeventfd *p = lookup(s, bus, addr, len, data);
	int r;

	if (!p)
		return false;
	r = evfd_signal(p->fd);
	if (r)
		log_debug("ioeventfd at %#llx: signal dropped (%d)", (unsigned long long)addr, r);
	put(p);
	return true;
}
