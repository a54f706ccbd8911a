/* SPDX-License-Identifier: MIT */
/*
 * Hostile client for the limits tests: speaks the shim protocol
 * (include/cused/shim_abi.h) directly, no libcused.
 *
 *   attack open DEV             open the device; prints "open ok" or "open errno NAME"
 *   attack bindrace DEV N       N rounds: two VMs created, two threads BIND them
 *                               on one fresh handle at once; prints the outcomes
 *   attack vmcap DEV [hold]     create (and bind) VMs until refused; prints
 *                               "vms N errno NAME"; hold: then wait for SIGTERM
 *   attack vcpucap DEV          one VM, then vCPUs until refused: "vcpus N errno NAME"
 *   attack token DEV            create a VM, print "token HEX", wait for SIGTERM
 *   attack bind DEV HEX         bind a fresh handle to that token: "bind ok|errno NAME"
 *   attack badioctl DEV N       N refused ioctls on a system handle
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include "cused/shim_abi.h"

static const char *dev;

static const char *ename(int e)
{
	switch (e) {
	case 0: return "0";
	case EACCES: return "EACCES";
	case EPERM: return "EPERM";
	case ENOMEM: return "ENOMEM";
	case EMFILE: return "EMFILE";
	case EBUSY: return "EBUSY";
	case EINVAL: return "EINVAL";
	case ENOENT: return "ENOENT";
	case EEXIST: return "EEXIST";
	default: return strerror(e);
	}
}

static int dev_open(void)
{
	return open(dev, O_RDWR | O_CLOEXEC);
}

/* CUSED_IOC_CREATE on fd: 0 and *token, or -errno */
static int create(int fd, uint64_t arg, uint64_t *token)
{
	struct cused_create c = { .arg = arg };

	if (ioctl(fd, CUSED_IOC_CREATE, &c) < 0)
		return -errno;
	*token = c.token;
	return 0;
}

static int bind_fd(int fd, uint64_t token, unsigned kind)
{
	struct cused_bind b = { .token = token, .run_fd = -1, .kind = kind };

	return ioctl(fd, CUSED_IOC_BIND, &b) < 0 ? -errno : 0;
}

static void wait_term(void)
{
	sigset_t s;
	int sig;

	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	sigprocmask(SIG_BLOCK, &s, NULL);
	printf("holding pid %d\n", getpid());
	fflush(stdout);
	sigwait(&s, &sig);
}

/* ---- bindrace */
struct racer {
	int fd;
	uint64_t token;
	pthread_barrier_t *go;
	int result;
};

static void *race(void *p)
{
	struct racer *r = p;

	pthread_barrier_wait(r->go);
	r->result = bind_fd(r->fd, r->token, CUSED_BIND_VM);
	return NULL;
}

static int bindrace(int rounds)
{
	unsigned both = 0, one = 0, none = 0, refused = 0;

	for (int i = 0; i < rounds; i++) {
		pthread_barrier_t go;
		struct racer r[2];
		pthread_t t[2];
		uint64_t tok[2] = { 0, 0 };
		int sys, h, e;

		sys = dev_open();
		h = dev_open();
		if (sys < 0 || h < 0) {
			printf("open errno %s\n", ename(errno));
			return 1;
		}
		/* the previous round's objects die asynchronously (FUSE release) */
		while ((e = create(sys, 0, &tok[0])) == -ENOMEM)
			usleep(1000);
		if (!e)
			while ((e = create(sys, 0, &tok[1])) == -ENOMEM)
				usleep(1000);
		if (e) {
			printf("create errno %s\n", ename(-e));
			return 1;
		}
		pthread_barrier_init(&go, NULL, 2);
		for (int k = 0; k < 2; k++) {
			r[k] = (struct racer){ .fd = h, .token = tok[k], .go = &go };
			pthread_create(&t[k], NULL, race, &r[k]);
		}
		for (int k = 0; k < 2; k++)
			pthread_join(t[k], NULL);
		pthread_barrier_destroy(&go);
		if (!r[0].result && !r[1].result)
			both++;
		else if (!r[0].result || !r[1].result)
			one++;
		else
			none++;
		for (int k = 0; k < 2; k++)
			if (r[k].result && r[k].result != -EBUSY)
				refused++;
		close(h);
		close(sys);
	}
	printf("bindrace rounds %d both %u one %u none %u other-errors %u\n", rounds, both, one,
	       none, refused);
	return 0;
}

