/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include "cused/frontend/bridge.h"
#include "cused/frontend/fuse_fs.h"
#include "cused/frontend/bindmount.h"
#include "cused/util/log.h"

enum { INO_ROOT = FUSE_ROOT_ID, INO_KVM, INO_STATUS };

static const struct {
	const char *name;
	fuse_ino_t ino;
	mode_t mode;
} entries[] = {
	/* like /dev/kvm: root and group kvm (ctx->dev_gid); see bridge.c may_open */
	{ "kvm", INO_KVM, S_IFREG | 0660 },
	/* per-VM exit counters say what other users' guests do: the device's users only */
	{ "status", INO_STATUS, S_IFREG | 0440 },
};

static void fill_attr(fuse_req_t req, fuse_ino_t ino, struct stat *st)
{
	const struct cused_ctx *ctx = fuse_req_userdata(req);

	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_nlink = 1;
	if (ino == INO_ROOT) {
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		return;
	}
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++)
		if (entries[i].ino == ino)
			st->st_mode = entries[i].mode;
	/* no device group: 0660 root:root, i.e. root only */
	if ((ino == INO_KVM || ino == INO_STATUS) && ctx->dev_gid != (gid_t)-1)
		st->st_gid = ctx->dev_gid;
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct fuse_entry_param e = { 0 };

	if (parent != INO_ROOT) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	for (size_t i = 0; i < sizeof(entries) / sizeof(entries[0]); i++) {
		if (strcmp(entries[i].name, name))
			continue;
		e.ino = entries[i].ino;
		e.attr_timeout = e.entry_timeout = 3600;
		fill_attr(req, e.ino, &e.attr);
		fuse_reply_entry(req, &e);
		return;
	}
	fuse_reply_err(req, ENOENT);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct stat st;

	if (ino > INO_STATUS) {
		fuse_reply_err(req, ENOENT);
		return;
	}
	fill_attr(req, ino, &st);
	fuse_reply_attr(req, &st, 3600);
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		       struct fuse_file_info *fi)
{
	char buf[512];
	size_t used = 0;
	const char *names[] = { ".", "..", "kvm", "status" };
	const fuse_ino_t inos[] = { INO_ROOT, INO_ROOT, INO_KVM, INO_STATUS };

	if (ino != INO_ROOT) {
		fuse_reply_err(req, ENOTDIR);
		return;
	}
	for (off_t i = off; i < 4; i++) {
		struct stat st = { .st_ino = inos[i] };
		size_t n;

		fill_attr(req, inos[i], &st);
		n = fuse_add_direntry(req, buf + used, sizeof(buf) - used, names[i], &st, i + 1);
		if (used + n > sizeof(buf) || used + n > size)
			break;
		used += n;
	}
	fuse_reply_buf(req, buf, used);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct cused_ctx *ctx = fuse_req_userdata(req);

	if (ino == INO_STATUS) {
		fi->direct_io = 1;
		fuse_reply_open(req, fi);
		return;
	}
	if (ino != INO_KVM) {
		fuse_reply_err(req, EISDIR);
		return;
	}
	bridge_open(ctx, req, fi);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct cused_ctx *ctx = fuse_req_userdata(req);
	unsigned vms, vcpus;
	char buf[65536];            /* exit counters of ~250 live vCPUs; later lines are cut */
	int n;

	if (ino == INO_KVM) {
		bridge_read(req, size, off, fi);
		return;
	}
	if (ino != INO_STATUS) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	ctx_status(ctx, &vms, &vcpus);
	n = snprintf(buf, sizeof(buf), "backend %s\nvms %u\nvcpus %u\nstatsfds %u\n",
		     ctx->ops->name, vms, vcpus, ctx_nr_stats(ctx));
	n += stats_format(&ctx->stats, buf + n, sizeof(buf) - n);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;    /* truncated: only the last vCPUs' lines are lost */
	if (off >= n)
		fuse_reply_buf(req, NULL, 0);
	else
		fuse_reply_buf(req, buf + off, (size_t)(n - off) < size ? (size_t)(n - off) : size);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	if (ino == INO_KVM)
		bridge_release(req, fi);
	else
		fuse_reply_err(req, 0);
}

static void fs_ioctl(fuse_req_t req, fuse_ino_t ino, unsigned int cmd, void *arg,
		     struct fuse_file_info *fi, unsigned flags, const void *in_buf,
		     size_t in_bufsz, size_t out_bufsz)
{
	if (ino != INO_KVM) {
		fuse_reply_err(req, ENOTTY);
		return;
	}
	bridge_ioctl(req, cmd, arg, fi, flags, in_buf, in_bufsz, out_bufsz);
}

static const struct fuse_lowlevel_ops fs_ops = {
	.lookup = fs_lookup,
	.getattr = fs_getattr,
	.readdir = fs_readdir,
	.open = fs_open,
	.read = fs_read,
	.release = fs_release,
	.ioctl = fs_ioctl,
};

int fuse_fs_serve(struct cused_ctx *ctx, const char *mountpoint, const char *bind_path,
		  bool debug)
{
	char *argv[] = { "cused", "-o", "allow_other,default_permissions,fsname=cused,subtype=cused",
			 debug ? "-d" : NULL, NULL };
	struct fuse_args args = FUSE_ARGS_INIT(debug ? 4 : 3, argv);
	struct fuse_session *se;
	char dev[4096];
	int r = -EIO;

	if (mkdir(mountpoint, 0755) && errno != EEXIST)
		return refuse(-errno, "cannot create mount point %s: %s", mountpoint, strerror(errno));
	/* a daemon that died leaves a dead mount behind; clear it */
	umount2(mountpoint, MNT_DETACH);

	se = fuse_session_new(&args, &fs_ops, sizeof(fs_ops), ctx);
	if (!se)
		return refuse(-EIO, "fuse_session_new failed");
	if (fuse_set_signal_handlers(se))
		goto out_destroy;
	if (fuse_session_mount(se, mountpoint)) {
		log_err("cannot mount FUSE at %s", mountpoint);
		goto out_signals;
	}
	snprintf(dev, sizeof(dev), "%s/kvm", mountpoint);
	if (bind_path && bind_device(dev, bind_path)) {
		fuse_session_unmount(se);
		goto out_signals;
	}
	log_info("serving %s (backend %s)%s%s", dev, ctx->ops->name,
		 bind_path ? ", bound over " : "", bind_path ? bind_path : "");

	/* FUSE reads carry their offset: KVM_GET_STATS_FD files work (statsfd.h) */
	ctx->stats_reads = true;
	r = bridge_loop(ctx, se);

	if (bind_path)
		unbind_device(bind_path);
	fuse_session_unmount(se);
out_signals:
	fuse_remove_signal_handlers(se);
out_destroy:
	fuse_session_destroy(se);
	fuse_opt_free_args(&args);
	return r;
}
