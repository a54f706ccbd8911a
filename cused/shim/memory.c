/* SPDX-License-Identifier: MIT */
/*
 * Guest RAM the daemon can map.  The daemon is another process, so it needs
 * an fd for the client's memory, which it takes from us with pidfd_getfd():
 * a shared mapping of a file uses an fd the process already has open on that
 * file; a private one is re-backed in place by a memfd holding the same
 * contents, which the shim remembers so that aliases and re-registrations of
 * the range share it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdatomic.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <unistd.h>
#include "cused/shim/shim.h"

struct vma {
	uint64_t start, end, off;
	unsigned major, minor;
	uint64_t ino;
	int prot;
	bool shared;       /* 's', or special memory we must not copy (hugetlb) */
	bool anon;         /* private memory with no file behind it */
};

#define MAX_VMAS 64

/* the VMAs covering [addr, end), in order; -ENOENT if any byte is unmapped */
static int find_vmas(uint64_t addr, uint64_t end, struct vma *v, int max)
{
	char line[4096 + 128];
	uint64_t next = addr;
	int n = 0, r = -ENOENT;
	FILE *f = fopen("/proc/self/maps", "re");

	if (!f)
		return -errno;
	while (next < end && fgets(line, sizeof(line), f)) {
		struct vma m = { 0 };
		char perms[8], *path;
		int pos = 0;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu %n", &m.start, &m.end, perms,
			   &m.off, &m.major, &m.minor, &m.ino, &pos) < 7)
			continue;
		if (m.end <= next)
			continue;
		if (m.start > next)
			break;      /* a hole */
		path = line + pos;
		path[strcspn(path, "\n")] = 0;
		m.prot = (perms[0] == 'r' ? PROT_READ : 0) | (perms[1] == 'w' ? PROT_WRITE : 0) |
			 (perms[2] == 'x' ? PROT_EXEC : 0);
		/* hugetlb and [vdso]-like areas cannot be copied: hand them over as they are */
		m.shared = perms[3] == 's' || strstr(path, "anon_hugepage") ||
			   (path[0] == '[' && strcmp(path, "[heap]") && strcmp(path, "[stack]") &&
			    strncmp(path, "[anon:", 6));
		m.anon = !m.shared && m.ino == 0;
		if (n == max) {
			r = -E2BIG;
			break;
		}
		v[n++] = m;
		next = m.end;
	}
	fclose(f);
	return next >= end ? n : r;
}

/* ---- memfds the shim made, found again by inode */
struct backing {
	uint64_t start, len;
	int memfd;
	dev_t dev;
	ino_t ino;
	bool anon;         /* every page was private anonymous memory */
};
static struct backing *backings;
static size_t nbackings;
/* nbackings, readable without the lock: madvise's fast path */
static atomic_size_t any_backings;

static struct backing *backing_of(const struct vma *m)
{
	for (size_t i = 0; i < nbackings; i++)
		if (backings[i].ino == m->ino && major(backings[i].dev) == m->major &&
		    minor(backings[i].dev) == m->minor)
			return &backings[i];
	return NULL;
}

