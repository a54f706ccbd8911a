/* SPDX-License-Identifier: MIT */
/*
 * wedge_client — KVM clients that used to wedge cused (issue 6, items 4, 7, 8).
 * A plain KVM client: only ordinary ioctls (plus one raw-syscall KVM_RUN
 * that bypasses libcused on purpose).
 *
 *   wedge_client [--dev PATH] [--guest-dir DIR] getregs N
 *       hold guest in KVM_RUN on one thread; N threads each call KVM_GET_REGS
 *       at once.  All must return within 10 s and KVM_RUN must not come back.
 *   wedge_client [...] sighandler N
 *       hold guest in KVM_RUN; N times SIGUSR1 to the vCPU thread, whose
 *       handler calls KVM_GET_REGS (kvmtool's `lkvm debug`).  Every handler
 *       must finish within 10 s.  sighandler N US: N signals US microseconds
 *       apart, without waiting for the handlers, to a thread busy in ioctls
 *       on other fds (they land anywhere in the shim's wrappers).
 *   wedge_client [...] wedge N [RAW]
 *       hold guest in KVM_RUN; RAW (default 1) threads in a raw-syscall
 *       KVM_RUN on the same vCPU (FUSE requests that wait for the vCPU), N
 *       threads calling KVM_GET_REGS in a loop.  Prints "wedge: ready pid P"
 *       and runs until killed.
 *   wedge_client [...] run2 ITERS
 *       spin guest; two threads call KVM_RUN on one vCPU ITERS times each.
 *   wedge_client [...] churn THREADS ROUNDS
 *       THREADS threads each create a vCPU, run it to a few OUT exits and
 *       close it, ROUNDS times, all at once.
 *
 * Every mode arms alarm(): a wait that never ends fails instead of hanging.
 * Exit 0 ok, 1 failure, 77 no device.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "layout.h"

#ifndef GUEST_DIR
#define GUEST_DIR "."
#endif

static const char *dev_path = "/dev/kvm";
static const char *guest_dir = GUEST_DIR;
static int sys_fd, vm_fd, run_size;
static uint8_t *mem;
static struct kvm_cpuid2 *cpuid;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "wedge_client: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	_exit(1);
}

static void on_alarm(int sig)
{
	static const char msg[] = "wedge_client: FAIL: timed out (a request never returned)\n";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(1);
	_exit(1);
}

static void ioc(int fd, unsigned long req, void *arg, const char *name)
{
	if (ioctl(fd, req, arg) < 0)
		die("%s: %s", name, strerror(errno));
}

static void vm_setup(const char *image)
{
	struct kvm_userspace_memory_region mr;
	char path[4096];
	int fd;

	sys_fd = open(dev_path, O_RDWR | O_CLOEXEC);
	if (sys_fd < 0) {
		printf("SKIP: cannot open %s: %s\n", dev_path, strerror(errno));
		exit(77);
	}
	run_size = ioctl(sys_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm_fd = ioctl(sys_fd, KVM_CREATE_VM, 0);
	if (run_size <= 0 || vm_fd < 0)
		die("KVM_CREATE_VM: %s", strerror(errno));
	mem = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .memory_size = GUEST_RAM_SIZE, .userspace_addr = (uintptr_t)mem,
	};
	ioc(vm_fd, KVM_SET_USER_MEMORY_REGION, &mr, "KVM_SET_USER_MEMORY_REGION");
	cpuid = calloc(1, sizeof(*cpuid) + 256 * sizeof(cpuid->entries[0]));
	cpuid->nent = 256;
	ioc(sys_fd, KVM_GET_SUPPORTED_CPUID, cpuid, "KVM_GET_SUPPORTED_CPUID");
	snprintf(path, sizeof(path), "%s/%s.bin", guest_dir, image);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || read(fd, mem + GUEST_LOAD, GUEST_RAM_SIZE - GUEST_LOAD) <= 0)
		die("guest image %s: %s", path, strerror(errno));
	close(fd);
}

struct vcpu {
	int fd;
	struct kvm_run *run;
};

/* real mode at GUEST_LOAD; 0, or -errno with *step naming what failed */
static int vcpu_setup(struct vcpu *v, int id, const char **step)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_LOAD, .rflags = 2, .rsi = (unsigned)id };

	*step = "KVM_CREATE_VCPU";
	v->fd = ioctl(vm_fd, KVM_CREATE_VCPU, id);
	if (v->fd < 0)
		return -errno;
	*step = "mmap of kvm_run";
	v->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		return -errno;
	*step = "KVM_SET_CPUID2 / KVM_GET_SREGS";
	if (ioctl(v->fd, KVM_SET_CPUID2, cpuid) < 0 || ioctl(v->fd, KVM_GET_SREGS, &sregs) < 0)
		return -errno;
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	*step = "KVM_SET_SREGS / KVM_SET_REGS";
	if (ioctl(v->fd, KVM_SET_SREGS, &sregs) < 0 || ioctl(v->fd, KVM_SET_REGS, &regs) < 0)
		return -errno;
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ------------------------------------------------ the held vCPU (hold guest) */

