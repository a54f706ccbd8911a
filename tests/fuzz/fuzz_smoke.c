/* SPDX-License-Identifier: MIT */
/*
 * fuzz_smoke DEVICE SEED OPS: a hostile client of a running cused.  Opens
 * DEVICE and makes OPS random calls on system, VM and vCPU fds: ioctls with
 * KVM and random numbers, arguments that are valid pointers to random bytes,
 * pointers into the middle or end of a buffer, bogus and kernel pointers;
 * the shim protocol (CUSED_IOC_CREATE / BIND / SET_MEMORY / KICK) with real
 * and random tokens, fds and regions; closes, re-opens and forked children
 * using inherited fds.  Everything follows from SEED (printed), so a run
 * that upsets the daemon can be repeated.  Exits 0 whatever the daemon
 * answers: judging the daemon is the caller's job (tests/fuzz/fuzz-smoke.sh).
 * A watchdog kicks the vCPU of an ioctl that takes over half a second (a
 * guest made of random bytes may loop in KVM_RUN, and the vCPU's other
 * ioctls wait for it), as a signal would under the shim.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "cused/shim_abi.h"

#define MAX_FDS 24
#define BUF_SIZE (64u << 10)
#define GUEST_SIZE (1u << 20)

enum kind { K_SYS, K_VM, K_VCPU };

struct client {
	const char *dev;
	uint64_t rng;
	int fd[MAX_FDS];
	enum kind kind[MAX_FDS];
	unsigned nfd;
	uint64_t tokens[8];
	unsigned ntok;
	uint8_t *buf;          /* valid, random bytes */
	uint8_t *guard;        /* PROT_NONE page right after buf */
	int guest_fd, run_fd;  /* memfds for SET_MEMORY and BIND */
	_Atomic int running_fd;      /* fd of the ioctl in progress, or -1 */
	_Atomic uint64_t run_start;  /* ns */
	unsigned vms, vcpus, runs;   /* bound VMs and vCPUs, KVM_RUNs that returned 0 */
};

static const unsigned kvm_cmds[] = {
	KVM_GET_API_VERSION, KVM_CREATE_VM, KVM_GET_MSR_INDEX_LIST, KVM_CHECK_EXTENSION,
	KVM_GET_VCPU_MMAP_SIZE, KVM_GET_SUPPORTED_CPUID, KVM_GET_MSR_FEATURE_INDEX_LIST,
	KVM_GET_MSRS, KVM_SET_MSRS, KVM_CREATE_VCPU, KVM_GET_DIRTY_LOG, KVM_CLEAR_DIRTY_LOG,
	KVM_SET_USER_MEMORY_REGION, KVM_SET_TSS_ADDR, KVM_SET_IDENTITY_MAP_ADDR,
	KVM_CREATE_IRQCHIP, KVM_IRQ_LINE, KVM_IRQ_LINE_STATUS, KVM_GET_IRQCHIP, KVM_SET_IRQCHIP,
	KVM_CREATE_PIT2, KVM_GET_PIT2, KVM_SET_PIT2, KVM_SET_GSI_ROUTING, KVM_IRQFD,
	KVM_IOEVENTFD, KVM_ENABLE_CAP, KVM_SET_CLOCK, KVM_GET_CLOCK, KVM_SIGNAL_MSI,
	KVM_RUN, KVM_GET_REGS, KVM_SET_REGS, KVM_GET_SREGS, KVM_SET_SREGS, KVM_TRANSLATE,
	KVM_INTERRUPT, KVM_NMI, KVM_SET_CPUID2, KVM_GET_CPUID2, KVM_GET_FPU, KVM_SET_FPU,
	KVM_GET_LAPIC, KVM_SET_LAPIC, KVM_GET_MP_STATE, KVM_SET_MP_STATE, KVM_SET_GUEST_DEBUG,
	KVM_GET_VCPU_EVENTS, KVM_SET_VCPU_EVENTS, KVM_GET_DEBUGREGS, KVM_SET_DEBUGREGS,
	KVM_GET_XSAVE, KVM_SET_XSAVE, KVM_GET_XCRS, KVM_SET_XCRS, KVM_SET_TSC_KHZ,
	KVM_GET_TSC_KHZ, KVM_SMI, KVM_GET_NESTED_STATE, KVM_SET_NESTED_STATE,
	CUSED_IOC_CREATE, CUSED_IOC_BIND, CUSED_IOC_SET_MEMORY, CUSED_IOC_KICK,
	CUSED_IOC_VERSION,
};
#define NR_CMDS (sizeof(kvm_cmds) / sizeof(kvm_cmds[0]))

