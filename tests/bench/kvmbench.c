/* SPDX-License-Identifier: MIT */
/*
 * kvmbench — the benchmark client behind scripts/bench/run.
 *
 *   kvmbench [--dev PATH] [--guest-dir DIR] [--timeout SECONDS] BENCH ITERATIONS
 *   kvmbench list
 *
 * Runs one benchmark on tests/guest/bench.S and prints one JSON object per
 * result row on stdout, e.g.
 *   {"row":"pio","value":8.512,"unit":"us/exit","kind":"time","n":100000}
 *   {"row":"timer","skip":"no irqchip: KVM_CREATE_IRQCHIP: ENOTTY"}
 * Benchmarks (rows): pio (pio), mmio (mmio-write, mmio-read), cpuid,
 * msr (rdmsr, wrmsr), compute, ucompute (compute-user: the loop at CPL 3),
 * timer, ipi, doorbell,
 * mem (mem-touch, mem-redirty, dirty-log; ITERATIONS = MiB), vmcreate,
 * smp (smp-pio, smp-scaling).
 * A guest still running after --timeout (default 60 s) fails the run with
 * its registers.  Exit status 0 (also when a row is skipped), 1 on failure, 77 if the device
 * is missing.  Nothing here knows about cused.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "kvmbench.h"
#include "layout.h"
#include "bench.h"

#ifndef GUEST_DIR
#define GUEST_DIR "."
#endif

static const char *dev_path = "/dev/kvm";
static volatile sig_atomic_t timed_out;     /* SIGALRM: a benchmark hung */
static const char *guest_dir = GUEST_DIR;

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "kvmbench: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(1);
}

const char *ename(int e)
{
	const char *n = strerrorname_np(e);

	return n ? n : "E?";
}

int xioctl(int fd, unsigned long req, unsigned long arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die("%s failed: %s (%s)", name, strerror(errno), ename(errno));
	return r;
}

double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void emit(const char *row, double value, const char *unit, const char *kind, uint64_t n)
{
	printf("{\"row\":\"%s\",\"value\":%.6g,\"unit\":\"%s\",\"kind\":\"%s\",\"n\":%llu}\n",
	       row, value, unit, kind, (unsigned long long)n);
	fflush(stdout);
}

void emit_skip(const char *row, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	/* reasons are ours (no quotes or backslashes), so no escaping */
	printf("{\"row\":\"%s\",\"skip\":\"%s\"}\n", row, why);
	fflush(stdout);
}

int open_dev(void)
{
	int fd = open(dev_path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		if (errno == ENOENT || errno == ENODEV || errno == ENXIO) {
			printf("SKIP: cannot open %s: %s\n", dev_path, strerror(errno));
			exit(77);
		}
		die("open %s: %s", dev_path, strerror(errno));
	}
	return fd;
}

/* BGDT and the BPT_* identity map (bench.h) */
static void write_tables(struct bvm *vm)
{
	uint64_t *gdt = (uint64_t *)(vm->mem + BGDT);
	uint64_t *pml4 = (uint64_t *)(vm->mem + BPT_PML4);
	uint64_t *pdpt = (uint64_t *)(vm->mem + BPT_PDPT);
	uint64_t *pd = (uint64_t *)(vm->mem + BPT_PD);

	gdt[0] = 0;
	gdt[1] = 0x00af9b000000ffffULL;    /* 64-bit code */
	gdt[2] = 0x00cf93000000ffffULL;    /* data */
	gdt[3] = 0x00cff3000000ffffULL;    /* user data */
	gdt[4] = 0x00affb000000ffffULL;    /* user 64-bit code */
	pml4[0] = BPT_PDPT | 0x7;          /* P | RW | US */
	for (uint64_t i = 0; i < 4; i++)
		pdpt[i] = (BPT_PD + 0x1000 * i) | 0x7;
	for (uint64_t i = 0; i < 4 * 512; i++)  /* P | RW | US | PS, the top GiB also PWT | PCD */
		pd[i] = (i << 21) | 0x87 | (i >= 3 * 512 ? 0x18 : 0);
}

static void load_image(struct bvm *vm)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/bench.bin", guest_dir);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open guest image %s: %s", path, strerror(errno));
	n = read(fd, vm->mem + GUEST_LOAD, GUEST_RAM_SIZE - GUEST_LOAD);
	if (n <= 0)
		die("read guest image %s: %s", path, n < 0 ? strerror(errno) : "empty");
	close(fd);
}

