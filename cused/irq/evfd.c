/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>
#include "cused/irq/evfd.h"

int evfd_check(int fd, uint64_t *id)
{
	char path[64], line[128];
	bool is_evfd = false;
	uint64_t v;
	FILE *f;

	*id = 0;
	if (fd < 0)
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -EBADF : -errno;
	/* an eventfd's fdinfo has eventfd-count; eventfd-id since Linux 5.2 */
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "eventfd-count:", 14))
			is_evfd = true;
		else if (sscanf(line, "eventfd-id: %" SCNu64, &v) == 1)
			*id = v + 1;   /* 0 stays "unknown" */
	}
	fclose(f);
	if (!is_evfd)
		return -EINVAL;
	/* without an id the eventfd cannot be told apart from others */
	return *id ? 0 : -EOPNOTSUPP;
}

int evfd_signal(int fd)
{
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	uint64_t one = 1;
	ssize_t r;

	/*
	 * POLLOUT on an eventfd means exactly "adding 1 does not block".  If
	 * another writer fills the counter between the look and the write, the
	 * write sleeps (interruptibly); a kick of this thread (close, another
	 * ioctl on the vCPU) then looks again instead of writing again, so the
	 * full counter drops the event rather than holding the thread.
	 */
	for (;;) {
		if (poll(&p, 1, 0) != 1 || !(p.revents & POLLOUT))
			return -EAGAIN;
		r = write(fd, &one, sizeof(one));
		if (r >= 0 || errno != EINTR)
			break;
	}
	return r == sizeof(one) ? 0 : r < 0 ? -errno : -EIO;
}

int evfd_drain(int fd, uint64_t *count)
{
	struct iovec iov = { count, sizeof(*count) };
	ssize_t r;

	*count = 0;
	do
		r = preadv2(fd, &iov, 1, -1, RWF_NOWAIT);
	while (r < 0 && errno == EINTR);
	if (r == sizeof(*count))
		return 1;
	return r < 0 && errno == EAGAIN ? 0 : r < 0 ? -errno : -EIO;
}
