/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/uio.h>
#include <unistd.h>
#include "cused/frontend/bridge.h"
#include "cused/util/log.h"

/* process_vm_* on the calling thread: FUSE tells us its tid */
static int pid_read(void *ctx, uint64_t uaddr, void *buf, size_t len)
{
	struct iovec local = { buf, len }, remote = { (void *)(uintptr_t)uaddr, len };

	return process_vm_readv((pid_t)(uintptr_t)ctx, &local, 1, &remote, 1, 0) ==
	       (ssize_t)len ? 0 : -EFAULT;
}

static int pid_write(void *ctx, uint64_t uaddr, const void *buf, size_t len)
{
	struct iovec local = { (void *)buf, len }, remote = { (void *)(uintptr_t)uaddr, len };

	return process_vm_writev((pid_t)(uintptr_t)ctx, &local, 1, &remote, 1, 0) ==
	       (ssize_t)len ? 0 : -EFAULT;
}

/*
 * Like /dev/kvm (0660 root:kvm): root, or a caller whose group or one of
 * whose supplementary groups is the device group.  The FUSE mount also has
 * default_permissions and the CUSE node is chmod'ed, so this is the second
 * check; it is the one that also holds if a node's mode is changed.
 */
static bool may_open(const struct cused_ctx *ctx, fuse_req_t req)
{
	const struct fuse_ctx *c = fuse_req_ctx(req);
	gid_t groups[256];
	int n;

	if (c->uid == 0)
		return true;
	if (ctx->dev_gid == (gid_t)-1)
		return false;
	if (c->gid == ctx->dev_gid)
		return true;
	n = fuse_req_getgroups(req, sizeof(groups) / sizeof(groups[0]), groups);
	for (int i = 0; i < n && i < (int)(sizeof(groups) / sizeof(groups[0])); i++)
		if (groups[i] == ctx->dev_gid)
			return true;
	return false;
}

void bridge_open(struct cused_ctx *ctx, fuse_req_t req, struct fuse_file_info *fi)
{
	struct cused_handle *h;

	log_set_client(fuse_req_ctx(req)->uid + 1);
	if (!may_open(ctx, req)) {
		log_warn("pid %d uid %u: open refused: not root and not in the "
		       "device's group", fuse_req_ctx(req)->pid, (unsigned)fuse_req_ctx(req)->uid);
		log_set_client(0);
		fuse_reply_err(req, EACCES);
		return;
	}
	log_set_client(0);
	h = handle_open(ctx);
	if (!h) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	fi->fh = (uintptr_t)h;
	/*
	 * Every open is its own object; nothing may be cached.  Nor seeked,
	 * except a read-only open: libcused binds those to KVM_GET_STATS_FD
	 * files, which KVM reads with pread (a FUSE nonseekable file has none).
	 */
	fi->direct_io = 1;
	fi->nonseekable = (fi->flags & O_ACCMODE) != O_RDONLY;
	fuse_reply_open(req, fi);
}

void bridge_release(fuse_req_t req, struct fuse_file_info *fi)
{
	struct cused_handle *h = (struct cused_handle *)(uintptr_t)fi->fh;

	/* a dead client lands here too: the kernel closes its files for it */
	if (h)
		handle_release(h);
	fuse_reply_err(req, 0);
}

void bridge_read(fuse_req_t req, size_t size, off_t off, struct fuse_file_info *fi)
{
	struct cused_handle *h = (struct cused_handle *)(uintptr_t)fi->fh;
	/* no stats file is larger; a larger read is short, as at its end */
	char buf[16384];
	long r;

	if (!h || off < 0) {
		fuse_reply_err(req, EINVAL);
		return;
	}
	r = handle_read(h, buf, size < sizeof(buf) ? size : sizeof(buf), (uint64_t)off);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_buf(req, buf, (size_t)r);
}

struct interrupt_ctx {
	struct cused_handle *h;
	struct ioctl_req *rq;
};

/* FUSE INTERRUPT: the caller took a signal (or was killed) while we serve it */
static void ioctl_interrupted(fuse_req_t req, void *data)
{
	struct interrupt_ctx *ic = data;

	(void)req;
	handle_interrupt(ic->h, ic->rq);
}