int bvm_create(struct bvm *vm, bool irqchip)
{
	struct kvm_userspace_memory_region mr;
	int nent = 256;

	memset(vm, 0, sizeof(*vm));
	vm->sys = open_dev();
	vm->run_size = IOC(vm->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	vm->fd = IOC(vm->sys, KVM_CREATE_VM, 0);
	if (irqchip && ioctl(vm->fd, KVM_CREATE_IRQCHIP, 0) < 0) {
		int e = errno;

		close(vm->fd);
		close(vm->sys);
		return -e;
	}
	vm->mem = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest RAM: %s", strerror(errno));
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .memory_size = GUEST_RAM_SIZE, .userspace_addr = (uintptr_t)vm->mem,
	};
	IOC(vm->fd, KVM_SET_USER_MEMORY_REGION, &mr);
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
	if (!vm->cpuid)
		die("out of memory");
	vm->cpuid->nent = nent;
	IOC(vm->sys, KVM_GET_SUPPORTED_CPUID, vm->cpuid);
	load_image(vm);
	write_tables(vm);
	return 0;
}

void bvm_destroy(struct bvm *vm)
{
	close(vm->fd);
	close(vm->sys);
	munmap(vm->mem, GUEST_RAM_SIZE);
	free(vm->cpuid);
}

void bvcpu_create(struct bvm *vm, struct bvcpu *v, int id, int bench, uint32_t iters,
		  uint32_t ebx)
{
	struct kvm_segment code = {
		.limit = 0xffffffff, .selector = 0x08, .type = 11, .present = 1,
		.s = 1, .l = 1, .g = 1,
	};
	struct kvm_segment data = {
		.limit = 0xffffffff, .selector = 0x10, .type = 3, .present = 1,
		.s = 1, .db = 1, .g = 1,
	};
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	memset(v, 0, sizeof(*v));
	v->vm = vm;
	v->id = id;
	v->fd = IOC(vm->fd, KVM_CREATE_VCPU, id);
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap vcpu %d: %s", id, strerror(errno));
	IOC(v->fd, KVM_SET_CPUID2, vm->cpuid);
	IOC(v->fd, KVM_GET_SREGS, &sregs);
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = data;
	sregs.gdt.base = BGDT;
	sregs.gdt.limit = 5 * 8 - 1;
	sregs.cr3 = BPT_PML4;
	sregs.cr4 = 0x620;          /* PAE | OSFXSR | OSXMMEXCPT */
	sregs.cr0 = 0x80050033;     /* PG | AM | WP | NE | ET | MP | PE */
	sregs.efer = 0x500;         /* LMA | LME */
	IOC(v->fd, KVM_SET_SREGS, &sregs);
	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_LOAD;
	regs.rsp = GUEST_STACK - 0x1000 * id;
	regs.rflags = 0x2;
	regs.rsi = id;
	regs.rdi = bench;
	regs.rbp = iters;
	regs.rbx = ebx;
	IOC(v->fd, KVM_SET_REGS, &regs);
}

void bvcpu_destroy(struct bvcpu *v)
{
	munmap(v->run, v->vm->run_size);
	close(v->fd);
}

