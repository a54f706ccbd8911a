/* SPDX-License-Identifier: MIT */
/*
 * The LD_PRELOAD entry points.  open* only classify (is this the cused
 * device?), close forgets, mmap redirects a vCPU fd to its kvm_run memfd,
 * madvise keeps discarded guest RAM discarded for the daemon too,
 * ioctl dispatches the handful of KVM ioctls CUSE/FUSE cannot serve alone.
 * Anything on a non-cused fd goes to libc untouched.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cused/shim/shim.h"

/* built with -fvisibility=hidden: only the wrappers are the library's ABI */
#define EXPORT __attribute__((visibility("default")))

/* the fortified entry points are not declared without _FORTIFY_SOURCE */
int __open_2(const char *path, int flags);
int __open64_2(const char *path, int flags);
int __openat_2(int dirfd, const char *path, int flags);
int __openat64_2(int dirfd, const char *path, int flags);

static int classify(int fd, const char *path)
{
	if (fd >= 0 && cfd_is_device(fd)) {
		TRACE("open(%s) = %d: cused device", path, fd);
		if (cfd_add(fd, CFD_SYS, -1, -1, NULL))
			TRACE("open(%s): out of memory, fd %d not tracked", path, fd);
	}
	return fd;
}

/* O_CREAT and O_TMPFILE are the only flags that carry a mode */
#define MODE_ARG(flags, mode) do {                                       \
		va_list ap_;                                             \
		mode = 0;                                                \
		if ((flags) & (O_CREAT | __O_TMPFILE)) {                 \
			va_start(ap_, flags);                            \
			mode = va_arg(ap_, mode_t);                      \
			va_end(ap_);                                     \
		}                                                        \
	} while (0)

EXPORT int open(const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	shim_init();
	return classify(shim_real.open(path, flags, mode), path);
}

EXPORT int open64(const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	shim_init();
	return classify(shim_real.open64(path, flags, mode), path);
}

EXPORT int openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	shim_init();
	return classify(shim_real.openat(dirfd, path, flags, mode), path);
}

EXPORT int openat64(int dirfd, const char *path, int flags, ...)
{
	mode_t mode;

	MODE_ARG(flags, mode);
	shim_init();
	return classify(shim_real.openat64(dirfd, path, flags, mode), path);
}

EXPORT int __open_2(const char *path, int flags)
{
	shim_init();
	return classify(shim_real.open_2(path, flags), path);
}

EXPORT int __open64_2(const char *path, int flags)
{
	shim_init();
	return classify(shim_real.open64_2(path, flags), path);
}

EXPORT int __openat_2(int dirfd, const char *path, int flags)
{
	shim_init();
	return classify(shim_real.openat_2(dirfd, path, flags), path);
}

EXPORT int __openat64_2(int dirfd, const char *path, int flags)
{
	shim_init();
	return classify(shim_real.openat64_2(dirfd, path, flags), path);
}

EXPORT int close(int fd)
{
	bool ours;
	int r;

	shim_init();
	/*
	 * Forget the fd before the number is free: once closed, another
	 * thread's KVM_CREATE_VCPU may get it, and dropping after that would
	 * drop the new vCPU's entry.  The daemon handle goes with the fd
	 * whatever close returns (Linux frees the number even on error).
	 */
	ours = cfd_drop(fd);
	r = shim_real.close(fd);
	if (ours)
		TRACE("close(%d) = %d", fd, r);
	return r;
}

#define RING_OFF (KVM_COALESCED_MMIO_PAGE_OFFSET * CUSED_PAGE_SIZE)