static struct vcpu held;
static bool hold_halted;         /* irqchip VM whose guest halts (cli; hlt) in the daemon */
static pthread_t held_thread;
static atomic_bool in_guest;
static atomic_int run_returns;   /* KVM_RUN returns after the first exit, EINTR excluded */
static atomic_int run_eintr;

static void *hold_main(void *arg)
{
	(void)arg;
	for (;;) {
		if (ioctl(held.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN) {
				atomic_fetch_add(&run_eintr, 1);
				continue;
			}
			die("hold: KVM_RUN: %s", strerror(errno));
		}
		if (held.run->exit_reason == KVM_EXIT_IO && held.run->io.port == PORT_HOLD &&
		    !atomic_load(&in_guest)) {
			atomic_store(&in_guest, true);
			continue;
		}
		atomic_fetch_add(&run_returns, 1);
	}
	return NULL;
}

static void hold_start(void)
{
	const char *step;
	double end;
	int r;

	vm_setup("hold");
	if (hold_halted) {
		/* hold.S is cli; mov $imm16,%ax; out %al,$imm8; jmp .: make its loop hlt; jmp -3 */
		static const uint8_t halt_loop[] = { 0xf4, 0xeb, 0xfd };

		ioc(vm_fd, KVM_CREATE_IRQCHIP, NULL, "KVM_CREATE_IRQCHIP");
		if (mem[GUEST_LOAD + 6] != 0xeb)
			die("hold guest layout changed: no jmp at offset 6");
		memcpy(mem + GUEST_LOAD + 6, halt_loop, sizeof(halt_loop));
	}
	r = vcpu_setup(&held, 0, &step);
	if (r)
		die("vCPU set-up: %s: %s", step, strerror(-r));
	if (pthread_create(&held_thread, NULL, hold_main, NULL))
		die("pthread_create");
	for (end = now() + 10; !atomic_load(&in_guest); usleep(1000))
		if (now() > end)
			die("the hold guest never made its first exit");
	usleep(100000);   /* into the spin loop, no exits from here on */
}

static int get_regs(int fd, uint64_t *rip)
{
	struct kvm_regs regs;

	if (ioctl(fd, KVM_GET_REGS, &regs) < 0)
		return -errno;
	*rip = regs.rip;
	return 0;
}

/* ------------------------------------------------------------------ getregs */

static atomic_int regs_done;

static void *getregs_main(void *arg)
{
	uint64_t rip;
	int r = get_regs(held.fd, &rip);

	(void)arg;
	if (r)
		die("KVM_GET_REGS from another thread: %s", strerror(-r));
	if (rip < GUEST_LOAD || rip > GUEST_LOAD + 0x100)
		die("KVM_GET_REGS: rip %#llx is not in the hold guest", (unsigned long long)rip);
	atomic_fetch_add(&regs_done, 1);
	return NULL;
}

static int cmd_getregs(int n)
{
	pthread_t *t = calloc(n, sizeof(*t));
	double t0;

	hold_start();
	alarm(30);
	t0 = now();
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, getregs_main, NULL))
			die("pthread_create %d", i);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (now() - t0 > 10)
		die("%d KVM_GET_REGS took %.1f s", n, now() - t0);
	/* the guest must still be in the same KVM_RUN: no exit, no EINTR */
	if (atomic_load(&run_returns) || atomic_load(&run_eintr))
		die("KVM_RUN came back during the KVM_GET_REGS (%d exits, %d EINTR)",
		    atomic_load(&run_returns), atomic_load(&run_eintr));
	if (hold_halted) {
		struct kvm_mp_state mp;

		ioc(held.fd, KVM_GET_MP_STATE, &mp, "KVM_GET_MP_STATE");
		if (mp.mp_state != KVM_MP_STATE_HALTED)
			die("the vCPU is not halted (mp_state %u): nothing was tested", mp.mp_state);
	}
	printf("getregs: %d concurrent KVM_GET_REGS in %.3f s, KVM_RUN undisturbed\n",
	       atomic_load(&regs_done), now() - t0);
	free(t);
	return 0;
}