static int remember(uint64_t start, uint64_t len, int memfd, bool anon)
{
	struct backing *n;
	struct stat st;

	if (fstat(memfd, &st))
		return -errno;
	/* a range re-backed again was unmapped and reallocated: its old memfd is stale */
	for (size_t i = 0; i < nbackings;) {
		if (backings[i].start >= start && backings[i].start + backings[i].len <= start + len) {
			sys_close(backings[i].memfd);
			backings[i] = backings[--nbackings];
			atomic_store(&any_backings, nbackings);
		} else {
			i++;
		}
	}
	n = realloc(backings, (nbackings + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	backings = n;
	backings[nbackings++] = (struct backing){ start, len, memfd, st.st_dev, st.st_ino, anon };
	atomic_store(&any_backings, nbackings);
	return 0;
}

/*
 * Copy [src, src+len) into dst through /proc/self/mem, which reads even
 * PROT_NONE pages.  Anonymous pages never touched read as zero and the
 * memfd is zero already, so pagemap lets us skip them (and not allocate
 * gigabytes of a fresh guest's RAM).  Pages that cannot be read (a file
 * mapping past EOF: SIGBUS for the client too) stay zero.
 */
static void copy_range(int mem, int pagemap, char *dst, uint64_t src, uint64_t len, bool anon)
{
	const uint64_t pg = CUSED_PAGE_SIZE;
	uint64_t ents[512];

	for (uint64_t done = 0; done < len;) {
		uint64_t chunk = len - done < sizeof(ents) / 8 * pg ? len - done : sizeof(ents) / 8 * pg;
		uint64_t npg = chunk / pg;

		if (anon && pread(pagemap, ents, npg * 8, (src + done) / pg * 8) != (ssize_t)(npg * 8))
			anon = false;   /* no pagemap: copy everything */
		for (uint64_t i = 0; i < npg; i++) {
			/* bit 63: present, bit 62: swapped */
			if (anon && !(ents[i] >> 62))
				continue;
			/* a page that cannot be read stays zero */
			(void)!pread(mem, dst + done + i * pg, pg, src + done + i * pg);
		}
		done += chunk;
	}
}

static bool all_anon(const struct vma *v, int n)
{
	for (int i = 0; i < n; i++)
		if (!v[i].anon)
			return false;
	return true;
}

/* replace the private VMAs v[0..n) over [addr, addr+len) with one memfd */
static int reback(uint64_t addr, uint64_t len, const struct vma *v, int n, int *out)
{
	int memfd, mem = -1, pagemap = -1, r = 0;
	char *tmp = MAP_FAILED;

	memfd = memfd_create("cused-guest-ram", MFD_CLOEXEC);
	if (memfd < 0)
		return -errno;
	if (ftruncate(memfd, len) < 0)
		goto err;
	tmp = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (tmp == MAP_FAILED)
		goto err;
	mem = syscall(SYS_openat, AT_FDCWD, "/proc/self/mem", O_RDONLY | O_CLOEXEC);
	pagemap = syscall(SYS_openat, AT_FDCWD, "/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (mem < 0)
		goto err;
	for (int i = 0; i < n; i++) {
		uint64_t s = v[i].start > addr ? v[i].start : addr;
		uint64_t e = v[i].end < addr + len ? v[i].end : addr + len;

		copy_range(mem, pagemap, tmp + (s - addr), s, e - s, v[i].anon && pagemap >= 0);
	}
	/* the same addresses and protections, now shared with whoever maps memfd */
	for (int i = 0; i < n; i++) {
		uint64_t s = v[i].start > addr ? v[i].start : addr;
		uint64_t e = v[i].end < addr + len ? v[i].end : addr + len;

		if (mmap((void *)s, e - s, v[i].prot, MAP_SHARED | MAP_FIXED, memfd, s - addr) ==
		    MAP_FAILED)
			goto err;
	}
	r = remember(addr, len, memfd, all_anon(v, n));
	if (!r) {
		TRACE("re-backed %#lx+%#lx (%d VMAs) with memfd %d", addr, len, n, memfd);
		*out = memfd;
		memfd = -1;
	}
	goto out;
err:
	r = -errno;
out:
	if (tmp != MAP_FAILED)
		munmap(tmp, len);
	if (mem >= 0)
		sys_close(mem);
	if (pagemap >= 0)
		sys_close(pagemap);
	if (memfd >= 0)
		sys_close(memfd);
	return r;
}

/* one file behind all of v[0..n), at consecutive offsets? */
static bool one_file(const struct vma *v, int n)
{
	for (int i = 1; i < n; i++)
		if (!v[i].shared || v[i].ino != v[0].ino || v[i].major != v[0].major ||
		    v[i].minor != v[0].minor || v[i].off != v[0].off + (v[i].start - v[0].start))
			return false;
	return v[0].shared;
}

static bool all_private(const struct vma *v, int n)
{
	for (int i = 0; i < n; i++)
		if (v[i].shared)
			return false;
	return true;
}

/*
 * An fd this process already has open on the file behind the shared VMA @m,
 * read-write if there is one, else read-only; -1 if none.  The daemon takes
 * that open file description as it is (pidfd_getfd), so it gets exactly the
 * access the client has.  O_PATH and write-only fds grant no mapping.
 */
static int open_fd_on(const struct vma *m)
{
	int best = -1, fd;
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		struct stat st;
		int fl;

		fd = atoi(e->d_name);
		if (e->d_name[0] < '0' || e->d_name[0] > '9' || fd == dirfd(d))
			continue;
		fl = fcntl(fd, F_GETFL);
		if (fl < 0 || (fl & O_PATH) || (fl & O_ACCMODE) == O_WRONLY)
			continue;
		if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_ino != m->ino ||
		    major(st.st_dev) != m->major || minor(st.st_dev) != m->minor)
			continue;
		best = fd;
		if ((fl & O_ACCMODE) == O_RDWR)
			break;
	}
	closedir(d);
	return best;
}

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

int shim_mem_backing(uint64_t addr, uint64_t len, int *fd, uint64_t *off, bool *close_fd)
{
	struct vma v[MAX_VMAS];
	struct backing *b;
	char path[64];
	int n, r = 0;

	*fd = -1;
	*off = 0;
	*close_fd = false;
	/* the daemon rejects what KVM rejects; no backing needed to say so */
	if (!len || addr % CUSED_PAGE_SIZE || len % CUSED_PAGE_SIZE || addr + len < addr)
		return 0;
	pthread_mutex_lock(&lock);
	n = find_vmas(addr, addr + len, v, MAX_VMAS);
	if (n <= 0) {
		TRACE("memory %#lx+%#lx: not mapped (%d), no backing", addr, len, n);
		goto out;
	}
	if (all_private(v, n)) {
		r = reback(addr, len, v, n, fd);
		goto out;
	}
	if (!one_file(v, n)) {
		TRACE("memory %#lx+%#lx: mixed backings, no backing", addr, len);
		goto out;
	}
	*off = v[0].off + (addr - v[0].start);
	b = backing_of(&v[0]);
	if (b) {
		*fd = b->memfd;
		goto out;
	}
	/* someone else's shared mapping: an fd the process has open on its file */
	*fd = open_fd_on(&v[0]);
	if (*fd >= 0)
		goto out;
	/*
	 * Last resort, for shared memory with no fd left (MAP_SHARED|MAP_ANONYMOUS,
	 * a file closed after mmap): open it through the mapping.  The kernel
	 * allows that only with CAP_SYS_ADMIN or CAP_CHECKPOINT_RESTORE, so an
	 * ordinary client gets no backing here and the slot faults like an
	 * unmapped one.
	 */
	snprintf(path, sizeof(path), "/proc/self/map_files/%lx-%lx", v[0].start, v[0].end);
	*fd = syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
	if (*fd < 0)
		*fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	if (*fd < 0)
		TRACE("memory %#lx+%#lx: no fd on its file, cannot open %s (errno %d)", addr,
		      len, path, errno);
	else
		*close_fd = true;
out:
	pthread_mutex_unlock(&lock);
	return r;
}

int shim_set_memory(struct cfd *vm, void *arg)
{
	struct cused_mem_region mr = { .fd = -1 };
	struct iovec local = { &mr.region, sizeof(mr.region) }, remote = { arg, sizeof(mr.region) };
	uint64_t off;
	bool close_fd;
	long r;

	/* a bad pointer must give the daemon's EFAULT, not a crash in the shim */
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != sizeof(mr.region))
		return shim_real.ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, arg);
	r = shim_mem_backing(mr.region.userspace_addr, mr.region.memory_size, &mr.fd, &off,
			     &close_fd);
	if (r) {
		errno = -r;
		return -1;
	}
	mr.fd_offset = off;
	r = sys_ioctl(vm->fd, CUSED_IOC_SET_MEMORY, &mr);
	if (close_fd) {
		int e = errno;

		sys_close(mr.fd);
		errno = e;
	}
	return r;
}

