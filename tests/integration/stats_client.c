/* SPDX-License-Identifier: MIT */
/*
 * KVM_GET_STATS_FD on cused (tests/integration/stats-test.sh).
 *
 *   stats_client live GOFILE    under cused-run: VM and vCPU stats fds through
 *                               the shim; the file is KVM's, its counters are
 *                               live, a second VM's exits never show in the
 *                               first's fd, the fd refuses what KVM's refuses.
 *                               After one guest exit it prints "alive pid N"
 *                               and waits for GOFILE.alive.
 *                               Then closes the VM and vCPU fds, prints
 *                               "holding", waits for GOFILE to exist, reads
 *                               the stats fds again (the last counts) and
 *                               closes them.
 *   stats_client park DEV OUT GOFILE   raw protocol: a VM and a parked stats
 *                               token (written to OUT); waits for GOFILE,
 *                               then binds the token itself (must still work)
 *   stats_client steal DEV TOKEN       raw protocol, another uid: binding that
 *                               token must fail with EACCES
 * Prints "ok ..." per check, "FAIL ..." and exit 1 on the first failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/kvm.h>
#include "cused/shim_abi.h"

#define FAIL(...) do { printf("FAIL "); printf(__VA_ARGS__); printf("\n"); exit(1); } while (0)
#define CHECK(cond, ...) do { if (!(cond)) FAIL(__VA_ARGS__); printf("ok   "); \
		printf(__VA_ARGS__); printf("\n"); fflush(stdout); } while (0)

struct vm {
	int fd, vcpu;
	struct kvm_run *run;
	void *mem;
};

/* mov al, 1; out 0x10, al; hlt; jmp $ */
static const uint8_t guest[] = { 0xb0, 0x01, 0xe6, 0x10, 0xf4, 0xeb, 0xfe };

static void on_alarm(int sig)
{
	(void)sig;
}

static void vm_make(int kvm, struct vm *vm)
{
	struct kvm_userspace_memory_region r = { .memory_size = 0x10000 };
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0x1000, .rflags = 2 };
	int sz;

	vm->fd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm->fd < 0)
		FAIL("KVM_CREATE_VM: %s", strerror(errno));
	vm->mem = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (vm->mem == MAP_FAILED)
		FAIL("mmap");
	memcpy((char *)vm->mem + 0x1000, guest, sizeof(guest));
	r.userspace_addr = (uintptr_t)vm->mem;
	if (ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r))
		FAIL("KVM_SET_USER_MEMORY_REGION: %s", strerror(errno));
	vm->vcpu = ioctl(vm->fd, KVM_CREATE_VCPU, 0);
	if (vm->vcpu < 0)
		FAIL("KVM_CREATE_VCPU: %s", strerror(errno));
	sz = ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vm->vcpu, 0);
	if (vm->run == MAP_FAILED)
		FAIL("mmap kvm_run: %s", strerror(errno));
	if (ioctl(vm->vcpu, KVM_GET_SREGS, &sregs))
		FAIL("KVM_GET_SREGS");
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	if (ioctl(vm->vcpu, KVM_SET_SREGS, &sregs) || ioctl(vm->vcpu, KVM_SET_REGS, &regs))
		FAIL("KVM_SET_SREGS / KVM_SET_REGS");
}

static void vm_run_io(struct vm *vm)
{
	if (ioctl(vm->vcpu, KVM_RUN, 0))
		FAIL("KVM_RUN: %s", strerror(errno));
	if (vm->run->exit_reason != KVM_EXIT_IO || vm->run->io.port != 0x10)
		FAIL("KVM_RUN: exit %u, not the guest's OUT to 0x10", vm->run->exit_reason);
}

struct file {
	struct kvm_stats_header h;
	char id[64];
	struct kvm_stats_desc *desc;   /* h.num_desc of sizeof(*desc) + h.name_size */
};

static void file_read(int fd, struct file *f)
{
	size_t dsz;

	if (pread(fd, &f->h, sizeof(f->h), 0) != sizeof(f->h))
		FAIL("pread header: %s", strerror(errno));
	if (f->h.name_size != 48 || f->h.id_offset != sizeof(f->h))
		FAIL("header name_size %u id_offset %u", f->h.name_size, f->h.id_offset);
	if (pread(fd, f->id, f->h.name_size, f->h.id_offset) != f->h.name_size)
		FAIL("pread id");
	dsz = (sizeof(*f->desc) + f->h.name_size) * f->h.num_desc;
	f->desc = malloc(dsz);
	if (!f->desc || pread(fd, f->desc, dsz, f->h.desc_offset) != (ssize_t)dsz)
		FAIL("pread descriptors");
}

