/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>
#include "cused/frontend/bindmount.h"
#include "cused/util/log.h"

int bind_device(const char *dev, const char *path)
{
	int fd;

	/* a bind mount needs something to cover */
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0666);
	if (fd >= 0)
		close(fd);
	else if (errno != EISDIR && errno != ENXIO && errno != EACCES)
		return refuse(-errno, "cannot create %s: %s", path, strerror(errno));
	if (mount(dev, path, NULL, MS_BIND, NULL))
		return refuse(-errno, "cannot bind %s over %s: %s", dev, path, strerror(errno));
	return 0;
}

void unbind_device(const char *path)
{
	if (umount2(path, MNT_DETACH))
		log_warn("cannot unbind %s: %s", path, strerror(errno));
}