/*
 * MADV_DONTNEED on private anonymous memory makes it read as zero again; on
 * the shared memfd we re-backed it with, it would only drop this process's
 * page-table entries, and the client, the daemon and the guest would all go
 * on seeing the old contents (and the memory would never be given back, so
 * a balloon could not shrink the guest).  So for every part of
 * [addr, addr+len) still mapped from an all-anonymous re-backing, punch the
 * same range out of the memfd: everyone sees zeros, as with KVM's
 * SYNC_MMU on anonymous memory.  Private file mappings are left alone: there
 * DONTNEED means "read the file again", which a hole would not give.
 */
void shim_mem_discarded(uint64_t addr, uint64_t len)
{
	uint64_t end = addr + len;
	char line[4096 + 128];
	FILE *f;

	if (!atomic_load_explicit(&any_backings, memory_order_relaxed) || end < addr)
		return;
	pthread_mutex_lock(&lock);
	f = fopen("/proc/self/maps", "re");
	while (f && fgets(line, sizeof(line), f)) {
		uint64_t s, e, off, ino;
		unsigned maj, min;
		char perms[8];
		struct backing *b = NULL;

		if (sscanf(line, "%lx-%lx %7s %lx %x:%x %lu", &s, &e, perms, &off, &maj, &min,
			   &ino) < 7 || e <= addr)
			continue;
		if (s >= end)
			break;
		if (perms[3] != 's')
			continue;
		for (size_t i = 0; i < nbackings && !b; i++)
			if (backings[i].anon && backings[i].ino == ino &&
			    major(backings[i].dev) == maj && minor(backings[i].dev) == min)
				b = &backings[i];
		if (!b)
			continue;
		/* off is the file offset of the VMA's start: clip both ends */
		if (s < addr) {
			off += addr - s;
			s = addr;
		}
		e = e < end ? e : end;
		TRACE("discard %#lx+%#lx: punching memfd %d at %#lx", s, e - s, b->memfd, off);
		(void)!fallocate(b->memfd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off,
				 (off_t)(e - s));
	}
	if (f)
		fclose(f);
	pthread_mutex_unlock(&lock);
}