/* the value of stat NAME, read on its own at its offset (a fresh snapshot) */
static uint64_t stat_of(int fd, const struct file *f, const char *name)
{
	size_t step = sizeof(*f->desc) + f->h.name_size;
	uint64_t v;

	for (unsigned i = 0; i < f->h.num_desc; i++) {
		const struct kvm_stats_desc *d = (const void *)((const char *)f->desc + i * step);

		if (strcmp(d->name, name))
			continue;
		if (pread(fd, &v, sizeof(v), f->h.data_offset + d->offset) != sizeof(v))
			FAIL("pread %s: %s", name, strerror(errno));
		return v;
	}
	FAIL("no stat %s", name);
}

static void wait_file(const char *path)
{
	for (int i = 0; i < 600 && access(path, F_OK); i++)
		usleep(50000);
	if (access(path, F_OK))
		FAIL("%s never appeared", path);
}

static int live(const char *gofile)
{
	struct vm a, b;
	struct file fv, fc;
	char want[64], buf[8];
	int kvm, vs, cs, bcs, fl;
	uint64_t total;
	void *volatile bad = (void *)8;

	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		FAIL("open /dev/kvm: %s", strerror(errno));
	CHECK(ioctl(kvm, KVM_CHECK_EXTENSION, KVM_CAP_BINARY_STATS_FD) == 1,
	      "KVM_CAP_BINARY_STATS_FD is 1");
	vm_make(kvm, &a);
	vs = ioctl(a.fd, KVM_GET_STATS_FD, 0);
	cs = ioctl(a.vcpu, KVM_GET_STATS_FD, 0);
	CHECK(vs >= 0 && cs >= 0, "KVM_GET_STATS_FD on the VM and vCPU fds (%s)",
	      vs < 0 || cs < 0 ? strerror(errno) : "fds");
	CHECK(ioctl(kvm, KVM_GET_STATS_FD, 0) == -1 && errno == EINVAL,
	      "KVM_GET_STATS_FD on /dev/kvm is EINVAL, as KVM");
	fl = fcntl(cs, F_GETFL);
	CHECK((fl & O_ACCMODE) == O_RDONLY && (fcntl(cs, F_GETFD) & FD_CLOEXEC),
	      "stats fd is O_RDONLY and close-on-exec");
	file_read(vs, &fv);
	file_read(cs, &fc);
	snprintf(want, sizeof(want), "kvm-%d", (int)getpid());
	CHECK(!strcmp(fv.id, want), "VM id %s", fv.id);
	snprintf(want, sizeof(want), "kvm-%d/vcpu-0", (int)getpid());
	CHECK(!strcmp(fc.id, want), "vCPU id %s", fc.id);
	CHECK(fv.h.num_desc == 15 && fc.h.num_desc == 45, "KVM 6.1's 15 VM and 45 vCPU stats");

	/* read(2) goes on from the file position, as KVM's stats file */
	CHECK(read(cs, buf, 4) == 4 && lseek(cs, 0, SEEK_CUR) == 4, "read advances the position");
	CHECK(write(cs, buf, 1) == -1 && errno == EBADF, "write is EBADF");
	CHECK(ioctl(cs, KVM_RUN, 0) == -1 && errno == ENOTTY, "KVM_RUN on it is ENOTTY");
	CHECK(ioctl(cs, KVM_GET_STATS_FD, 0) == -1 && errno == ENOTTY,
	      "KVM_GET_STATS_FD on a stats fd is ENOTTY");
	CHECK(pread(cs, buf, 8, 1 << 20) == 0, "pread past the end is 0");
	CHECK(pread(cs, bad, 8, 0) == -1 && errno == EFAULT, "pread to a bad buffer is EFAULT");

	CHECK(stat_of(cs, &fc, "exits") == 0 && stat_of(cs, &fc, "io_exits") == 0,
	      "a fresh vCPU has no exits");
	vm_run_io(&a);
	CHECK(stat_of(cs, &fc, "io_exits") == 1 && stat_of(cs, &fc, "exits") >= 1,
	      "after one OUT: io_exits 1, exits %" PRIu64 " (live)", stat_of(cs, &fc, "exits"));
	total = stat_of(cs, &fc, "exits");
	/* for cused-stat --pid: a live VM with its stats fds */
	snprintf(want, sizeof(want), "%s.alive", gofile);
	printf("alive pid %d\n", (int)getpid());
	wait_file(want);

	/* another VM's exits never show in this fd */
	vm_make(kvm, &b);
	bcs = ioctl(b.vcpu, KVM_GET_STATS_FD, 0);
	vm_run_io(&b);
	CHECK(stat_of(cs, &fc, "exits") == total && stat_of(bcs, &fc, "io_exits") == 1,
	      "the second VM's exit counts only in its own fd");
	close(bcs);
	close(b.vcpu);
	close(b.fd);

	/* a HLT exit (no irqchip), then a signal in the guest's endless loop */
	{
		struct sigaction sa = { .sa_handler = on_alarm };
		struct itimerval it = { .it_value = { 0, 200000 } };
		int r;

		if (ioctl(a.vcpu, KVM_RUN, 0) || a.run->exit_reason != KVM_EXIT_HLT)
			FAIL("second KVM_RUN: not KVM_EXIT_HLT (%u)", a.run->exit_reason);
		CHECK(stat_of(cs, &fc, "halt_exits") == 1, "a HLT exit counts in halt_exits");
		sigaction(SIGALRM, &sa, NULL);
		setitimer(ITIMER_REAL, &it, NULL);
		r = ioctl(a.vcpu, KVM_RUN, 0);
		CHECK(r == -1 && errno == EINTR && a.run->exit_reason == KVM_EXIT_INTR &&
		      stat_of(cs, &fc, "signal_exits") == 1,
		      "a signal in KVM_RUN counts in signal_exits");
		total = stat_of(cs, &fc, "exits");
	}

	/* the VM goes first: the stats fds keep only its counters */
	close(a.vcpu);
	close(a.fd);
	printf("holding\n");
	fflush(stdout);
	wait_file(gofile);
	CHECK(stat_of(cs, &fc, "io_exits") == 1 && stat_of(cs, &fc, "exits") == total,
	      "after the VM and vCPU fds closed, the stats fd reads their last counts");
	CHECK(stat_of(vs, &fv, "remote_tlb_flush") == 0, "the VM stats fd still reads");
	close(vs);
	close(cs);
	close(kvm);
	printf("done\n");
	return 0;
}

