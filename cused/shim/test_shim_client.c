/* SPDX-License-Identifier: MIT */
/*
 * Client side of the shim tests; run with libcused.so preloaded.
 *   test_shim_client passthrough   on the host's /dev/kvm: everything passes through
 *   test_shim_client fake          on test_fakedev bound over /dev/kvm by cused-run
 * Prints one line per check; exits 0 if all pass, 1 otherwise, 77 to skip.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/kvm.h>
#include <stdbool.h>
#include <sys/syscall.h>

#define MARK 0x5a5a5a5aull
#define PG 4096

static int failed;

#define CHECK(cond, ...) do {                                          \
		int ok_ = !!(cond);                                    \
		printf("%s ", ok_ ? "ok  " : "FAIL");                  \
		printf(__VA_ARGS__);                                   \
		printf("\n");                                          \
		if (!ok_)                                              \
			failed = 1;                                    \
	} while (0)

static void check_preloaded(void)
{
	Dl_info di;
	void *sym = dlsym(RTLD_DEFAULT, "ioctl");

	CHECK(sym && dladdr(sym, &di) && strstr(di.dli_fname, "libcused"),
	      "ioctl comes from libcused (%s)", sym && dladdr(sym, &di) ? di.dli_fname : "?");
}

static int passthrough(void)
{
	int sys = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu, sz;
	void *run;

	if (sys < 0) {
		printf("SKIP: no /dev/kvm: %s\n", strerror(errno));
		return 77;
	}
	check_preloaded();
	CHECK(ioctl(sys, KVM_GET_API_VERSION, 0) == KVM_API_VERSION, "KVM_GET_API_VERSION");
	sz = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	CHECK(sz > 0, "KVM_GET_VCPU_MMAP_SIZE = %d", sz);
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	CHECK(vm >= 0, "KVM_CREATE_VM on the host device");
	CHECK(ioctl(vm, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY) > 0, "vm KVM_CHECK_EXTENSION");
	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0, "KVM_CREATE_VCPU on the host device");
	run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK(run != MAP_FAILED, "mmap of the host vCPU fd");
	errno = 0;
	CHECK(mmap(NULL, PG, PROT_READ, MAP_SHARED, vm, 0) == MAP_FAILED && errno == ENODEV,
	      "mmap of the host VM fd: ENODEV from the kernel");
	errno = 0;
	CHECK(ioctl(sys, KVM_CREATE_VCPU, 0) < 0 && errno == EINVAL, "host errno preserved");
	munmap(run, sz);
	close(vcpu);
	close(vm);
	close(sys);
	return failed;
}

static void region(int vm, int slot, uint64_t gpa, void *ua, uint64_t size, int want_errno)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot, .guest_phys_addr = gpa, .memory_size = size,
		.userspace_addr = (uintptr_t)ua,
	};
	int rc;

	errno = 0;
	rc = ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r);
	CHECK(want_errno ? rc < 0 && errno == want_errno : rc == 0,
	      "region slot %d size %#lx: rc %d errno %d (want %d)", slot, (long)size, rc, errno,
	      want_errno);
}

#ifndef CAP_CHECKPOINT_RESTORE
#define CAP_CHECKPOINT_RESTORE 40
#endif

/* the capabilities /proc/self/map_files needs, on or off in the effective set */
static void map_files_caps(bool on)
{
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	int caps[] = { CAP_SYS_ADMIN, CAP_CHECKPOINT_RESTORE };

	CHECK(syscall(SYS_capget, &h, d) == 0, "capget: errno %d", errno);
	for (unsigned i = 0; i < 2; i++) {
		uint32_t bit = 1u << (caps[i] % 32);

		d[caps[i] / 32].effective = on ? d[caps[i] / 32].effective | bit :
					    d[caps[i] / 32].effective & ~bit;
	}
	CHECK(syscall(SYS_capset, &h, d) == 0, "capset: errno %d", errno);
}

static void on_alarm(int sig)
{
}