static const char *exit_name(unsigned r)
{
	static const char *names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_SHUTDOWN] = "SHUTDOWN", [KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY",
		[KVM_EXIT_INTR] = "INTR", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_X86_RDMSR] = "X86_RDMSR", [KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	return r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

void bvcpu_run(struct bvcpu *v)
{
	struct kvm_run *run = v->run;

	v->t_start = now();
	for (;;) {
		if (ioctl(v->fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR && timed_out) {
				struct kvm_regs r;

				IOC(v->fd, KVM_GET_REGS, &r);
				die("vcpu %d: timed out: rip %#llx rbp %#llx rdx %#llx, guest counters "
				    "%u %u", v->id, (unsigned long long)r.rip,
				    (unsigned long long)r.rbp, (unsigned long long)r.rdx,
				    *(uint32_t *)(v->vm->mem + BDATA_COUNT),
				    *(uint32_t *)(v->vm->mem + BDATA_COUNT + 4));
			}
			if (errno == EINTR)
				continue;
			die("vcpu %d: KVM_RUN: %s", v->id, ename(errno));
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == BPORT_PIO) {
			v->exits++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == BMMIO_ADDR) {
			if (!run->mmio.is_write)
				memset(run->mmio.data, 0, sizeof(run->mmio.data));
			v->exits++;
			continue;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == BPORT_START) {
			v->t_start = now();
			continue;
		}
		if (run->exit_reason == KVM_EXIT_MMIO && run->mmio.phys_addr == BMMIO_DONE) {
			v->elapsed = now() - v->t_start;
			return;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.port == BPORT_DONE) {
			uint8_t st = *((uint8_t *)run + run->io.data_offset);

			v->elapsed = now() - v->t_start;
			if (st)
				die("vcpu %d: guest reports error %u", v->id, st);
			return;
		}
		if (run->exit_reason == KVM_EXIT_INTERNAL_ERROR)
			die("vcpu %d: KVM_EXIT_INTERNAL_ERROR suberror %u ndata %u data0 %#llx data1 %#llx",
			    v->id, run->internal.suberror, run->internal.ndata,
			    (unsigned long long)run->internal.data[0],
			    (unsigned long long)run->internal.data[1]);
		die("vcpu %d: unexpected exit %u (%s)", v->id, run->exit_reason,
		    exit_name(run->exit_reason));
	}
}

/* one vCPU runs `bench` for iters; seconds from first entry to BPORT_DONE */
static double time_simple(int bench, uint32_t iters, uint64_t want_exits)
{
	struct bvm vm;
	struct bvcpu v;
	double t;

	bvm_create(&vm, false);
	bvcpu_create(&vm, &v, 0, bench, iters, 0);
	bvcpu_run(&v);
	t = v.elapsed;
	if (v.exits != want_exits)
		die("benchmark %d: %llu exits, want %llu", bench, (unsigned long long)v.exits,
		    (unsigned long long)want_exits);
	bvcpu_destroy(&v);
	bvm_destroy(&vm);
	return t;
}

static int bench_pio(uint32_t n)
{
	emit("pio", time_simple(BG_PIO, n, n) / n * 1e6, "us/exit", "time", n);
	return 0;
}

static int bench_mmio(uint32_t n)
{
	emit("mmio-write", time_simple(BG_MMIO_WRITE, n, n) / n * 1e6, "us/exit", "time", n);
	emit("mmio-read", time_simple(BG_MMIO_READ, n, n) / n * 1e6, "us/exit", "time", n);
	return 0;
}

static int bench_cpuid(uint32_t n)
{
	emit("cpuid", time_simple(BG_CPUID, n, 0) / n * 1e6, "us/op", "time", n);
	return 0;
}

static int bench_msr(uint32_t n)
{
	emit("rdmsr", time_simple(BG_RDMSR, n, 0) / n * 1e6, "us/op", "time", n);
	emit("wrmsr", time_simple(BG_WRMSR, n, 0) / n * 1e6, "us/op", "time", n);
	return 0;
}

static int bench_compute(uint32_t n)
{
	emit("compute", time_simple(BG_COMPUTE, n, 0) * 1e3, "ms", "time", n);
	return 0;
}

static int bench_ucompute(uint32_t n)
{
	emit("compute-user", time_simple(BG_COMPUTE_USER, n, 0) * 1e3, "ms", "time", n);
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(uint32_t iters);
} benches[] = {
	{ "pio", bench_pio }, { "mmio", bench_mmio }, { "cpuid", bench_cpuid },
	{ "msr", bench_msr }, { "compute", bench_compute }, { "ucompute", bench_ucompute },
	{ "timer", bench_timer },
	{ "ipi", bench_ipi }, { "doorbell", bench_doorbell }, { "mem", bench_mem },
	{ "vmcreate", bench_vmcreate }, { "smp", bench_smp },
};
#define NBENCH (sizeof(benches) / sizeof(benches[0]))

static void on_alarm(int sig)
{
	(void)sig;
	timed_out = 1;
}

/* a hung guest (a lost interrupt) ends KVM_RUN with EINTR after `seconds` */
static void arm_timeout(unsigned seconds)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	sigaction(SIGALRM, &sa, NULL);      /* no SA_RESTART: KVM_RUN returns EINTR */
	alarm(seconds);
}

static void usage(void)
{
	fprintf(stderr, "usage: kvmbench [--dev PATH] [--guest-dir DIR] [--timeout SECONDS] BENCH ITERATIONS\n"
			"       kvmbench list\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i = 1;
	char *end;
	unsigned long iters;

	unsigned timeout = 60;

	for (; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "--dev"))
			dev_path = argv[i + 1];
		else if (!strcmp(argv[i], "--guest-dir"))
			guest_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--timeout"))
			timeout = atoi(argv[i + 1]);
		else
			usage();
	}
	if (i < argc && !strcmp(argv[i], "list")) {
		for (unsigned b = 0; b < NBENCH; b++)
			printf("%s\n", benches[b].name);
		return 0;
	}
	if (i + 2 != argc)
		usage();
	iters = strtoul(argv[i + 1], &end, 0);
	if (*end || !iters || iters > UINT32_MAX)
		die("bad iteration count %s", argv[i + 1]);
	arm_timeout(timeout);
	for (unsigned b = 0; b < NBENCH; b++)
		if (!strcmp(argv[i], benches[b].name))
			return benches[b].fn((uint32_t)iters);
	usage();
}