/* xorshift64*: the whole run follows from the seed */
static uint64_t rnd(struct client *c)
{
	c->rng ^= c->rng >> 12;
	c->rng ^= c->rng << 25;
	c->rng ^= c->rng >> 27;
	return c->rng * 0x2545f4914f6cdd1dull;
}

static unsigned below(struct client *c, unsigned n) { return (unsigned)(rnd(c) % n); }

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void fill(struct client *c, void *p, size_t len)
{
	uint8_t *b = p;

	for (size_t i = 0; i < len; i++)
		b[i] = (uint8_t)rnd(c);
}

/* a pointer argument: mostly valid, sometimes anything but */
static uint64_t pointer(struct client *c, size_t need)
{
	switch (below(c, 10)) {
	case 0: return 0;
	case 1: return rnd(c);                                   /* anything */
	case 2: return 0xffff888000000000ull + (rnd(c) & 0xfffff000); /* kernel */
	case 3: return (uintptr_t)c->guard - (need > 8 ? need / 2 : 4); /* runs into PROT_NONE */
	case 4: return (uintptr_t)c->buf + below(c, BUF_SIZE);    /* anywhere inside */
	default: return (uintptr_t)c->buf;                       /* valid, random content */
	}
}

/*
 * Every call is watched: any vCPU ioctl may wait behind a KVM_RUN (KVM's
 * vcpu mutex), and a runner thread may be running a guest the client never
 * meant to start (a doorbell shared between vCPUs).
 */
static int xioctl(struct client *c, int fd, unsigned cmd, uint64_t arg)
{
	int r;

	atomic_store(&c->run_start, now_ns());
	atomic_store(&c->running_fd, fd);
	r = ioctl(fd, cmd, (unsigned long)arg);
	atomic_store(&c->running_fd, -1);
	return r;
}

static int add_fd(struct client *c, int fd, enum kind k)
{
	if (fd < 0)
		return -1;
	if (c->nfd == MAX_FDS) {
		close(fd);
		return -1;
	}
	c->fd[c->nfd] = fd;
	c->kind[c->nfd++] = k;
	return fd;
}

static int pick(struct client *c, int want)
{
	if (!c->nfd)
		return -1;
	/* prefer the wanted kind half the time, so VMs and vCPUs get exercised */
	if (want >= 0 && below(c, 2))
		for (unsigned i = 0, s = below(c, c->nfd); i < c->nfd; i++)
			if ((int)c->kind[(s + i) % c->nfd] == want)
				return (int)((s + i) % c->nfd);
	return (int)below(c, c->nfd);
}

static int some_fd(struct client *c)
{
	switch (below(c, 6)) {
	case 0: return -1;
	case 1: return (int)rnd(c);
	case 2: return c->nfd ? c->fd[below(c, c->nfd)] : 0;   /* a device fd */
	case 3: return c->run_fd;
	default: return c->guest_fd;
	}
}

