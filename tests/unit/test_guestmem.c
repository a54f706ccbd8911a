/* SPDX-License-Identifier: MIT */
/*
 * Which client fds may back guest memory (cused/kvm/guestmem_check.c), and
 * taking and mapping them (clientfd.c, guestmem.c) with this very process as
 * the client: every descriptor is checked as the kernel reports it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>
#include "cused/kvm/clientfd.h"
#include "cused/kvm/guestmem.h"
#include "cused/mmu/guestcopy.h"

#define PG 4096ULL

static struct stat reg(uint64_t size)
{
	return (struct stat){ .st_mode = S_IFREG | 0600, .st_size = (off_t)size };
}

#define TMPFS_MAGIC 0x01021994L

static int chk_seals(const struct stat *st, int flags, int seals, uint64_t off, uint64_t size,
		     bool writable, bool unshrinkable)
{
	struct guestmem_want w = { off, size, writable, unshrinkable };
	const char *why = NULL;
	int r = guestmem_check(st, TMPFS_MAGIC, flags, seals, &w, &why);

	/* every refusal names its rule for the log line */
	if (r)
		assert_non_null(why);
	return r;
}

static int chk(const struct stat *st, int flags, uint64_t off, uint64_t size, bool writable)
{
	return chk_seals(st, flags, 0, off, size, writable, false);
}

static void test_access_modes(void **state)
{
	struct stat st = reg(4 * PG);

	(void)state;
	assert_int_equal(chk(&st, O_RDWR, 0, PG, true), 0);
	assert_int_equal(chk(&st, O_RDWR, 0, PG, false), 0);
	assert_int_equal(chk(&st, O_RDONLY, 0, PG, false), 0);
	assert_int_equal(chk(&st, O_RDONLY, 0, PG, true), -EACCES);
	assert_int_equal(chk(&st, O_WRONLY, 0, PG, false), -EACCES);
	assert_int_equal(chk(&st, O_WRONLY, 0, PG, true), -EACCES);
	assert_int_equal(chk(&st, O_ACCMODE, 0, PG, false), -EACCES);
	/* O_PATH carries access mode 0 (= O_RDONLY): defect 2 of issue 6 */
	assert_int_equal(chk(&st, O_PATH, 0, PG, false), -EBADF);
	assert_int_equal(chk(&st, O_PATH | O_RDWR, 0, PG, true), -EBADF);
	/* other status flags do not matter */
	assert_int_equal(chk(&st, O_RDWR | O_NONBLOCK | O_LARGEFILE, 0, PG, true), 0);
}

static void test_file_types(void **state)
{
	mode_t bad[] = { S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK, S_IFDIR, S_IFLNK };
	const char *why;

	(void)state;
	for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct stat st = { .st_mode = bad[i] | 0666, .st_size = 1 << 20 };

		assert_int_equal(chk(&st, O_RDWR, 0, PG, false), -EINVAL);
	}
	/* a file on FUSE: a page fault in the daemon would wait for its server */
	struct stat st = reg(PG);
	struct guestmem_want w = { .size = PG };
	assert_int_equal(guestmem_check(&st, 0x65735546, O_RDWR, 0, &w, &why), -EINVAL);
}

/* the kvm_run area must not shrink under the daemon (SIGBUS) */
static void test_seals(void **state)
{
	struct stat st = reg(4 * PG);

	(void)state;
	assert_int_equal(chk_seals(&st, O_RDWR, 0, 0, 4 * PG, true, true), -EINVAL);
	assert_int_equal(chk_seals(&st, O_RDWR, F_SEAL_GROW | F_SEAL_WRITE, 0, 4 * PG, true, true),
			 -EINVAL);
	assert_int_equal(chk_seals(&st, O_RDWR, F_SEAL_SHRINK, 0, 4 * PG, true, true), 0);
	assert_int_equal(chk_seals(&st, O_RDWR, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL, 0,
				   4 * PG, true, true), 0);
	/* guest RAM needs no seal */
	assert_int_equal(chk_seals(&st, O_RDWR, 0, 0, 4 * PG, true, false), 0);
	/* and the seal does not excuse anything else */
	assert_int_equal(chk_seals(&st, O_PATH, F_SEAL_SHRINK, 0, 4 * PG, false, true), -EBADF);
	assert_int_equal(chk_seals(&st, O_RDWR, F_SEAL_SHRINK, 0, 8 * PG, true, true), -EINVAL);
}