static int fake(void)
{
	int sys = open("/dev/kvm", O_RDWR | O_CLOEXEC), vm, vcpu, n = 20000, mmap_sz;
	uint64_t *mem, *m2, *m3;
	int mfd;
	struct kvm_run *run;
	struct timespec t0, t1;
	struct sigaction sa = { .sa_handler = on_alarm };
	struct itimerval it = { .it_value = { 0, 50000 } };

	check_preloaded();
	CHECK(sys >= 0, "open /dev/kvm (the fake device)");
	CHECK(ioctl(sys, KVM_GET_API_VERSION, 0) == KVM_API_VERSION, "KVM_GET_API_VERSION passes through");
	mmap_sz = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm = ioctl(sys, KVM_CREATE_VM, 0);
	CHECK(vm >= 0 && vm != sys, "KVM_CREATE_VM gives a new fd");

	/* private anonymous RAM, split in three VMAs, partly touched */
	mem = mmap(NULL, 16 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	mem[0] = 0 ^ MARK;
	mem[5 * PG / 8] = 0x1234;
	mem[8 * PG / 8] = 0x100000 ^ MARK;
	mprotect((char *)mem + 10 * PG, PG, PROT_READ);
	region(vm, 0, 0, mem, 16 * PG, 0);
	CHECK(mem[1] == 0x1000, "daemon's write to slot 0 is visible to the client");
	CHECK(mem[5 * PG / 8] == 0x1234, "contents kept when re-backed");
	mem[2] = 77;
	region(vm, 1, 0x100000, (char *)mem + 8 * PG, 4 * PG, 0);
	CHECK(mem[8 * PG / 8 + 1] == 0x1001, "alias of re-backed memory shares it");
	region(vm, 0, 0, mem, 16 * PG, 0);
	CHECK(mem[2] == 77, "re-registration does not copy again");

	/* shared anonymous RAM goes through /proc/self/map_files */
	m2 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	m2[0] = 0x200000 ^ MARK;
	region(vm, 2, 0x200000, m2, 4 * PG, 0);
	CHECK(m2[1] == 0x1002, "shared memory is the daemon's too");
	region(vm, 3, 0x300000, (void *)0x7e0000000000ull, 4 * PG, EFAULT);
	region(vm, 2, 0, NULL, 0, 0);

	/*
	 * shared memory of a file the client holds open goes through that fd,
	 * which needs no privilege (map_files needs CAP_SYS_ADMIN)
	 */
	map_files_caps(false);
	mfd = memfd_create("app-ram", MFD_CLOEXEC);
	CHECK(mfd >= 0 && ftruncate(mfd, 4 * PG) == 0, "memfd: errno %d", errno);
	m3 = mmap(NULL, 4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	CHECK(m3 != MAP_FAILED, "mmap memfd: errno %d", errno);
	m3[0] = 0x400000 ^ MARK;
	region(vm, 4, 0x400000, m3, 4 * PG, 0);
	CHECK(m3[1] == 0x1004, "shared file memory reaches the daemon through the client's fd");
	region(vm, 4, 0, NULL, 0, 0);
	map_files_caps(true);
	errno = 0;
	CHECK(ioctl(vm, KVM_SET_USER_MEMORY_REGION, NULL) < 0 && errno == EFAULT,
	      "NULL region: EFAULT (errno %d)", errno);

	vcpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	CHECK(vcpu >= 0, "KVM_CREATE_VCPU gives a new fd");
	errno = 0;
	CHECK(mmap(NULL, PG, PROT_READ, MAP_SHARED, vm, 0) == MAP_FAILED && errno == ENODEV,
	      "mmap of a VM fd: ENODEV");
	errno = 0;
	CHECK(mmap(NULL, mmap_sz + PG, PROT_READ, MAP_SHARED, vcpu, 0) == MAP_FAILED &&
	      errno == EINVAL, "mmap past KVM_GET_VCPU_MMAP_SIZE of a vCPU fd: EINVAL");
	run = mmap(NULL, mmap_sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	CHECK(run != MAP_FAILED, "mmap of the vCPU fd");
	if (run == MAP_FAILED)
		return 1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		run->exit_reason = 0;
		if (ioctl(vcpu, KVM_RUN, 0) || run->exit_reason != KVM_EXIT_HLT) {
			CHECK(0, "KVM_RUN %d: errno %d exit %u", i, errno, run->exit_reason);
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	CHECK(1, "%d x KVM_RUN -> HLT, %.2f us each", n,
	      ((t1.tv_sec - t0.tv_sec) * 1e9 + (t1.tv_nsec - t0.tv_nsec)) / n / 1000);

	if (!getenv("FAKE_NO_DOORBELL")) {
		/* a guest that runs until the client is signalled */
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		run->request_interrupt_window = 1;
		errno = 0;
		CHECK(ioctl(vcpu, KVM_RUN, 0) < 0 && errno == EINTR && run->exit_reason == KVM_EXIT_INTR,
		      "signal during KVM_RUN: EINTR, KVM_EXIT_INTR (errno %d exit %u)", errno,
		      run->exit_reason);
		run->request_interrupt_window = 0;
		CHECK(ioctl(vcpu, KVM_RUN, 0) == 0 && run->exit_reason == KVM_EXIT_HLT,
		      "next KVM_RUN is normal again");
	}

	munmap(run, mmap_sz);
	CHECK(close(vcpu) == 0 && close(vm) == 0 && close(sys) == 0, "close");
	return failed;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 2 && !strcmp(argv[1], "passthrough"))
		return passthrough();
	if (argc == 2 && !strcmp(argv[1], "fake"))
		return fake();
	fprintf(stderr, "usage: test_shim_client passthrough|fake\n");
	return 2;
}