/* a vCPU fd maps to its kvm_run memfd; other cused fds cannot be mapped */
static void *vcpu_mmap(struct cfd *c, void *addr, size_t len, int prot, int flags, off_t off)
{
	void *p;

	if (c->kind != CFD_VCPU) {
		TRACE("mmap(fd %d): not a vCPU fd: ENODEV", c->fd);
		errno = ENODEV;
		return MAP_FAILED;
	}
	if (off < 0 || off % CUSED_PAGE_SIZE || len == 0 ||
	    (uint64_t)off + len > CUSED_VCPU_MMAP_SIZE) {
		TRACE("mmap(vcpu fd %d, len %#zx, off %#llx): EINVAL", c->fd, len, (long long)off);
		errno = EINVAL;
		return MAP_FAILED;
	}
	/* always shared: a private copy would not see the daemon's writes */
	flags = (flags & ~MAP_TYPE) | MAP_SHARED;
	p = shim_real.mmap(addr, len, prot, flags, c->memfd, off);
	/* the VM's coalesced ring, where KVM has it: page 2 of every vCPU mapping */
	if (p != MAP_FAILED && c->ring_fd >= 0 && off <= RING_OFF && (uint64_t)off + len > RING_OFF) {
		void *ring = (char *)p + (RING_OFF - off);

		if (shim_real.mmap(ring, CUSED_PAGE_SIZE, prot, flags | MAP_FIXED, c->ring_fd, 0) !=
		    ring) {
			int e = errno;

			munmap(p, len);
			TRACE("mmap(vcpu fd %d): ring page: errno %d", c->fd, e);
			errno = e;
			return MAP_FAILED;
		}
	}
	TRACE("mmap(vcpu fd %d, len %#zx, off %#llx) = %p", c->fd, len, (long long)off, p);
	return p;
}

EXPORT void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	struct cfd *c;
	void *p;

	shim_init();
	c = fd >= 0 ? cfd_get(fd) : NULL;
	if (!c)
		return shim_real.mmap(addr, len, prot, flags, fd, off);
	p = vcpu_mmap(c, addr, len, prot, flags, off);
	cfd_put(c);
	return p;
}

/* on x86-64 off64_t is off_t, and glibc's mmap64 is the same function */
_Static_assert(sizeof(off64_t) == sizeof(off_t), "mmap64 differs from mmap here");
EXPORT void *mmap64(void *addr, size_t len, int prot, int flags, int fd, off64_t off)
	__attribute__((alias("mmap")));

EXPORT int madvise(void *addr, size_t len, int advice)
{
	int r;

	shim_init();
	r = shim_real.madvise(addr, len, advice);
	/* after the kernel's own work, so a refused call changes nothing */
	if (r == 0 && advice == MADV_DONTNEED)
		shim_mem_discarded((uintptr_t)addr, len);
	return r;
}

static int dispatch(struct cfd *c, unsigned long req, void *arg)
{
	switch (c->kind) {
	case CFD_SYS:
		if (req == KVM_CREATE_VM)
			return shim_create_vm(c, (unsigned long)arg);
		break;
	case CFD_VM:
		if (req == KVM_CREATE_VCPU)
			return shim_create_vcpu(c, (unsigned long)arg);
		if (req == KVM_SET_USER_MEMORY_REGION)
			return shim_set_memory(c, arg);
		if (req == KVM_GET_STATS_FD)
			return shim_get_stats_fd(c);
		break;
	case CFD_VCPU:
		if (req == KVM_RUN)
			return shim_run(c);
		if (req == KVM_SET_SIGNAL_MASK)
			return shim_set_signal_mask(c, arg);
		if (req == KVM_GET_STATS_FD)
			return shim_get_stats_fd(c);
		break;
	}
	return shim_real.ioctl(c->fd, req, arg);
}

EXPORT int ioctl(int fd, unsigned long req, ...)
{
	struct cfd *c;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	shim_init();

	c = cfd_get(fd);
	/* a device fd we did not see opened (dup, raw syscall): learn it now */
	if (!c && req == KVM_CREATE_VM && cfd_is_device(fd) && cfd_add(fd, CFD_SYS, -1, -1, NULL) == 0)
		c = cfd_get(fd);
	if (!c)
		return shim_real.ioctl(fd, req, arg);
	r = dispatch(c, req, arg);
	TRACE("ioctl(%d, %#lx, %p) = %d (errno %d)", fd, req, arg, r, r < 0 ? errno : 0);
	cfd_put(c);
	return r;
}