static void test_ranges(void **state)
{
	struct stat st = reg(4 * PG);

	(void)state;
	assert_int_equal(chk(&st, O_RDWR, 0, 4 * PG, true), 0);
	assert_int_equal(chk(&st, O_RDWR, 3 * PG, PG, true), 0);
	assert_int_equal(chk(&st, O_RDWR, 3 * PG, 2 * PG, true), -EINVAL);
	assert_int_equal(chk(&st, O_RDWR, 4 * PG, PG, true), -EINVAL);
	assert_int_equal(chk(&st, O_RDWR, 0, 0, true), -EINVAL);
	assert_int_equal(chk(&st, O_RDWR, 0, PG + 1, true), -EINVAL);
	assert_int_equal(chk(&st, O_RDWR, 1, PG, true), -EINVAL);
	/* offset + size wrapping around must not look small */
	assert_int_equal(chk(&st, O_RDWR, UINT64_MAX - PG + 1, PG, true), -EINVAL);
	assert_int_equal(chk(&st, O_RDWR, PG, UINT64_MAX - PG + 1, true), -EINVAL);
	assert_int_equal(chk(&st, O_RDWR, UINT64_MAX & ~(PG - 1), 2 * PG, true), -EINVAL);
	st.st_size = -1;
	assert_int_equal(chk(&st, O_RDWR, 0, PG, true), -EINVAL);
}

/* guestmem_check on a real descriptor, as guestmem_map does */
static int chk_fd(int fd, uint64_t size, bool w)
{
	struct guestmem_want want = { .size = size, .writable = w };
	struct statfs sfs;
	struct stat st;
	const char *why;
	int fl = fcntl(fd, F_GETFL);

	assert_true(fl >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(fstatfs(fd, &sfs), 0);
	return guestmem_check(&st, (long)sfs.f_type, fl, 0, &want, &why);
}

static void test_real_descriptors(void **state)
{
	char dir[] = "/tmp/test_guestmem.XXXXXX", path[64];
	int mfd = memfd_create("t", MFD_CLOEXEC), p[2], s[2], fd;

	(void)state;
	assert_non_null(mkdtemp(dir));
	assert_int_equal(ftruncate(mfd, 2 * PG), 0);
	assert_int_equal(chk_fd(mfd, 2 * PG, true), 0);
	assert_int_equal(chk_fd(mfd, 3 * PG, true), -EINVAL);

	snprintf(path, sizeof(path), "%s/f", dir);
	fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, PG), 0);
	close(fd);
	fd = open(path, O_PATH | O_CLOEXEC);
	assert_int_equal(chk_fd(fd, PG, false), -EBADF);
	close(fd);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(chk_fd(fd, PG, false), 0);
	assert_int_equal(chk_fd(fd, PG, true), -EACCES);
	close(fd);
	unlink(path);

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	assert_int_equal(chk_fd(p[0], PG, false), -EINVAL);
	close(p[0]);
	close(p[1]);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s), 0);
	assert_int_equal(chk_fd(s[0], PG, false), -EINVAL);
	close(s[0]);
	close(s[1]);
	fd = open("/dev/zero", O_RDWR | O_CLOEXEC);
	assert_int_equal(chk_fd(fd, PG, false), -EINVAL);
	close(fd);
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_int_equal(chk_fd(fd, PG, false), -EINVAL);
	close(fd);
	rmdir(dir);
	close(mfd);
}

/* ---- clientfd_take / guestmem_map with ourselves as the client */
static pid_t tid(void)
{
	return (pid_t)syscall(SYS_gettid);
}

static void test_take_same_description(void **state)
{
	int mfd = memfd_create("t", MFD_CLOEXEC), fd;
	struct stat a, b;

	(void)state;
	fd = clientfd_take(tid(), mfd);
	assert_true(fd >= 0);
	assert_int_equal(fstat(mfd, &a), 0);
	assert_int_equal(fstat(fd, &b), 0);
	assert_true(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
	/* one description: the file offset is shared, not a re-open */
	assert_int_equal(lseek(mfd, 123, SEEK_SET), 123);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 123);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	close(mfd);

	assert_true(fcntl(999, F_GETFD) < 0);
	assert_int_equal(clientfd_take(tid(), 999), -EBADF);
	assert_int_equal(clientfd_take(tid(), -1), -EBADF);
	assert_int_equal(clientfd_take(0, 0), -ESRCH);
}

struct thr {
	int fd, r;
};

/* FUSE names the calling thread, which need not lead its thread group */
static void *take_from_thread(void *arg)
{
	struct thr *t = arg;

	t->r = clientfd_take(tid(), t->fd);
	return NULL;
}

static void test_take_from_non_leader_thread(void **state)
{
	struct thr t = { .fd = memfd_create("t", MFD_CLOEXEC) };
	pthread_t th;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, take_from_thread, &t), 0);
	pthread_join(th, NULL);
	assert_true(t.r >= 0);
	close(t.r);
	close(t.fd);
}