/* CREATE on fd i, then BIND a fresh open of the device, like libcused */
static void new_object(struct client *c, int i)
{
	struct cused_create cr = { .arg = below(c, 8) ? below(c, 4) : rnd(c) };
	struct cused_bind b = { .run_fd = some_fd(c) };
	int fd, own_run = -1;

	if (xioctl(c, c->fd[i], CUSED_IOC_CREATE, (uintptr_t)&cr))
		return;
	c->tokens[c->ntok++ % 8] = cr.token;
	fd = open(c->dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return;
	/* a run memfd of its own, as libcused gives each vCPU; sometimes not */
	if (below(c, 4)) {
		own_run = memfd_create("run", MFD_CLOEXEC);
		if (own_run >= 0 && ftruncate(own_run, CUSED_VCPU_MMAP_SIZE) == 0)
			b.run_fd = own_run;
	}
	b.token = below(c, 8) ? cr.token : rnd(c);
	b.kind = c->kind[i] == K_SYS ? CUSED_BIND_VM : CUSED_BIND_VCPU;
	if (!below(c, 8))
		b.kind = (uint32_t)rnd(c) % 4;
	/* a VM's run_fd is its coalesced ring; often none, as an old libcused */
	if (b.kind == CUSED_BIND_VM && below(c, 2))
		b.run_fd = -1;
	if (xioctl(c, fd, CUSED_IOC_BIND, (uintptr_t)&b)) {
		add_fd(c, fd, K_SYS);
		if (own_run >= 0)
			close(own_run);
		return;
	}
	/* the daemon maps it during BIND; the fd need not stay open */
	if (own_run >= 0)
		close(own_run);
	add_fd(c, fd, b.kind == CUSED_BIND_VM ? K_VM : K_VCPU);
	if (b.kind == CUSED_BIND_VM)
		c->vms++;
	else
		c->vcpus++;
}

/* RAM where a vCPU fresh from reset fetches (0xffff0), full of random code */
static void good_memory(struct client *c, int fd)
{
	struct cused_mem_region m = {
		.region = { .slot = 0, .memory_size = GUEST_SIZE },
		.fd = c->guest_fd,
	};
	uint8_t page[4096];

	for (int i = 0; i < 4; i++) {
		fill(c, page, sizeof(page));
		if (pwrite(c->guest_fd, page, sizeof(page), i ? below(c, GUEST_SIZE / 4096) * 4096ull :
			   GUEST_SIZE - 4096) < 0)
			break;
	}
	xioctl(c, fd, CUSED_IOC_SET_MEMORY, (uintptr_t)&m);
}

static void set_memory(struct client *c, int fd)
{
	struct cused_mem_region m = {
		.region = {
			.slot = below(c, 4) ? below(c, 8) : (uint32_t)rnd(c),
			.flags = below(c, 4) ? below(c, 4) : (uint32_t)rnd(c),
			.guest_phys_addr = below(c, 4) ? (uint64_t)below(c, 64) << 12 : rnd(c),
			.memory_size = below(c, 4) ? (uint64_t)below(c, 257) << 12 : rnd(c),
			.userspace_addr = below(c, 4) ? (uint64_t)below(c, 64) << 12 : rnd(c),
		},
		.fd = some_fd(c),
		.fd_offset = below(c, 4) ? (uint64_t)below(c, 64) << 12 : rnd(c),
	};

	xioctl(c, fd, below(c, 4) ? CUSED_IOC_SET_MEMORY : KVM_SET_USER_MEMORY_REGION, (uintptr_t)&m);
}

static unsigned random_cmd(struct client *c)
{
	switch (below(c, 8)) {
	case 0: return (unsigned)rnd(c);
	case 1: /* a KVM-looking number the daemon does not know */
		return _IOC(below(c, 4), KVMIO, below(c, 256), below(c, 1024));
	case 2: /* a shim-looking one */
		return _IOC(below(c, 4), CUSED_SHIM_IOC, below(c, 16), below(c, 64));
	default:
		return kvm_cmds[below(c, NR_CMDS)];
	}
}

static void random_ioctl(struct client *c, int fd, unsigned cmd, bool in_child)
{
	/* a forked child has no watchdog thread to kick a guest that loops */
	if (in_child && cmd == KVM_RUN)
		return;
	uint64_t arg = _IOC_DIR(cmd) || below(c, 2) ? pointer(c, _IOC_SIZE(cmd)) : rnd(c) % 8;

	/* headers with small counts reach the handlers' tails more often */
	if ((uintptr_t)arg == (uintptr_t)c->buf && below(c, 2)) {
		fill(c, c->buf, 64);
		((uint32_t *)c->buf)[0] = below(c, 64);
	}
	if (xioctl(c, fd, cmd, arg) == 0 && cmd == KVM_RUN)
		c->runs++;
	if (cmd == CUSED_IOC_CREATE && (uintptr_t)arg == (uintptr_t)c->buf)
		c->tokens[c->ntok++ % 8] = ((struct cused_create *)c->buf)->token;
}

static void shim_call(struct client *c, int fd)
{
	struct cused_bind b = { .token = c->ntok && below(c, 2) ? c->tokens[below(c, 8) % (c->ntok < 8 ? c->ntok : 8)] : rnd(c),
				.run_fd = some_fd(c), .kind = below(c, 4) };
	struct cused_create cr = { .arg = below(c, 2) ? below(c, 8) : rnd(c) };

	switch (below(c, 4)) {
	case 0:
		xioctl(c, fd, CUSED_IOC_BIND, (uintptr_t)&b);
		break;
	case 1:
		xioctl(c, fd, CUSED_IOC_CREATE, (uintptr_t)&cr);
		break;
	case 2:
		xioctl(c, fd, CUSED_IOC_KICK, below(c, 2) ? 0 : rnd(c));
		break;
	default:
		set_memory(c, fd);
		break;
	}
}

static void *watchdog(void *arg)
{
	struct client *c = arg;

	for (;;) {
		int fd = atomic_load(&c->running_fd);

		if (fd >= 0 && now_ns() - atomic_load(&c->run_start) > 500000000ull)
			ioctl(fd, CUSED_IOC_KICK, 0);
		usleep(100000);
	}
	return NULL;
}

static void one_op(struct client *c, bool child);

static void child(struct client *c)
{
	pid_t p = fork();

	if (p == 0) {
		/* inherited fds from another pid: the daemon maps by caller pid */
		c->rng ^= 0x9e3779b97f4a7c15ull;
		/* no watchdog thread here: a call stuck behind a guest ends the child */
		alarm(5);
		for (int i = 0; i < 20; i++)
			one_op(c, true);
		_exit(0);
	}
	if (p > 0)
		waitpid(p, NULL, 0);
}

static void one_op(struct client *c, bool in_child)
{
	int i;

	switch (below(c, 16)) {
	case 0:
		add_fd(c, open(c->dev, O_RDWR | O_CLOEXEC), K_SYS);
		return;
	case 1:
		if (c->nfd) {
			i = (int)below(c, c->nfd);
			close(c->fd[i]);
			c->fd[i] = c->fd[--c->nfd];
			c->kind[i] = c->kind[c->nfd];
		}
		return;
	case 2: case 3:
		if ((i = pick(c, below(c, 2) ? K_SYS : K_VM)) >= 0)
			new_object(c, i);
		return;
	case 4: case 5:
		if ((i = pick(c, -1)) >= 0)
			shim_call(c, c->fd[i]);
		return;
	case 6:
		if ((i = pick(c, K_VM)) >= 0) {
			if (below(c, 2))
				good_memory(c, c->fd[i]);
			else
				set_memory(c, c->fd[i]);
		}
		return;
	case 7:
		if (!in_child && !below(c, 8))
			child(c);
		return;
	case 8:
		fill(c, c->buf, BUF_SIZE);
		return;
	default:
		if ((i = pick(c, below(c, 2) ? K_VCPU : K_VM)) >= 0)
			random_ioctl(c, c->fd[i], random_cmd(c), in_child);
		return;
	}
}

/* fixed cases first, whatever the seed: ones that once upset the daemon */
static void edge_cases(struct client *c)
{
	static const unsigned dirs[] = { _IOC_NONE, _IOC_READ, _IOC_WRITE, _IOC_READ | _IOC_WRITE };
	int fd = open(c->dev, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	/* zero-size _IOWR arrives with no input buffer (bridge.c memcpy from NULL) */
	for (unsigned d = 0; d < 4; d++) {
		xioctl(c, fd, _IOC(dirs[d], KVMIO, 0xf0, 0), 0);
		xioctl(c, fd, _IOC(dirs[d], KVMIO, 0xf0, 0), (uintptr_t)c->buf);
		xioctl(c, fd, _IOC(dirs[d], CUSED_SHIM_IOC, 0x01, 0), (uintptr_t)c->buf);
	}
	close(fd);
}

int main(int argc, char **argv)
{
	struct client c = { .running_fd = -1 };
	unsigned long long seed;
	long ops;
	pthread_t wd;
	uint8_t *area;

	if (argc != 4) {
		fprintf(stderr, "usage: %s DEVICE SEED OPS\n", argv[0]);
		return 2;
	}
	c.dev = argv[1];
	seed = strtoull(argv[2], NULL, 0);
	ops = strtol(argv[3], NULL, 0);
	printf("fuzz_smoke: seed %llu, %ld ops on %s\n", seed, ops, c.dev);
	fflush(stdout);
	c.rng = seed * 0x9e3779b97f4a7c15ull + 1;
	area = mmap(NULL, BUF_SIZE + 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (area == MAP_FAILED)
		return 2;
	c.buf = area;
	c.guard = area + BUF_SIZE;
	mprotect(c.guard, 4096, PROT_NONE);
	fill(&c, c.buf, BUF_SIZE);
	c.guest_fd = memfd_create("guest", MFD_CLOEXEC);
	c.run_fd = memfd_create("run", MFD_CLOEXEC);
	if (c.guest_fd < 0 || c.run_fd < 0 || ftruncate(c.guest_fd, GUEST_SIZE) ||
	    ftruncate(c.run_fd, CUSED_VCPU_MMAP_SIZE)) {
		perror("memfd");
		return 2;
	}
	pthread_create(&wd, NULL, watchdog, &c);
	edge_cases(&c);
	for (long n = 0; n < ops; n++)
		one_op(&c, false);
	/* the rest is closed by exit, as when a client dies */
	printf("fuzz_smoke: done: bound %u VMs and %u vCPUs, %u KVM_RUNs returned 0, "
	       "%u fds left open at exit\n", c.vms, c.vcpus, c.runs, c.nfd);
	return 0;
}
