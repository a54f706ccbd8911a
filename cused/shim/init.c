/* SPDX-License-Identifier: MIT */
/* Resolving the wrapped libc functions, the debug trace, raw syscalls. */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
#include "cused/shim/shim.h"

struct shim_real shim_real;
int shim_debug;

static void resolve(void)
{
	const char *d = getenv("CUSED_SHIM_DEBUG");

	shim_debug = d && *d && strcmp(d, "0");
	/* RTLD_NEXT: whatever the client would have called without us */
#define R(field, name) (*(void **)&shim_real.field = dlsym(RTLD_NEXT, name))
	R(open, "open");
	R(open64, "open64");
	R(openat, "openat");
	R(openat64, "openat64");
	R(open_2, "__open_2");
	R(open64_2, "__open64_2");
	R(openat_2, "__openat_2");
	R(openat64_2, "__openat64_2");
	R(ioctl, "ioctl");
	R(mmap, "mmap");
	R(madvise, "madvise");
	R(close, "close");
#undef R
}

void shim_init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, resolve);
}

/* run early so the trace flag is known before the client's first call */
__attribute__((constructor)) static void shim_ctor(void)
{
	shim_init();
}

void shim_trace(const char *fmt, ...)
{
	int saved = errno;
	char buf[256];
	va_list ap;
	int n;

	/* one write per line so lines of different threads do not interleave */
	n = snprintf(buf, sizeof(buf), "cused-shim[%ld]: ", (long)syscall(SYS_gettid));
	va_start(ap, fmt);
	n += vsnprintf(buf + n, sizeof(buf) - n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	if (write(2, buf, n) < 0)
		n = 0;
	errno = saved;
}

long sys_ioctl(int fd, unsigned long cmd, void *arg)
{
	return syscall(SYS_ioctl, fd, cmd, arg);
}

int sys_close(int fd)
{
	return syscall(SYS_close, fd);
}

int sys_reopen(int fd)
{
	char path[40];

	/* opening the magic link opens the device again: a new daemon handle */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	return syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
}