static int park(const char *dev, const char *out, const char *gofile)
{
	struct cused_create cr = { 0 };
	struct cused_bind b = { .run_fd = -1, .kind = CUSED_BIND_VM };
	struct file f;
	FILE *o;
	int sys, vm, sfd;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0 || ioctl(sys, CUSED_IOC_CREATE, &cr))
		FAIL("open / CUSED_IOC_CREATE: %s", strerror(errno));
	b.token = cr.token;
	vm = open(dev, O_RDWR | O_CLOEXEC);
	if (vm < 0 || ioctl(vm, CUSED_IOC_BIND, &b))
		FAIL("bind VM: %s", strerror(errno));
	CHECK(ioctl(vm, KVM_GET_STATS_FD, 0) == -1 && errno == EOPNOTSUPP,
	      "KVM_GET_STATS_FD without the shim is EOPNOTSUPP");
	CHECK(ioctl(sys, CUSED_IOC_STATS_FD, &cr) == -1 && errno == EINVAL,
	      "CUSED_IOC_STATS_FD on a system handle is EINVAL (an unknown system ioctl)");
	CHECK(ioctl(vm, CUSED_IOC_STATS_FD, &cr) == 0, "stats token parked");
	o = fopen(out, "w");
	if (!o)
		FAIL("fopen %s", out);
	fprintf(o, "%" PRIu64 "\n", (uint64_t)cr.token);
	fclose(o);
	wait_file(gofile);
	/* the kind must match the token's object */
	b.token = cr.token;
	b.kind = CUSED_BIND_VCPU;
	sfd = open(dev, O_RDONLY | O_CLOEXEC);
	CHECK(ioctl(sfd, CUSED_IOC_BIND, &b) == -1 && errno == EINVAL,
	      "a stats token bound as a vCPU is EINVAL");
	b.kind = CUSED_BIND_STATS;
	CHECK(ioctl(sfd, CUSED_IOC_BIND, &b) == 0, "its creator's uid binds it");
	file_read(sfd, &f);
	CHECK(!strncmp(f.id, "kvm-", 4) && f.h.num_desc == 15, "and reads the VM's stats (%s)", f.id);
	CHECK(ioctl(sfd, CUSED_IOC_BIND, &b) == -1 && errno == EBUSY,
	      "a bound stats handle cannot be bound again");
	close(sfd);
	close(vm);
	close(sys);
	return 0;
}

static int steal(const char *dev, const char *token)
{
	struct cused_bind b = { .token = strtoull(token, NULL, 10), .run_fd = -1,
				.kind = CUSED_BIND_STATS };
	int fd = open(dev, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		FAIL("open %s: %s", dev, strerror(errno));
	CHECK(ioctl(fd, CUSED_IOC_BIND, &b) == -1 && errno == EACCES,
	      "uid %u cannot bind another uid's stats token (EACCES)", (unsigned)getuid());
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "live"))
		return live(argv[2]);
	if (argc == 5 && !strcmp(argv[1], "park"))
		return park(argv[2], argv[3], argv[4]);
	if (argc == 4 && !strcmp(argv[1], "steal"))
		return steal(argv[2], argv[3]);
	fprintf(stderr, "usage: stats_client live GOFILE | park DEV OUT GOFILE | steal DEV TOKEN\n");
	return 2;
}
