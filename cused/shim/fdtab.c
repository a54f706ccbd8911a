/* SPDX-License-Identifier: MIT */
/*
 * The table of cused fds, indexed by fd number.  Entries are refcounted
 * because a vCPU fd may be closed by one thread while another sleeps in
 * KVM_RUN on its doorbell: the mapping must outlive that call.
 *
 * Lookups take no lock: a client's signal handler may make KVM ioctls
 * (kvmtool's `lkvm debug` calls KVM_GET_REGS from one) and can interrupt its
 * own thread anywhere in a wrapper, so a lock here could be taken twice by
 * one thread.  A struct cfd is never given back to malloc, only recycled
 * through a free list, so a lookup racing with a close reads a live object
 * whose refcount tells it to look again.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "cused/shim/shim.h"

/* two levels of 1024: every fd below Linux's default nr_open (1M) */
#define CHUNK_BITS 10
#define CHUNK_SIZE (1u << CHUNK_BITS)
#define NCHUNKS 1024u

typedef _Atomic(struct cfd *) cfd_slot;
static _Atomic(cfd_slot *) chunks[NCHUNKS];
static atomic_size_t nlive;         /* the common "no cused fds" case looks only here */
static _Atomic(struct cfd *) free_list;
/* only cfd_add pops the free list: one popper, so the pop has no ABA problem */
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;

bool cfd_any(void)
{
	return atomic_load_explicit(&nlive, memory_order_relaxed) != 0;
}

/* the slot for fd, or NULL if fd is out of range (or its chunk missing and !create) */
static cfd_slot *slot(int fd, bool create)
{
	unsigned i = (unsigned)fd >> CHUNK_BITS;
	cfd_slot *chunk, *fresh, *none = NULL;

	if (fd < 0 || i >= NCHUNKS)
		return NULL;
	chunk = atomic_load(&chunks[i]);
	if (!chunk && create) {
		fresh = calloc(CHUNK_SIZE, sizeof(*fresh));
		if (!fresh)
			return NULL;
		if (atomic_compare_exchange_strong(&chunks[i], &none, fresh))
			chunk = fresh;
		else {
			free(fresh);
			chunk = none;
		}
	}
	return chunk ? &chunk[fd & (CHUNK_SIZE - 1)] : NULL;
}

/* the last reference: unmap the doorbell, close the memfd, recycle */
static void cfd_release(struct cfd *c)
{
	struct cfd *head;

	if (c->shared)
		munmap(c->shared, CUSED_VCPU_MMAP_SIZE);
	if (c->memfd >= 0)
		sys_close(c->memfd);
	if (c->ring_fd >= 0)
		sys_close(c->ring_fd);
	pthread_mutex_destroy(&c->run_lock);
	head = atomic_load(&free_list);
	do
		c->free_next = head;
	while (!atomic_compare_exchange_weak(&free_list, &head, c));
}

void cfd_put(struct cfd *c)
{
	if (atomic_fetch_sub(&c->refs, 1) == 1)
		cfd_release(c);
}

static struct cfd *cfd_alloc(void)
{
	struct cfd *c;

	pthread_mutex_lock(&add_lock);
	c = atomic_load(&free_list);
	while (c && !atomic_compare_exchange_weak(&free_list, &c, c->free_next))
		;
	pthread_mutex_unlock(&add_lock);
	return c ? c : calloc(1, sizeof(*c));
}

int cfd_add(int fd, int kind, int memfd, int ring_fd, void *shared)
{
	cfd_slot *s = slot(fd, true);
	struct cfd *c, *old;

	if (!s)
		return fd < 0 || fd >= (int)(NCHUNKS * CHUNK_SIZE) ? -EMFILE : -ENOMEM;
	c = cfd_alloc();
	if (!c)
		return -ENOMEM;
	c->fd = fd;
	c->kind = kind;
	c->memfd = memfd;
	c->ring_fd = ring_fd;
	c->shared = shared;
	c->free_next = NULL;
	atomic_store(&c->sigmask, 0);
	cused_spin_init(&c->spin);
	pthread_mutex_init(&c->run_lock, NULL);
	/* complete before anyone can take a reference (a stale lookup may try) */
	atomic_store(&c->refs, 1);
	/* a stale entry means the fd was closed behind our back (dup2, raw syscall) */
	old = atomic_exchange(s, c);
	if (old)
		cfd_put(old);
	else
		atomic_fetch_add(&nlive, 1);
	return 0;
}

struct cfd *cfd_get(int fd)
{
	cfd_slot *s;
	struct cfd *c;
	int n;

	if (!cfd_any() || !(s = slot(fd, false)))
		return NULL;
	for (;;) {
		c = atomic_load(s);
		if (!c)
			return NULL;
		/* a reference only on a live object: 0 means it is being released */
		n = atomic_load(&c->refs);
		while (n > 0 && !atomic_compare_exchange_weak(&c->refs, &n, n + 1))
			;
		if (n <= 0)
			continue;   /* already out of the slot: look again */
		if (atomic_load(s) == c)
			return c;
		/* closed (and maybe recycled) between the two looks */
		cfd_put(c);
	}
}

bool cfd_drop(int fd)
{
	cfd_slot *s;
	struct cfd *old;

	if (!cfd_any() || !(s = slot(fd, false)))
		return false;
	old = atomic_exchange(s, NULL);
	if (!old)
		return false;
	atomic_fetch_sub(&nlive, 1);
	cfd_put(old);
	return true;
}

/*
 * The device is recognised by inode, not by path: cused-run bind-mounts it
 * over /dev/kvm, so the client opens "/dev/kvm" and gets the cused file.
 */
static struct {
	bool known;
	dev_t dev;
	ino_t ino;
	dev_t rdev;        /* CUSE: a character device, any node of it counts */
} device;
static pthread_mutex_t device_lock = PTHREAD_MUTEX_INITIALIZER;

static bool device_identity(struct stat *out)
{
	const char *path = getenv("CUSED_DEVICE");
	struct stat st;
	bool ok;

	pthread_mutex_lock(&device_lock);
	/* retried until it works: the daemon may start after the client */
	if (!device.known) {
		if (!path || !*path)
			path = CUSED_DEFAULT_DEVICE;
		if (stat(path, &st) == 0) {
			device.known = true;
			device.dev = st.st_dev;
			device.ino = st.st_ino;
			device.rdev = S_ISCHR(st.st_mode) ? st.st_rdev : 0;
		}
	}
	ok = device.known;
	out->st_dev = device.dev;
	out->st_ino = device.ino;
	out->st_rdev = device.rdev;
	pthread_mutex_unlock(&device_lock);
	return ok;
}

bool cfd_is_device(int fd)
{
	struct stat want, st;

	if (!device_identity(&want) || fstat(fd, &st))
		return false;
	if (st.st_dev == want.st_dev && st.st_ino == want.st_ino)
		return true;
	return want.st_rdev && S_ISCHR(st.st_mode) && st.st_rdev == want.st_rdev;
}