static int map(int fd, uint64_t off, uint64_t size, bool writable, void **hva)
{
	struct guestmem_want w = { off, size, writable, false };

	return guestmem_map(tid(), fd, &w, hva);
}

static void test_map(void **state)
{
	int mfd = memfd_create("t", MFD_CLOEXEC), p[2], ro, opath;
	char path[] = "/tmp/test_guestmem.XXXXXX";
	struct timespec t0, t1;
	void *hva = NULL;
	char *mine;

	(void)state;
	assert_int_equal(ftruncate(mfd, 2 * PG), 0);
	mine = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(mine != MAP_FAILED);
	assert_int_equal(map(mfd, PG, PG, true, &hva), 0);
	/* the same memory, shared */
	((char *)hva)[5] = 'x';
	assert_int_equal(mine[PG + 5], 'x');
	guestmem_unmap(hva, PG);
	assert_int_equal(map(mfd, PG, 2 * PG, true, &hva), -EINVAL);

	ro = mkstemp(path);
	assert_true(ro >= 0);
	assert_int_equal(ftruncate(ro, PG), 0);
	close(ro);
	ro = open(path, O_RDONLY | O_CLOEXEC);
	opath = open(path, O_PATH | O_CLOEXEC);
	unlink(path);
	assert_int_equal(map(ro, 0, PG, true, &hva), -EACCES);
	assert_int_equal(map(ro, 0, PG, false, &hva), 0);
	guestmem_unmap(hva, PG);
	assert_int_equal(map(opath, 0, PG, false, &hva), -EBADF);

	/* a FIFO with no writer: refused at once, never opened (defect 3) */
	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	close(p[1]);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(map(p[0], 0, PG, false, &hva), -EINVAL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	assert_int_equal(map(999, 0, PG, false, &hva), -EBADF);

	close(p[0]);
	close(ro);
	close(opath);
	munmap(mine, 2 * PG);
	close(mfd);
}

static void test_map_unshrinkable(void **state)
{
	struct guestmem_want w = { .size = PG, .writable = true, .unshrinkable = true };
	int plain = memfd_create("t", MFD_CLOEXEC);
	int sealed = memfd_create("t", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	void *hva = NULL;

	(void)state;
	assert_int_equal(ftruncate(plain, PG), 0);
	assert_int_equal(ftruncate(sealed, PG), 0);
	assert_int_equal(guestmem_map(tid(), plain, &w, &hva), -EINVAL);
	assert_int_equal(guestmem_map(tid(), sealed, &w, &hva), -EINVAL);
	assert_int_equal(fcntl(sealed, F_ADD_SEALS, F_SEAL_SHRINK), 0);
	assert_int_equal(guestmem_map(tid(), sealed, &w, &hva), 0);
	guestmem_unmap(hva, PG);
	close(plain);
	close(sealed);
}

/* guest RAM whose file the client shrank: the daemon gets EFAULT, not SIGBUS */
static void test_guest_copy_shrunk(void **state)
{
	int mfd = memfd_create("t", MFD_CLOEXEC);
	char buf[64] = "daemon", *ram;

	(void)state;
	assert_int_equal(ftruncate(mfd, 2 * PG), 0);
	ram = mmap(NULL, 2 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	assert_true(ram != MAP_FAILED);
	assert_int_equal(guest_copy(ram + PG, buf, sizeof(buf)), 0);
	assert_int_equal(guest_copy(buf, ram + PG, sizeof(buf)), 0);
	assert_string_equal(buf, "daemon");
	assert_int_equal(ftruncate(mfd, PG), 0);
	/* again and again: the handler stays armed and SIGBUS unblocked */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(guest_copy(buf, ram + PG, sizeof(buf)), -EFAULT);
		assert_int_equal(guest_copy(ram + PG, buf, sizeof(buf)), -EFAULT);
	}
	/* the page still there is copied as before */
	assert_int_equal(guest_copy(ram, buf, sizeof(buf)), 0);
	assert_int_equal(memcmp(ram, buf, sizeof(buf)), 0);
	munmap(ram, 2 * PG);
	close(mfd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_access_modes),
		cmocka_unit_test(test_file_types),
		cmocka_unit_test(test_ranges),
		cmocka_unit_test(test_seals),
		cmocka_unit_test(test_real_descriptors),
		cmocka_unit_test(test_take_same_description),
		cmocka_unit_test(test_take_from_non_leader_thread),
		cmocka_unit_test(test_map),
		cmocka_unit_test(test_map_unshrinkable),
		cmocka_unit_test(test_guest_copy_shrunk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
