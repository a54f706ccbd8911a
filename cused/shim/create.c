/* SPDX-License-Identifier: MIT */
/*
 * KVM_CREATE_VM / KVM_CREATE_VCPU.  CUSE/FUSE cannot install a new fd in the
 * caller, so the shim does it: the daemon creates the object and returns a
 * token, the shim opens the device again (a fresh daemon handle) and binds
 * that handle to the token.  The new fd is what the client gets back.
 */
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "cused/shim/shim.h"

/* open a fresh handle next to `on` and bind it; returns the fd or -errno */
static int bind_new(int on, uint64_t token, int kind, int run_fd)
{
	struct cused_bind b = { .token = token, .run_fd = run_fd, .kind = kind };
	int fd = sys_reopen(on), e;

	if (fd < 0)
		return -errno;
	if (sys_ioctl(fd, CUSED_IOC_BIND, &b) < 0) {
		e = errno;
		sys_close(fd);
		return -e;
	}
	return fd;
}

static int fail(int neg_errno)
{
	errno = -neg_errno;
	return -1;
}

/* a memfd of size bytes the daemon can map: it can never shrink under it */
static int sealed_memfd(const char *name, size_t size)
{
	int fd, e;

	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	if (ftruncate(fd, size) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		e = errno;
		sys_close(fd);
		return -e;
	}
	return fd;
}

int shim_create_vm(struct cfd *sys, unsigned long type)
{
	struct cused_create cr = { .arg = type };
	int fd, r, ring;

	if (sys_ioctl(sys->fd, CUSED_IOC_CREATE, &cr) < 0)
		return -1;
	/* the coalesced MMIO ring, shared by the daemon and every vCPU mapping */
	ring = sealed_memfd("cused-kvm-coalesced", CUSED_PAGE_SIZE);
	if (ring < 0)
		return fail(ring);
	fd = bind_new(sys->fd, cr.token, CUSED_BIND_VM, ring);
	if (fd < 0) {
		sys_close(ring);
		return fail(fd);
	}
	/* the table entry owns ring from here on */
	r = cfd_add(fd, CFD_VM, ring, -1, NULL);
	if (r) {
		sys_close(fd);
		sys_close(ring);
		return fail(r);
	}
	return fd;
}

/* the kvm_run area: a memfd both sides map, so KVM_RUN needs no FUSE trip */
static int make_run_area(int *memfd, void **shared)
{
	void *p;
	int fd, e;

	fd = sealed_memfd("cused-kvm-run", CUSED_VCPU_MMAP_SIZE);
	if (fd < 0)
		return fd;
	p = mmap(NULL, CUSED_VCPU_MMAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		goto err;
	*memfd = fd;
	*shared = p;
	return 0;
err:
	e = errno;
	sys_close(fd);
	return -e;
}

int shim_create_vcpu(struct cfd *vm, unsigned long id)
{
	struct cused_create cr = { .arg = id };
	void *shared = NULL;
	int memfd = -1, ring = -1, fd, r;

	if (sys_ioctl(vm->fd, CUSED_IOC_CREATE, &cr) < 0)
		return -1;
	r = make_run_area(&memfd, &shared);
	if (r)
		return fail(r);
	/* the vCPU fd outlives a close of its VM fd, and so must its ring */
	if (vm->memfd >= 0) {
		ring = fcntl(vm->memfd, F_DUPFD_CLOEXEC, 0);
		if (ring < 0) {
			r = -errno;
			goto err;
		}
	}
	fd = bind_new(vm->fd, cr.token, CUSED_BIND_VCPU, memfd);
	if (fd < 0) {
		r = fd;
		goto err;
	}
	/* the table entry owns memfd and the mapping from here on */
	r = cfd_add(fd, CFD_VCPU, memfd, ring, shared);
	if (r) {
		sys_close(fd);
		goto err;
	}
	return fd;
err:
	munmap(shared, CUSED_VCPU_MMAP_SIZE);
	sys_close(memfd);
	if (ring >= 0)
		sys_close(ring);
	return fail(r);
}