void bridge_ioctl(fuse_req_t req, unsigned int cmd, void *arg, struct fuse_file_info *fi,
		  unsigned flags, const void *in_buf, size_t in_bufsz, size_t out_bufsz)
{
	struct cused_handle *h = (struct cused_handle *)(uintptr_t)fi->fh;
	pid_t pid = fuse_req_ctx(req)->pid;
	struct client_mem mem = { pid_read, pid_write, (void *)(uintptr_t)pid };
	size_t size = _IOC_SIZE(cmd);
	unsigned dir = _IOC_DIR(cmd);
	struct ioctl_req rq = {
		.cmd = cmd, .arg = (uintptr_t)arg, .pid = pid, .mem = &mem,
		.uid = fuse_req_ctx(req)->uid,
	};
	struct interrupt_ctx ic = { h, &rq };
	bool can_block;
	void *out = NULL;
	long r;

	if (flags & FUSE_IOCTL_COMPAT) {
		fuse_reply_err(req, ENOSYS);
		return;
	}
	if ((dir & _IOC_WRITE) && in_bufsz < size) {
		/* restricted ioctls always arrive with the encoded size */
		fuse_reply_err(req, EFAULT);
		return;
	}
	if (dir & _IOC_WRITE) {
		rq.in = in_buf;
		rq.in_len = size;
	}
	if (dir & _IOC_READ) {
		out = calloc(1, size ? size : 1);
		if (!out) {
			fuse_reply_err(req, ENOMEM);
			return;
		}
		/* a zero-size _IOWR arrives with no input buffer at all */
		if ((dir & _IOC_WRITE) && size)
			memcpy(out, in_buf, size);
		rq.out = out;
		rq.out_len = size < out_bufsz ? size : out_bufsz;
	}
	/*
	 * vCPU ioctls may wait (for the vCPU, or in the guest for a FUSE
	 * KVM_RUN); a killed caller sits in D state until we answer, so its
	 * signal must end the wait.  libfuse calls the function at once if the
	 * INTERRUPT came first, and not after it is unregistered.
	 */
	can_block = h && atomic_load(&h->kind) == H_VCPU;
	if (can_block)
		fuse_req_interrupt_func(req, ioctl_interrupted, &ic);
	log_set_client(rq.uid + 1);
	r = handle_ioctl(h, &rq);
	log_set_client(0);
	if (can_block)
		fuse_req_interrupt_func(req, NULL, NULL);
	if (r < 0)
		fuse_reply_err(req, (int)-r);
	else
		fuse_reply_ioctl(req, (int)r, out, out ? rq.out_len : 0);
	free(out);
}

/*
 * Shutdown.  libfuse's signal handler only marks the session exited; its
 * loop then joins every worker, so a worker waiting for a vCPU or running a
 * guest would keep the daemon up for ever.  Our handler also wakes a thread
 * that runs ctx_shutdown (not async-signal-safe, hence the thread).  A
 * signal handler has no argument: this is the one place state is static.
 */
static const int stop_signals[] = { SIGTERM, SIGINT, SIGHUP };
#define NSTOP (sizeof(stop_signals) / sizeof(stop_signals[0]))
static struct {
	struct fuse_session *se;
	int efd;
} stop;

static void on_stop_signal(int sig)
{
	uint64_t one = 1;
	int e = errno;
	ssize_t n;

	(void)sig;
	fuse_session_exit(stop.se);
	/* can only fail with a saturated counter: the thread is awake already */
	n = write(stop.efd, &one, sizeof(one));
	(void)n;
	errno = e;
}

static void *stopper_main(void *arg)
{
	uint64_t n;
	sigset_t set;

	/* the signals belong to the loop's threads, whose reads they interrupt */
	sigemptyset(&set);
	for (size_t i = 0; i < NSTOP; i++)
		sigaddset(&set, stop_signals[i]);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	while (read(stop.efd, &n, sizeof(n)) < 0 && errno == EINTR)
		;
	ctx_shutdown(arg);
	return NULL;
}

int bridge_loop(struct cused_ctx *ctx, struct fuse_session *se)
{
	struct sigaction sa = { .sa_handler = on_stop_signal }, old[NSTOP];
	struct fuse_loop_config *cfg;
	pthread_t stopper;
	uint64_t one = 1;
	int r;

	stop.se = se;
	stop.efd = eventfd(0, EFD_CLOEXEC);
	if (stop.efd < 0)
		return refuse(-errno, "eventfd: %s", strerror(errno));
	r = -pthread_create(&stopper, NULL, stopper_main, ctx);
	if (r) {
		close(stop.efd);
		return refuse(r, "cannot start the shutdown thread");
	}
	/* no SA_RESTART: a worker's read of /dev/fuse must end to see the exit */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &sa, &old[i]);

	cfg = fuse_loop_cfg_create();
	/* handlers block (KVM_RUN without the doorbell, vCPU release joins a thread) */
	fuse_loop_cfg_set_clone_fd(cfg, 0);
	fuse_loop_cfg_set_max_threads(cfg, CUSED_MAX_WORKERS);
	/* > 0 is the number of the signal that ended it: a clean stop */
	r = fuse_session_loop_mt(se, cfg) < 0 ? -EIO : 0;
	fuse_loop_cfg_destroy(cfg);

	/* whatever ended the loop, stop the vCPUs before the backend goes */
	if (write(stop.efd, &one, sizeof(one)) < 0)
		log_warn("cannot wake the shutdown thread: %s", strerror(errno));
	pthread_join(stopper, NULL);
	/* libfuse removes only its own handlers */
	for (size_t i = 0; i < NSTOP; i++)
		sigaction(stop_signals[i], &old[i], NULL);
	close(stop.efd);
	return r;
}