/* --------------------------------------------------------------- sighandler */

static atomic_int handler_done, handler_err;

static void on_usr1(int sig)
{
	uint64_t rip;
	int e = errno;

	(void)sig;
	if (get_regs(held.fd, &rip))
		atomic_fetch_add(&handler_err, 1);
	atomic_fetch_add(&handler_done, 1);
	errno = e;
}

/* a thread busy in ioctls on other fds (kvmtool's: tap, eventfd...) */
static void *busy_ioctl_main(void *arg)
{
	(void)arg;
	for (;;)
		ioctl(-1, FIONREAD, NULL);
	return NULL;
}

static int cmd_sighandler(int n, int storm_us)
{
	struct sigaction sa = { .sa_handler = on_usr1 };
	pthread_t target;
	double end;

	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	hold_start();
	target = held_thread;
	if (storm_us && pthread_create(&target, NULL, busy_ioctl_main, NULL))
		die("pthread_create");
	alarm(30);
	for (int i = 0; i < n; i++) {
		pthread_kill(target, SIGUSR1);
		/* a storm lands signals anywhere in the shim, not only in the wait */
		if (storm_us) {
			usleep(storm_us);
			continue;
		}
		for (end = now() + 10; atomic_load(&handler_done) <= i; usleep(1000))
			if (now() > end)
				die("signal %d: the handler's KVM_GET_REGS did not return in 10 s", i);
	}
	/* signals sent in a storm may merge; every one delivered must finish */
	for (end = now() + 10; storm_us && !atomic_load(&handler_done); usleep(1000))
		if (now() > end)
			die("no signal handler finished in 10 s");
	usleep(storm_us ? 200000 : 0);
	if (storm_us) {
		int before = atomic_load(&handler_done);

		pthread_kill(target, SIGUSR1);
		for (end = now() + 10; atomic_load(&handler_done) == before; usleep(1000))
			if (now() > end)
				die("after the storm the signalled thread is stuck (%d handlers ran)", before);
		n = atomic_load(&handler_done);
	}
	if (atomic_load(&handler_err))
		die("%d of the handlers' KVM_GET_REGS failed", atomic_load(&handler_err));
	if (atomic_load(&run_returns))
		die("KVM_RUN returned %d exits besides EINTR", atomic_load(&run_returns));
	printf("sighandler: %d KVM_GET_REGS from the %s thread's signal handler\n", n,
	       storm_us ? "ioctl-busy" : "vCPU");
	return 0;
}

/* -------------------------------------------------------------------- wedge */

static void *raw_run_main(void *arg)
{
	(void)arg;
	/* bypasses libcused: a FUSE KVM_RUN that has to wait for the vCPU */
	for (;;)
		syscall(SYS_ioctl, held.fd, KVM_RUN, 0);
	return NULL;
}

static void *regs_loop_main(void *arg)
{
	uint64_t rip;

	(void)arg;
	for (;;)
		get_regs(held.fd, &rip);
	return NULL;
}

static int cmd_wedge(int n, int raw)
{
	pthread_t t;

	hold_start();
	for (int i = 0; i < raw; i++)
		if (pthread_create(&t, NULL, raw_run_main, NULL))
			die("pthread_create");
	for (int i = 0; i < n; i++)
		if (pthread_create(&t, NULL, regs_loop_main, NULL))
			die("pthread_create");
	usleep(200000);
	printf("wedge: ready pid %d\n", (int)getpid());
	fflush(stdout);
	for (;;)
		pause();
}

/* --------------------------------------------------------------------- run2 */

static struct vcpu spinner;
static int run2_iters;