/* ---- caps */
static int vmcap(bool hold)
{
	int sys = dev_open(), n = 0, e;

	if (sys < 0) {
		printf("open errno %s\n", ename(errno));
		return 1;
	}
	for (;;) {
		uint64_t tok;
		int h;

		e = create(sys, 0, &tok);
		if (e)
			break;
		h = dev_open();
		if (h < 0 || (e = bind_fd(h, tok, CUSED_BIND_VM)))
			break;
		if (++n > 4096)
			break;
	}
	printf("vms %d errno %s\n", n, ename(-e));
	fflush(stdout);
	if (hold)
		wait_term();
	return 0;
}

static int vcpucap(void)
{
	int sys = dev_open(), vm = dev_open(), n = 0, e;
	uint64_t tok;

	if (sys < 0 || vm < 0 || create(sys, 0, &tok) || bind_fd(vm, tok, CUSED_BIND_VM)) {
		printf("vm setup failed: %s\n", strerror(errno));
		return 1;
	}
	while (!(e = create(vm, n, &tok)))
		if (++n > 4096)
			break;
	printf("vcpus %d errno %s\n", n, ename(-e));
	return 0;
}

/*
 * Eventfds the daemon holds for this uid: ioeventfds on fresh VMs until one
 * is refused other than by the per-VM cap (ENOSPC): the per-uid budget
 * (ENOMEM).  Prints the count and that errno.
 */
static int evfdcap(bool hold)
{
	int sys = dev_open(), efd = eventfd(0, EFD_CLOEXEC), n = 0, e = 0;

	if (sys < 0 || efd < 0) {
		printf("setup errno %s\n", ename(errno));
		return 1;
	}
	for (int vms = 0; vms < 8 && e != -ENOMEM; vms++) {
		int vm = dev_open();
		uint64_t tok = 0;

		if (vm < 0 || (e = create(sys, 0, &tok)) || (e = bind_fd(vm, tok, CUSED_BIND_VM)))
			break;
		for (uint64_t a = 0x10000000;; a += 8) {
			struct kvm_ioeventfd io = { .addr = a, .len = 4, .fd = efd };

			if (ioctl(vm, KVM_IOEVENTFD, &io) < 0) {
				e = -errno;
				break;
			}
			n++;
		}
		if (e != -ENOSPC)
			break;
	}
	printf("ioeventfds %d errno %s\n", n, ename(-e));
	fflush(stdout);
	if (hold)
		wait_term();
	return 0;
}

static int token(void)
{
	int sys = dev_open();
	uint64_t tok;
	int e;

	if (sys < 0) {
		printf("open errno %s\n", ename(errno));
		return 1;
	}
	e = create(sys, 0, &tok);
	if (e) {
		printf("create errno %s\n", ename(-e));
		return 1;
	}
	printf("token %llx\n", (unsigned long long)tok);
	fflush(stdout);
	wait_term();
	return 0;
}

static int bind_token(const char *hex)
{
	int h = dev_open(), e;

	if (h < 0) {
		printf("open errno %s\n", ename(errno));
		return 1;
	}
	e = bind_fd(h, strtoull(hex, NULL, 16), CUSED_BIND_VM);
	printf("bind %s\n", e ? "errno" : "ok");
	if (e)
		printf("bind errno %s\n", ename(-e));
	return 0;
}

static int badioctl(long n)
{
	int sys = dev_open();
	long refused = 0;

	if (sys < 0) {
		printf("open errno %s\n", ename(errno));
		return 1;
	}
	for (long i = 0; i < n; i++)
		if (ioctl(sys, _IO(KVMIO, 0x7e), 0) < 0)
			refused++;
	printf("badioctl refused %ld of %ld\n", refused, n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: attack CMD DEV [ARG]\n");
		return 2;
	}
	dev = argv[2];
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "open")) {
		int fd = dev_open();

		if (fd < 0)
			printf("open errno %s\n", ename(errno));
		else
			printf("open ok\n");
		return 0;
	}
	if (!strcmp(argv[1], "bindrace"))
		return bindrace(argc > 3 ? atoi(argv[3]) : 1000);
	if (!strcmp(argv[1], "vmcap"))
		return vmcap(argc > 3 && !strcmp(argv[3], "hold"));
	if (!strcmp(argv[1], "evfdcap"))
		return evfdcap(argc > 3 && !strcmp(argv[3], "hold"));
	if (!strcmp(argv[1], "vcpucap"))
		return vcpucap();
	if (!strcmp(argv[1], "token"))
		return token();
	if (!strcmp(argv[1], "bind") && argc > 3)
		return bind_token(argv[3]);
	if (!strcmp(argv[1], "badioctl"))
		return badioctl(argc > 3 ? atol(argv[3]) : 100000);
	fprintf(stderr, "attack: unknown command %s\n", argv[1]);
	return 2;
}
