/* SPDX-License-Identifier: MIT */
/*
 * The table of cused fds.  A process has a handful (one system fd, a VM, its
 * vCPUs), so a small array under one lock is enough.  Entries are refcounted
 * because a vCPU fd may be closed by one thread while another sleeps in
 * KVM_RUN on its doorbell: the mapping must outlive that call.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include "cused/shim/shim.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct cfd **tab;
static size_t ntab, captab;
static size_t nlive;       /* read without the lock for the common "no cused fds" case */

static void cfd_free(struct cfd *c)
{
	if (c->shared)
		munmap(c->shared, CUSED_VCPU_MMAP_SIZE);
	if (c->memfd >= 0)
		sys_close(c->memfd);
	pthread_mutex_destroy(&c->run_lock);
	free(c);
}

/* with the lock held; the last reference unmaps the doorbell and closes the memfd */
static void unref(struct cfd *c)
{
	if (--c->refs == 0)
		cfd_free(c);
}

bool cfd_any(void)
{
	return __atomic_load_n(&nlive, __ATOMIC_RELAXED) != 0;
}

static ssize_t find(int fd)
{
	for (size_t i = 0; i < ntab; i++)
		if (tab[i]->fd == fd)
			return i;
	return -1;
}

static void remove_at(size_t i)
{
	struct cfd *c = tab[i];

	tab[i] = tab[--ntab];
	__atomic_store_n(&nlive, ntab, __ATOMIC_RELAXED);
	unref(c);
}

int cfd_add(int fd, int kind, int memfd, void *shared)
{
	struct cfd *c = calloc(1, sizeof(*c));
	ssize_t i;

	if (!c)
		return -ENOMEM;
	*c = (struct cfd){ .fd = fd, .kind = kind, .refs = 1, .memfd = memfd, .shared = shared };
	cused_spin_init(&c->spin);
	pthread_mutex_init(&c->run_lock, NULL);
	pthread_mutex_lock(&lock);
	/* a stale entry means the fd was closed behind our back (dup2, raw syscall) */
	i = find(fd);
	if (i >= 0)
		remove_at(i);
	if (ntab == captab) {
		size_t ncap = captab ? 2 * captab : 16;
		struct cfd **n = realloc(tab, ncap * sizeof(*n));

		if (!n) {
			pthread_mutex_unlock(&lock);
			pthread_mutex_destroy(&c->run_lock);
			free(c);
			return -ENOMEM;
		}
		tab = n;
		captab = ncap;
	}
	tab[ntab++] = c;
	__atomic_store_n(&nlive, ntab, __ATOMIC_RELAXED);
	pthread_mutex_unlock(&lock);
	return 0;
}

struct cfd *cfd_get(int fd)
{
	struct cfd *c = NULL;
	ssize_t i;

	if (!cfd_any())
		return NULL;
	pthread_mutex_lock(&lock);
	i = find(fd);
	if (i >= 0) {
		c = tab[i];
		c->refs++;
	}
	pthread_mutex_unlock(&lock);
	return c;
}

void cfd_put(struct cfd *c)
{
	pthread_mutex_lock(&lock);
	unref(c);
	pthread_mutex_unlock(&lock);
}

bool cfd_drop(int fd)
{
	ssize_t i;

	if (!cfd_any())
		return false;
	pthread_mutex_lock(&lock);
	i = find(fd);
	if (i >= 0)
		remove_at(i);
	pthread_mutex_unlock(&lock);
	return i >= 0;
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