static void *run2_main(void *arg)
{
	(void)arg;
	for (int i = 0; i < run2_iters; i++) {
		if (ioctl(spinner.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR)
				continue;
			die("KVM_RUN: %s", strerror(errno));
		}
		/* the other thread may be in KVM_RUN again already; the reason is stable */
		if (spinner.run->exit_reason != KVM_EXIT_IO)
			die("KVM_RUN: exit %u, want KVM_EXIT_IO", spinner.run->exit_reason);
	}
	return NULL;
}

static int cmd_run2(int iters)
{
	const char *step;
	pthread_t a, b;
	int r;

	vm_setup("spin");
	r = vcpu_setup(&spinner, 0, &step);
	if (r)
		die("vCPU set-up: %s: %s", step, strerror(-r));
	run2_iters = iters;
	alarm(60);
	pthread_create(&a, NULL, run2_main, NULL);
	pthread_create(&b, NULL, run2_main, NULL);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	printf("run2: 2 x %d KVM_RUN on one vCPU\n", iters);
	return 0;
}

/* -------------------------------------------------------------------- churn */

static int churn_threads, churn_rounds;
static atomic_int churn_runs;

static void *churn_main(void *arg)
{
	int t = (int)(intptr_t)arg;

	for (int round = 0; round < churn_rounds; round++) {
		const char *step;
		struct vcpu v;
		/* fresh ids: KVM (and the hostkvm backend's host) keeps a closed
		 * vCPU's id until the VM goes; THREADS x ROUNDS < 1024 */
		int id = 1 + round * churn_threads + t, r;

		r = vcpu_setup(&v, id, &step);
		if (r)
			die("round %d thread %d: vCPU %d set-up: %s: %s", round, t, id, step,
			    strerror(-r));
		for (int i = 0; i < 4; i++) {
			if (ioctl(v.fd, KVM_RUN, 0) < 0)
				die("round %d thread %d: KVM_RUN: %s", round, t, strerror(errno));
			if (v.run->exit_reason != KVM_EXIT_IO || v.run->io.port != PORT_SPIN)
				die("round %d thread %d: exit %u", round, t, v.run->exit_reason);
			atomic_fetch_add(&churn_runs, 1);
		}
		munmap(v.run, run_size);
		close(v.fd);
	}
	return NULL;
}

static int cmd_churn(int threads, int rounds)
{
	pthread_t *t = calloc(threads, sizeof(*t));

	vm_setup("spin");
	churn_threads = threads;
	churn_rounds = rounds;
	alarm(60);
	for (int i = 0; i < threads; i++)
		pthread_create(&t[i], NULL, churn_main, (void *)(intptr_t)i);
	for (int i = 0; i < threads; i++)
		pthread_join(t[i], NULL);
	printf("churn: %d threads x %d rounds, %d KVM_RUN\n", threads, rounds,
	       atomic_load(&churn_runs));
	free(t);
	return 0;
}

int main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGALRM, on_alarm);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			dev_path = argv[++i];
		else if (!strcmp(argv[i], "--guest-dir") && i + 1 < argc)
			guest_dir = argv[++i];
	}
	if (getenv("KVMTEST_GUEST_DIR"))
		guest_dir = getenv("KVMTEST_GUEST_DIR");
#define ARG(k, d) (i + (k) < argc ? atoi(argv[i + (k)]) : (d))
	if (i < argc && !strcmp(argv[i], "getregs"))
		return cmd_getregs(ARG(1, 72));
	/* cused only: KVM itself keeps vcpu->mutex through a HLT, so this blocks there */
	if (i < argc && !strcmp(argv[i], "getregs-halted")) {
		hold_halted = true;
		return cmd_getregs(ARG(1, 72));
	}
	if (i < argc && !strcmp(argv[i], "sighandler"))
		return cmd_sighandler(ARG(1, 20), ARG(2, 0));
	if (i < argc && !strcmp(argv[i], "wedge"))
		return cmd_wedge(ARG(1, 4), ARG(2, 1));
	if (i < argc && !strcmp(argv[i], "run2"))
		return cmd_run2(ARG(1, 2000));
	if (i < argc && !strcmp(argv[i], "churn"))
		return cmd_churn(ARG(1, 8), ARG(2, 20));
	fprintf(stderr, "usage: wedge_client [--dev P] [--guest-dir D] "
		"getregs N|getregs-halted N|sighandler N|wedge N|run2 ITERS|churn THREADS ROUNDS\n");
	return 2;
}
