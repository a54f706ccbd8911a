/* SPDX-License-Identifier: MIT */
/*
 * cused-run [--device PATH] [--no-bind] CMD [ARGS...]
 *
 * Runs a KVM client on cused: in a private mount namespace the cused device
 * is bind-mounted over /dev/kvm (so an unmodified client opening "/dev/kvm"
 * reaches the daemon; the host's /dev/kvm is untouched outside), and
 * libcused.so is preloaded to do what CUSE/FUSE cannot.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cused/shim_abi.h"

#ifndef CUSED_LIBDIR
#define CUSED_LIBDIR "/usr/local/lib"
#endif
#define KVM_PATH "/dev/kvm"

static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("cused-run: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(127);
}

static void usage(void)
{
	fprintf(stderr, "usage: cused-run [--device PATH] [--no-bind] CMD [ARGS...]\n"
		"  --device PATH  the cused device (default $CUSED_DEVICE or %s)\n"
		"  --no-bind      do not bind PATH over %s (the client must open PATH)\n",
		CUSED_DEFAULT_DEVICE, KVM_PATH);
	exit(2);
}

/* the daemon answers CUSED_IOC_VERSION; nothing else does */
static void check_device(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);
	int v, e;

	if (fd < 0)
		die("cannot open %s: %s (is the cused daemon running?)", path, strerror(errno));
	v = ioctl(fd, CUSED_IOC_VERSION, 0);
	e = errno;
	close(fd);
	if (v < 0)
		die("%s is not a cused device (CUSED_IOC_VERSION: %s)", path, strerror(e));
	if (v != CUSED_SHIM_VERSION)
		die("%s speaks shim protocol %d, this cused-run speaks %d", path, v,
		    CUSED_SHIM_VERSION);
}

static void bind_over_kvm(const char *dev)
{
	struct stat want, got;
	int fd;

	if (unshare(CLONE_NEWNS))
		die("cannot make a private mount namespace: %s (need root; or use --no-bind)",
		    strerror(errno));
	/* without this the bind below would propagate to the host's /dev */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL))
		die("cannot make / private: %s", strerror(errno));
	/* a bind mount needs something to cover (this one file is visible outside) */
	fd = open(KVM_PATH, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOCTTY, 0666);
	if (fd >= 0)
		close(fd);
	else if (errno != EEXIST)
		die("cannot create %s: %s", KVM_PATH, strerror(errno));
	if (mount(dev, KVM_PATH, NULL, MS_BIND, NULL))
		die("cannot bind %s over %s: %s", dev, KVM_PATH, strerror(errno));
	if (stat(dev, &want) || stat(KVM_PATH, &got) || want.st_ino != got.st_ino ||
	    want.st_dev != got.st_dev)
		die("%s is not %s after the bind mount", KVM_PATH, dev);
}

/* libcused.so next to this program (build tree), else where it is installed */
static void find_shim(char *out, size_t size)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n > 0) {
		exe[n] = 0;
		snprintf(out, size, "%s/libcused.so", dirname(exe));
		if (access(out, R_OK) == 0)
			return;
	}
	snprintf(out, size, "%s/libcused.so", CUSED_LIBDIR);
	if (access(out, R_OK))
		die("cannot find libcused.so next to cused-run or in %s", CUSED_LIBDIR);
}

int main(int argc, char **argv)
{
	const char *dev = getenv("CUSED_DEVICE"), *old;
	char devabs[PATH_MAX], shim[PATH_MAX], *preload;
	int bind = 1, i;

	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--device") && i + 1 < argc) {
			dev = argv[++i];
		} else if (!strncmp(argv[i], "--device=", 9)) {
			dev = argv[i] + 9;
		} else if (!strcmp(argv[i], "--no-bind")) {
			bind = 0;
		} else {
			usage();
		}
	}
	if (i >= argc)
		usage();
	if (!dev || !*dev)
		dev = CUSED_DEFAULT_DEVICE;
	/* the shim compares by inode; an absolute path survives the client's chdir */
	if (!realpath(dev, devabs))
		die("%s: %s (is the cused daemon running?)", dev, strerror(errno));

	check_device(devabs);
	find_shim(shim, sizeof(shim));
	if (bind)
		bind_over_kvm(devabs);

	old = getenv("LD_PRELOAD");
	if (asprintf(&preload, "%s%s%s", shim, old && *old ? ":" : "", old ? old : "") < 0)
		die("out of memory");
	if (setenv("CUSED_DEVICE", devabs, 1) || setenv("LD_PRELOAD", preload, 1))
		die("setenv: %s", strerror(errno));
	execvp(argv[i], argv + i);
	die("cannot run %s: %s", argv[i], strerror(errno));
}
