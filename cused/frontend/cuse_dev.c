/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cuse_lowlevel.h>
#include "cused/frontend/bridge.h"
#include "cused/frontend/bindmount.h"
#include "cused/frontend/cuse_dev.h"
#include "cused/util/log.h"

bool cuse_available(void)
{
	return access("/dev/cuse", R_OK | W_OK) == 0;
}

static void cd_open(fuse_req_t req, struct fuse_file_info *fi)
{
	bridge_open(fuse_req_userdata(req), req, fi);
}

static void cd_release(fuse_req_t req, struct fuse_file_info *fi)
{
	bridge_release(req, fi);
}

/*
 * Without CUSE_UNRESTRICTED_IOCTL the kernel copies exactly the size encoded
 * in the ioctl number, as FUSE does; both frontends then behave the same and
 * variable-length tails go through process_vm_readv/writev.
 */
static void cd_ioctl(fuse_req_t req, int cmd, void *arg, struct fuse_file_info *fi,
		     unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	bridge_ioctl(req, (unsigned int)cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static const struct cuse_lowlevel_ops cd_ops = {
	.open = cd_open,
	.release = cd_release,
	.ioctl = cd_ioctl,
};

int cuse_dev_serve(struct cused_ctx *ctx, const char *devname, const char *bind_path,
		   bool debug)
{
	char devarg[128], path[160];
	const char *dev_info_argv[] = { devarg };
	struct cuse_info ci = { .dev_info_argc = 1, .dev_info_argv = dev_info_argv };
	char *argv[] = { "cused", "-f", debug ? "-d" : NULL, NULL };
	struct fuse_session *se;
	int multithreaded, r;

	snprintf(devarg, sizeof(devarg), "DEVNAME=%s", devname);
	snprintf(path, sizeof(path), "/dev/%s", devname);
	se = cuse_lowlevel_setup(debug ? 3 : 2, argv, &ci, &cd_ops, &multithreaded, ctx);
	if (!se)
		return refuse(-EIO, "CUSE setup failed for %s", path);
	/* the device node appears asynchronously after INIT; wait for it */
	for (int i = 0; i < 200 && access(path, F_OK); i++)
		usleep(10000);
	/* devtmpfs makes it 0600 root:root; give it /dev/kvm's 0660 root:kvm */
	if (chown(path, 0, ctx->dev_gid) || chmod(path, ctx->dev_gid == (gid_t)-1 ? 0600 : 0660))
		log_warn("cannot set owner and mode of %s: %s", path, strerror(errno));
	if (bind_path && bind_device(path, bind_path)) {
		cuse_lowlevel_teardown(se);
		return -EIO;
	}
	log_info("serving %s through CUSE (backend %s)", path, ctx->ops->name);
	r = bridge_loop(ctx, se);
	if (bind_path)
		unbind_device(bind_path);
	cuse_lowlevel_teardown(se);
	return r;
}
