/* SPDX-License-Identifier: MIT */
/*
 * kvmtest — a plain KVM client for differential tests: the same run on the
 * host's /dev/kvm and on cused (under cused-run) must print the same bytes.
 * Nothing here knows about cused; it only makes ordinary KVM ioctls.
 *
 *   kvmtest [--dev PATH] [--guest-dir DIR] modes
 *       run tests/guest/modes.S (real -> protected -> long mode, MMIO, PIO in,
 *       MSRs, HLT); print every exit and the final register state.
 *   kvmtest [...] smp [NVCPUS]
 *       NVCPUS (default 2) vCPUs of one VM run tests/guest/smp.S concurrently,
 *       one thread each; check every vCPU's exits and the shared counters.
 *   kvmtest [...] badargs
 *       a table of bad ioctl arguments on system / VM / vCPU fds; one line
 *       "name ret=R errno=NAME [fields]" each, so two runs can be diffed.
 *   kvmtest [...] hold
 *       run tests/guest/hold.S: prints "hold: in guest pid PID" after the first exit,
 *       then stays inside KVM_RUN forever (to be SIGKILLed).
 *   kvmtest [...] features
 *       one scenario per vCPU/VM feature (dirty log, KVM_TRANSLATE,
 *       single-step, interrupt injection without an irqchip, read-only slot,
 *       KVM_GET/SET_FPU, KVM_SET_REGS mid-run) on tests/guest/features.S;
 *       see features.c.
 *   kvmtest [...] noshim
 *       open the device and call KVM_CREATE_VM, nothing else: on cused
 *       without the libcused shim (no cused-run) that must fail with
 *       EOPNOTSUPP.  Prints "noshim create_vm ret=R errno=NAME"; exit 0 only
 *       for EOPNOTSUPP.
 *   kvmtest [...] spin [SECONDS]
 *       benchmark: tests/guest/spin.S does OUT in a loop; print the number of
 *       exits handled in SECONDS (default 3) and the rate.
 *
 * Output of modes / smp / badargs / features is deterministic (no addresses, fds, times
 * or pids).  Exit status 0 on success, 1 on failure, 77 if the device is
 * missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvmtest.h"
#include "layout.h"

#ifndef GUEST_DIR
#define GUEST_DIR "."
#endif

static const char *dev_path = "/dev/kvm";
static const char *guest_dir = GUEST_DIR;

void die(const char *fmt, ...)
{
	va_list ap;

	fflush(stdout);
	fprintf(stderr, "kvmtest: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	printf("result: FAIL\n");
	exit(1);
}

const char *ename(int e)
{
	const char *n = e ? strerrorname_np(e) : "0";

	return n ? n : "E?";
}

int xioctl(int fd, unsigned long req, unsigned long arg, const char *name)
{
	int r = ioctl(fd, req, arg);

	if (r < 0)
		die("%s failed: %s (%s)", name, strerror(errno), ename(errno));
	return r;
}

/* ---------------------------------------------------------------- VM setup */

static int open_dev(void)
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

static void load_image(struct vm *vm, const char *name)
{
	char path[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s.bin", guest_dir, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open guest image %s: %s", path, strerror(errno));
	n = read(fd, vm->mem + GUEST_LOAD, vm->mem_size - GUEST_LOAD);
	if (n <= 0)
		die("read guest image %s: %s", path, n < 0 ? strerror(errno) : "empty");
	close(fd);
}

void vm_create(struct vm *vm, const char *image)
{
	struct kvm_userspace_memory_region mr;
	int api, nent = 256;

	memset(vm, 0, sizeof(*vm));
	vm->sys = open_dev();
	api = IOC(vm->sys, KVM_GET_API_VERSION, 0);
	if (api != KVM_API_VERSION)
		die("KVM_GET_API_VERSION = %d, want %d", api, KVM_API_VERSION);
	vm->run_size = IOC(vm->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	if (vm->run_size < (int)sizeof(struct kvm_run))
		die("KVM_GET_VCPU_MMAP_SIZE = %d", vm->run_size);
	vm->fd = IOC(vm->sys, KVM_CREATE_VM, 0);

	vm->mem_size = GUEST_RAM_SIZE;
	vm->mem = mmap(NULL, vm->mem_size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (vm->mem == MAP_FAILED)
		die("mmap guest RAM: %s", strerror(errno));
	mr = (struct kvm_userspace_memory_region){
		.slot = 0, .guest_phys_addr = 0, .memory_size = vm->mem_size,
		.userspace_addr = (uintptr_t)vm->mem,
	};
	IOC(vm->fd, KVM_SET_USER_MEMORY_REGION, &mr);

	/* the supported CPUID, so the guest may set EFER.LME */
	vm->cpuid = calloc(1, sizeof(*vm->cpuid) + nent * sizeof(struct kvm_cpuid_entry2));
	vm->cpuid->nent = nent;
	IOC(vm->sys, KVM_GET_SUPPORTED_CPUID, vm->cpuid);

	if (image)
		load_image(vm, image);
}

/* a vCPU at GUEST_LOAD in real mode, CS base 0, SI = id */
void vcpu_create(struct vm *vm, struct vcpu *v, int id)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;

	v->vm = vm;
	v->id = id;
	v->fd = IOC(vm->fd, KVM_CREATE_VCPU, id);
	v->run = mmap(NULL, vm->run_size, PROT_READ | PROT_WRITE, MAP_SHARED, v->fd, 0);
	if (v->run == MAP_FAILED)
		die("mmap vcpu %d: %s", id, strerror(errno));
	IOC(v->fd, KVM_SET_CPUID2, vm->cpuid);

	IOC(v->fd, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(v->fd, KVM_SET_SREGS, &sregs);

	memset(&regs, 0, sizeof(regs));
	regs.rip = GUEST_LOAD;
	regs.rflags = 0x2;
	regs.rsi = id;
	IOC(v->fd, KVM_SET_REGS, &regs);
}

const char *exit_name(unsigned r)
{
	static const char *names[] = {
		[KVM_EXIT_UNKNOWN] = "UNKNOWN", [KVM_EXIT_EXCEPTION] = "EXCEPTION",
		[KVM_EXIT_IO] = "IO", [KVM_EXIT_HYPERCALL] = "HYPERCALL",
		[KVM_EXIT_DEBUG] = "DEBUG", [KVM_EXIT_HLT] = "HLT", [KVM_EXIT_MMIO] = "MMIO",
		[KVM_EXIT_IRQ_WINDOW_OPEN] = "IRQ_WINDOW_OPEN", [KVM_EXIT_SHUTDOWN] = "SHUTDOWN",
		[KVM_EXIT_FAIL_ENTRY] = "FAIL_ENTRY", [KVM_EXIT_INTR] = "INTR",
		[KVM_EXIT_SET_TPR] = "SET_TPR", [KVM_EXIT_TPR_ACCESS] = "TPR_ACCESS",
		[KVM_EXIT_NMI] = "NMI", [KVM_EXIT_INTERNAL_ERROR] = "INTERNAL_ERROR",
		[KVM_EXIT_SYSTEM_EVENT] = "SYSTEM_EVENT", [KVM_EXIT_X86_RDMSR] = "X86_RDMSR",
		[KVM_EXIT_X86_WRMSR] = "X86_WRMSR",
	};

	return r < sizeof(names) / sizeof(names[0]) && names[r] ? names[r] : "?";
}

void print_bytes(const char *label, const uint8_t *p, unsigned n)
{
	printf(" %s=", label);
	for (unsigned i = 0; i < n; i++)
		printf("%s%02x", i ? " " : "", p[i]);
}

uint64_t get_rip(struct vcpu *v)
{
	struct kvm_regs regs;

	IOC(v->fd, KVM_GET_REGS, &regs);
	return regs.rip;
}

/* Fields of exits that end a run: print everything KVM reports. */
void print_fatal_exit(struct kvm_run *run)
{
	switch (run->exit_reason) {
	case KVM_EXIT_FAIL_ENTRY:
		printf(" hardware_entry_failure_reason=0x%llx cpu=%u",
		       (unsigned long long)run->fail_entry.hardware_entry_failure_reason,
		       run->fail_entry.cpu);
		break;
	case KVM_EXIT_INTERNAL_ERROR:
		printf(" suberror=%u ndata=%u", run->internal.suberror, run->internal.ndata);
		for (unsigned i = 0; i < run->internal.ndata && i < 16; i++)
			printf(" data[%u]=0x%llx", i, (unsigned long long)run->internal.data[i]);
		break;
	case KVM_EXIT_EXCEPTION:
		printf(" exception=%u error_code=%u", run->ex.exception, run->ex.error_code);
		break;
	case KVM_EXIT_UNKNOWN:
		printf(" hardware_exit_reason=0x%llx",
		       (unsigned long long)run->hw.hardware_exit_reason);
		break;
	case KVM_EXIT_SYSTEM_EVENT:
		printf(" type=%u", run->system_event.type);
		break;
	}
}

/* ------------------------------------------------------------ state dumps */

static void print_regs(struct vcpu *v)
{
	struct kvm_regs r;

	IOC(v->fd, KVM_GET_REGS, &r);
#define R(f) printf("reg %-6s 0x%016llx\n", #f, (unsigned long long)r.f)
	R(rax); R(rbx); R(rcx); R(rdx); R(rsi); R(rdi); R(rsp); R(rbp);
	R(r8); R(r9); R(r10); R(r11); R(r12); R(r13); R(r14); R(r15);
	R(rip); R(rflags);
#undef R
}

static void print_seg(const char *name, const struct kvm_segment *s)
{
	printf("seg %-4s sel=0x%04x base=0x%016llx limit=0x%08x type=%u present=%u dpl=%u db=%u s=%u l=%u g=%u avl=%u unusable=%u\n",
	       name, s->selector, (unsigned long long)s->base, s->limit, s->type, s->present,
	       s->dpl, s->db, s->s, s->l, s->g, s->avl, s->unusable);
}

static void print_sregs(struct vcpu *v)
{
	struct kvm_sregs s;

	IOC(v->fd, KVM_GET_SREGS, &s);
#define S(f) printf("sreg %-9s 0x%016llx\n", #f, (unsigned long long)s.f)
	S(cr0); S(cr2); S(cr3); S(cr4); S(cr8); S(efer); S(apic_base);
#undef S
	print_seg("cs", &s.cs);
	print_seg("ds", &s.ds);
	print_seg("es", &s.es);
	print_seg("fs", &s.fs);
	print_seg("gs", &s.gs);
	print_seg("ss", &s.ss);
	print_seg("tr", &s.tr);
	print_seg("ldt", &s.ldt);
	printf("dtable gdt base=0x%016llx limit=0x%04x\n", (unsigned long long)s.gdt.base, s.gdt.limit);
	printf("dtable idt base=0x%016llx limit=0x%04x\n", (unsigned long long)s.idt.base, s.idt.limit);
	for (unsigned i = 0; i < sizeof(s.interrupt_bitmap) / sizeof(s.interrupt_bitmap[0]); i++)
		if (s.interrupt_bitmap[i])
			printf("sreg interrupt_bitmap[%u] 0x%016llx\n", i,
			       (unsigned long long)s.interrupt_bitmap[i]);
}

static const uint32_t dump_msrs[] = {
	MSR_SYSENTER_ESP_, MSR_MTRR_DEF_TYPE_, MSR_STAR_, MSR_MISC_ENABLE_, MSR_EFER_,
};

static void print_msrs(struct vcpu *v)
{
	unsigned n = sizeof(dump_msrs) / sizeof(dump_msrs[0]);
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[16];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.h.nmsrs = n;
	for (unsigned i = 0; i < n; i++)
		m.e[i].index = dump_msrs[i];
	r = IOC(v->fd, KVM_GET_MSRS, &m);
	printf("msrs read %d of %u\n", r, n);
	for (int i = 0; i < r; i++)
		printf("msr 0x%08x 0x%016llx\n", m.e[i].index, (unsigned long long)m.e[i].data);
}

/* ------------------------------------------------------------------ modes */

static int cmd_modes(void)
{
	struct vm vm;
	struct vcpu v;
	char console[256];
	unsigned con_len = 0, nexit;
	struct kvm_regs regs;
	int ok = 1, done = 0;

	vm_create(&vm, "modes");
	vcpu_create(&vm, &v, 0);
	printf("kvmtest modes\n");

	for (nexit = 1; !done && nexit <= 500; nexit++) {
		struct kvm_run *run = v.run;

		if (ioctl(v.fd, KVM_RUN, 0) < 0)
			die("KVM_RUN: %s (%s)", strerror(errno), ename(errno));
		printf("exit %u %s rip=0x%llx", nexit, exit_name(run->exit_reason),
		       (unsigned long long)get_rip(&v));
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *data = (uint8_t *)run + run->io.data_offset;
			unsigned n = run->io.size * run->io.count;

			printf(" dir=%s port=0x%04x size=%u count=%u",
			       run->io.direction == KVM_EXIT_IO_OUT ? "out" : "in",
			       run->io.port, run->io.size, run->io.count);
			if (run->io.direction == KVM_EXIT_IO_OUT) {
				print_bytes("data", data, n);
				if (run->io.port == PORT_CONSOLE && run->io.size == 1 &&
				    con_len + run->io.count < sizeof(console))
					for (unsigned i = 0; i < run->io.count; i++)
						console[con_len++] = data[i];
			} else {
				for (unsigned j = 0; j < run->io.count; j++) {
					uint32_t reply = PORT_IN_REPLY + j;

					memcpy(data + j * run->io.size, &reply, run->io.size);
				}
				print_bytes("reply", data, n);
			}
			break;
		}
		case KVM_EXIT_MMIO: {
			uint64_t reply = MMIO_READ_REPLY64;

			printf(" %s addr=0x%llx len=%u", run->mmio.is_write ? "write" : "read",
			       (unsigned long long)run->mmio.phys_addr, run->mmio.len);
			if (run->mmio.is_write) {
				print_bytes("data", run->mmio.data, run->mmio.len);
			} else {
				memcpy(run->mmio.data, &reply, run->mmio.len <= 8 ? run->mmio.len : 8);
				print_bytes("reply", run->mmio.data, run->mmio.len);
			}
			break;
		}
		case KVM_EXIT_HLT:
			done = 1;
			break;
		default:
			print_fatal_exit(run);
			ok = 0;
			done = 1;
			break;
		}
		printf("\n");
	}
	if (!done) {
		printf("error: no HLT after %u exits\n", nexit - 1);
		ok = 0;
	}

	printf("console \"");
	for (unsigned i = 0; i < con_len; i++)
		printf(console[i] == '\n' ? "\\n" : "%c", console[i]);
	printf("\"\n");
	print_regs(&v);
	print_sregs(&v);
	print_msrs(&v);

	/* what the guest must have seen */
	IOC(v.fd, KVM_GET_REGS, &regs);
#define CHECK(cond) do { if (!(cond)) { printf("check failed: %s\n", #cond); ok = 0; } } while (0)
	CHECK(con_len == 19 && !memcmp(console, "real\nprot\nlong\nrep\n", 19));
	CHECK(regs.rcx == 0x600d);
	CHECK(regs.r8 == (uint32_t)MMIO_READ_REPLY64);
	CHECK(regs.r9 == MMIO_READ_REPLY64);
	CHECK(regs.r10 == PORT_IN_REPLY);
	CHECK(regs.rbp == ((uint64_t)(uint16_t)(PORT_IN_REPLY + 2) << 32 |
			   (uint64_t)(uint16_t)(PORT_IN_REPLY + 1) << 16 | (uint16_t)PORT_IN_REPLY));
	CHECK(regs.r11 == ((uint64_t)SYSENTER_ESP_HI << 32 | SYSENTER_ESP_LO));
	CHECK(regs.r12 == MTRR_DEF_TYPE_VALUE);
	CHECK(regs.r13 == ((uint64_t)STAR_VALUE_HI << 32 | STAR_VALUE_LO));
	CHECK(regs.r15 & 0x400); /* EFER.LMA */
#undef CHECK
	printf("result: %s\n", ok ? "ok" : "FAIL");
	return ok ? 0 : 1;
}

/* -------------------------------------------------------------------- smp */

struct smp_thread {
	struct vcpu v;
	pthread_barrier_t *start;
	pthread_t th;
	unsigned io_exits, bad_exits, hlt;
	char err[256];
};

static void *smp_run(void *arg)
{
	struct smp_thread *t = arg;
	struct kvm_run *run = t->v.run;

	pthread_barrier_wait(t->start);
	for (unsigned n = 0; n < 10 * SMP_ITERS; n++) {
		if (ioctl(t->v.fd, KVM_RUN, 0) < 0) {
			snprintf(t->err, sizeof(t->err), "KVM_RUN: %s", ename(errno));
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_HLT) {
			t->hlt = 1;
			return NULL;
		}
		if (run->exit_reason == KVM_EXIT_IO && run->io.direction == KVM_EXIT_IO_OUT &&
		    run->io.port == PORT_SMP && run->io.size == 1 && run->io.count == 1 &&
		    *((uint8_t *)run + run->io.data_offset) == t->v.id) {
			t->io_exits++;
			continue;
		}
		t->bad_exits++;
		snprintf(t->err, sizeof(t->err), "unexpected exit %u (%s)", run->exit_reason,
			 exit_name(run->exit_reason));
		return NULL;
	}
	snprintf(t->err, sizeof(t->err), "no HLT");
	return NULL;
}

static int cmd_smp(int nvcpus)
{
	struct smp_thread *t;
	pthread_barrier_t start;
	struct vm vm;
	uint32_t shared;
	int ok = 1;

	if (nvcpus < 1 || nvcpus > 64)
		die("smp: 1..64 vCPUs");
	vm_create(&vm, "smp");
	t = calloc(nvcpus, sizeof(*t));
	pthread_barrier_init(&start, NULL, nvcpus);
	for (int i = 0; i < nvcpus; i++) {
		vcpu_create(&vm, &t[i].v, i);
		t[i].start = &start;
	}
	for (int i = 0; i < nvcpus; i++)
		if (pthread_create(&t[i].th, NULL, smp_run, &t[i]))
			die("pthread_create");
	for (int i = 0; i < nvcpus; i++)
		pthread_join(t[i].th, NULL);

	printf("kvmtest smp %d\n", nvcpus);
	for (int i = 0; i < nvcpus; i++) {
		uint32_t c;
		struct kvm_regs regs;

		memcpy(&c, vm.mem + SMP_COUNTERS + 4 * i, 4);
		IOC(t[i].v.fd, KVM_GET_REGS, &regs);
		printf("vcpu %d io_exits=%u bad_exits=%u hlt=%u counter=%u rip=0x%llx rcx=0x%llx rsi=0x%llx%s%s\n",
		       i, t[i].io_exits, t[i].bad_exits, t[i].hlt, c,
		       (unsigned long long)regs.rip, (unsigned long long)regs.rcx,
		       (unsigned long long)regs.rsi, t[i].err[0] ? " error=" : "", t[i].err);
		if (t[i].io_exits != SMP_ITERS || t[i].bad_exits || !t[i].hlt || c != SMP_ITERS ||
		    regs.rsi != (unsigned)i)
			ok = 0;
	}
	memcpy(&shared, vm.mem + SMP_SHARED, 4);
	printf("shared counter=%u (want %u)\n", shared, nvcpus * SMP_ITERS);
	if (shared != (uint32_t)nvcpus * SMP_ITERS)
		ok = 0;
	printf("result: %s\n", ok ? "ok" : "FAIL");
	return ok ? 0 : 1;
}

/* ------------------------------------------------------------------- hold */

static int cmd_hold(void)
{
	struct vm vm;
	struct vcpu v;

	vm_create(&vm, "hold");
	vcpu_create(&vm, &v, 0);
	for (;;) {
		if (ioctl(v.fd, KVM_RUN, 0) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			die("KVM_RUN: %s", ename(errno));
		}
		if (v.run->exit_reason == KVM_EXIT_IO && v.run->io.port == PORT_HOLD) {
			printf("hold: in guest pid %d\n", (int)getpid());
			fflush(stdout);
			continue;
		}
		die("hold: unexpected exit %u (%s)", v.run->exit_reason, exit_name(v.run->exit_reason));
	}
}

/* ------------------------------------------------------------------- spin */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int cmd_spin(double seconds)
{
	struct vm vm;
	struct vcpu v;
	uint64_t n = 0;
	double t0, t1, end;

	vm_create(&vm, "spin");
	vcpu_create(&vm, &v, 0);
	t0 = now();
	end = t0 + seconds;
	for (;;) {
		struct kvm_run *run = v.run;

		if (ioctl(v.fd, KVM_RUN, 0) < 0)
			die("KVM_RUN: %s", ename(errno));
		if (run->exit_reason != KVM_EXIT_IO || run->io.port != PORT_SPIN)
			die("spin: unexpected exit %u (%s)", run->exit_reason, exit_name(run->exit_reason));
		if (*((uint8_t *)run + run->io.data_offset) != (uint8_t)n)
			die("spin: exit %" PRIu64 " carries %u (lost an exit?)", n,
			    *((uint8_t *)run + run->io.data_offset));
		n++;
		if (!(n & 255) && (t1 = now()) >= end)
			break;
	}
	printf("exits %" PRIu64 " seconds %.3f rate %.0f\n", n, t1 - t0, n / (t1 - t0));
	return 0;
}

/* ---------------------------------------------------------------- badargs */

static void show(const char *name, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void show(const char *name, int r, const char *fmt, ...)
{
	int e = errno;
	va_list ap;

	printf("%-40s ret=%d errno=%s", name, r < 0 ? -1 : r, r < 0 ? ename(e) : "0");
	if (fmt) {
		printf(" ");
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	printf("\n");
}

/* run one ioctl and print its result; returns the ioctl's return value */
#define T(name, fd, req, arg) ({ errno = 0; int r_ = ioctl(fd, req, arg); show(name, r_, NULL); r_; })
/* the same for ioctls that return a new fd: never print the fd number */
#define TF(name, fd, req, arg) ({ errno = 0; int r_ = ioctl(fd, req, arg); \
	show(name, r_ < 0 ? r_ : 0, r_ < 0 ? NULL : "(new fd)"); r_; })

static int set_region(int vmfd, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size, uint64_t uaddr)
{
	struct kvm_userspace_memory_region mr = {
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = uaddr,
	};

	return ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &mr);
}

#define REGION(name, ...) ({ errno = 0; int r_ = set_region(vmfd, __VA_ARGS__); show(name, r_, NULL); r_; })

static int cmd_badargs(void)
{
	int sys = open_dev(), vmfd, vcpufd, vcpu2, r;

	uint8_t *mem;
	uintptr_t ua;
	const size_t msz = 0x100000;
	struct kvm_cpuid2 *cpuid;
	size_t cpuid_sz = sizeof(*cpuid) + 1024 * sizeof(struct kvm_cpuid_entry2);
	struct {
		struct kvm_msrs h;
		struct kvm_msr_entry e[300];
	} msrs;
	struct {
		struct kvm_msr_list h;
		uint32_t idx[1024];
	} msrlist;

	printf("kvmtest badargs\n");
	mem = mmap(NULL, 4 * msz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	ua = (uintptr_t)mem;
	cpuid = calloc(1, cpuid_sz);

	/* ---- system fd */
	T("sys.get_api_version", sys, KVM_GET_API_VERSION, 0);
	T("sys.get_api_version_arg", sys, KVM_GET_API_VERSION, 1);
	T("sys.check_extension_unknown", sys, KVM_CHECK_EXTENSION, 0x7fffffff);
	T("sys.check_extension_user_memory", sys, KVM_CHECK_EXTENSION, KVM_CAP_USER_MEMORY);
	T("sys.get_vcpu_mmap_size_arg", sys, KVM_GET_VCPU_MMAP_SIZE, 1);
	TF("sys.create_vm_bad_type", sys, KVM_CREATE_VM, 0xdeadbeef);
	T("sys.unknown_kvm_ioctl", sys, _IO(KVMIO, 0xfe), 0);
	T("sys.unknown_kvm_ioctl_rw", sys, _IOWR(KVMIO, 0xfe, uint64_t), &msrs);
	T("sys.foreign_ioctl_tcgets", sys, TCGETS, &msrs);
	TF("sys.create_vcpu_on_sys", sys, KVM_CREATE_VCPU, 0);
	T("sys.run_on_sys", sys, KVM_RUN, 0);

	memset(&msrlist, 0, sizeof(msrlist));
	msrlist.h.nmsrs = 1;
	errno = 0;
	r = ioctl(sys, KVM_GET_MSR_INDEX_LIST, &msrlist);
	show("sys.get_msr_index_list_small", r, "nmsrs_grew=%d", msrlist.h.nmsrs > 1);
	msrlist.h.nmsrs = 0;
	errno = 0;
	r = ioctl(sys, KVM_GET_MSR_FEATURE_INDEX_LIST, &msrlist);
	show("sys.get_msr_feature_index_list_zero", r, "nmsrs_grew=%d", msrlist.h.nmsrs > 0);
	T("sys.get_msr_index_list_null", sys, KVM_GET_MSR_INDEX_LIST, NULL);

	cpuid->nent = 0;
	errno = 0;
	r = ioctl(sys, KVM_GET_SUPPORTED_CPUID, cpuid);
	show("sys.get_supported_cpuid_nent0", r, NULL);
	cpuid->nent = 1;
	errno = 0;
	r = ioctl(sys, KVM_GET_SUPPORTED_CPUID, cpuid);
	show("sys.get_supported_cpuid_nent1", r, "nent_after=%s", cpuid->nent == 1 ? "1" : "changed");
	cpuid->nent = 1000;
	errno = 0;
	r = ioctl(sys, KVM_GET_SUPPORTED_CPUID, cpuid);
	show("sys.get_supported_cpuid_nent1000", r, "nent_clamped=%d", cpuid->nent <= 256);
	T("sys.get_supported_cpuid_null", sys, KVM_GET_SUPPORTED_CPUID, NULL);

	memset(&msrs, 0, sizeof(msrs));
	msrs.h.nmsrs = 256;
	T("sys.get_msrs_256_entries", sys, KVM_GET_MSRS, &msrs);
	msrs.h.nmsrs = 1;
	msrs.e[0].index = 0xdeadbeef;
	T("sys.get_msrs_feature_unknown", sys, KVM_GET_MSRS, &msrs);
	/* KVM reports PERF_CAPABILITIES on both vendors: 0 without a guest PMU */
	msrs.e[0].index = 0x345;
	msrs.e[0].data = 0xdead;
	errno = 0;
	r = ioctl(sys, KVM_GET_MSRS, &msrs);
	show("sys.get_msrs_feature_perf_caps", r, "data=%#llx", (unsigned long long)msrs.e[0].data);

	/* ---- VM fd */
	vmfd = IOC(sys, KVM_CREATE_VM, 0);
	T("vm.check_extension_unknown", vmfd, KVM_CHECK_EXTENSION, 0x7fffffff);
	T("vm.unknown_kvm_ioctl", vmfd, _IO(KVMIO, 0xfe), 0);
	T("vm.foreign_ioctl_tcgets", vmfd, TCGETS, &msrs);
	T("vm.run_on_vm", vmfd, KVM_RUN, 0);
	T("vm.get_api_version_on_vm", vmfd, KVM_GET_API_VERSION, 0);
	T("vm.set_user_memory_region_null", vmfd, KVM_SET_USER_MEMORY_REGION, NULL);

	REGION("vm.region_size_unaligned", 0, 0, 0, msz - 1, ua);
	REGION("vm.region_gpa_unaligned", 0, 0, 0x800, msz, ua);
	REGION("vm.region_uaddr_unaligned", 0, 0, 0, msz, ua + 8);
	REGION("vm.region_bad_flags", 0, 0x80, 0, msz, ua);
	REGION("vm.region_all_flags", 0, 0xffffffff, 0, msz, ua);
	REGION("vm.region_slot_too_big", 32764, 0, 0, msz, ua);
	REGION("vm.region_slot_0xffff", 0xffff, 0, 0, msz, ua);
	REGION("vm.region_address_space_5", 5 << 16, 0, 0, msz, ua);
	REGION("vm.region_gpa_wraps", 0, 0, 0xfffffffffff00000ULL, 2 * msz, ua);
	REGION("vm.region_uaddr_kernel", 0, 0, 0, msz, 0xffff888000000000ULL);
	REGION("vm.region_uaddr_noncanonical", 0, 0, 0, msz, 0x0000900000000000ULL);
	REGION("vm.region_delete_nonexistent", 3, 0, 0, 0, 0);
	REGION("vm.region_slot0_ok", 0, 0, 0, msz, ua);
	REGION("vm.region_slot0_same_again", 0, 0, 0, msz, ua);
	REGION("vm.region_overlap_exact", 1, 0, 0, msz, ua + msz);
	REGION("vm.region_overlap_partial", 1, 0, msz / 2, msz, ua + msz);
	REGION("vm.region_overlap_inside", 1, 0, 0x1000, 0x1000, ua + msz);
	REGION("vm.region_slot1_adjacent_ok", 1, KVM_MEM_LOG_DIRTY_PAGES, msz, msz, ua + msz);
	REGION("vm.region_slot0_resize", 0, 0, 0, 2 * msz, ua);
	REGION("vm.region_slot0_change_uaddr", 0, 0, 0, msz, ua + 2 * msz);
	REGION("vm.region_slot0_move_onto_slot1", 0, 0, msz, msz, ua);
	REGION("vm.region_slot0_move_ok", 0, 0, 4 * msz, msz, ua);
	REGION("vm.region_slot0_move_back", 0, 0, 0, msz, ua);
	REGION("vm.region_slot0_readonly_flag_change", 0, KVM_MEM_READONLY, 0, msz, ua);
	REGION("vm.region_slot2_readonly_ok", 2, KVM_MEM_READONLY, 8 * msz, msz, ua + 2 * msz);
	REGION("vm.region_slot2_delete", 2, 0, 0, 0, 0);
	REGION("vm.region_slot2_delete_again", 2, 0, 0, 0, 0);
	REGION("vm.region_unmapped_uaddr_ok", 2, 0, 16 * msz, msz, ua + 64 * msz);
	REGION("vm.region_slot2_delete2", 2, 0, 0, 0, 0);

	{
		struct kvm_dirty_log dl = { .slot = 0 };
		uint64_t bitmap[64];

		memset(bitmap, 0xff, sizeof(bitmap));
		dl.dirty_bitmap = bitmap;
		T("vm.dirty_log_slot_without_logging", vmfd, KVM_GET_DIRTY_LOG, &dl);
		dl.slot = 7;
		T("vm.dirty_log_no_such_slot", vmfd, KVM_GET_DIRTY_LOG, &dl);
		dl.slot = 40000;
		T("vm.dirty_log_slot_out_of_range", vmfd, KVM_GET_DIRTY_LOG, &dl);
		dl.slot = 1;
		errno = 0;
		r = ioctl(vmfd, KVM_GET_DIRTY_LOG, &dl);
		show("vm.dirty_log_slot1_ok", r, "bitmap0=0x%016llx", (unsigned long long)bitmap[0]);
		dl.dirty_bitmap = NULL;
		T("vm.dirty_log_null_bitmap", vmfd, KVM_GET_DIRTY_LOG, &dl);
		T("vm.dirty_log_null_arg", vmfd, KVM_GET_DIRTY_LOG, NULL);
	}
	{
		struct kvm_enable_cap cap = { .cap = 0x7fffffff };

		T("vm.enable_cap_unknown", vmfd, KVM_ENABLE_CAP, &cap);
		cap.cap = KVM_CAP_X86_DISABLE_EXITS;
		cap.flags = 1;
		T("vm.enable_cap_bad_flags", vmfd, KVM_ENABLE_CAP, &cap);
	}
	{
		struct kvm_irq_level irq = { .irq = 4, .level = 1 };

		T("vm.irq_line_without_irqchip", vmfd, KVM_IRQ_LINE, &irq);
	}

	TF("vm.create_vcpu_negative", vmfd, KVM_CREATE_VCPU, -1);
	TF("vm.create_vcpu_id_huge", vmfd, KVM_CREATE_VCPU, 0x7fffffff);
	TF("vm.create_vcpu_id_4096", vmfd, KVM_CREATE_VCPU, 4096);
	TF("vm.create_vcpu_0", vmfd, KVM_CREATE_VCPU, 0);
	TF("vm.create_vcpu_0_again", vmfd, KVM_CREATE_VCPU, 0);
	vcpu2 = TF("vm.create_vcpu_1", vmfd, KVM_CREATE_VCPU, 1);
	T("vm.create_irqchip_after_vcpu", vmfd, KVM_CREATE_IRQCHIP, 0);

	/* ---- vCPU fd (vcpu 1; vcpu 0 was only to test duplicates) */
	vcpufd = vcpu2;
	if (vcpufd < 0)
		die("no vcpu to test");
	T("vcpu.unknown_kvm_ioctl", vcpufd, _IO(KVMIO, 0xfe), 0);
	T("vcpu.foreign_ioctl_tcgets", vcpufd, TCGETS, &msrs);
	TF("vcpu.create_vcpu_on_vcpu", vcpufd, KVM_CREATE_VCPU, 2);
	T("vcpu.set_region_on_vcpu", vcpufd, KVM_SET_USER_MEMORY_REGION, &msrs);
	T("vcpu.get_regs_null", vcpufd, KVM_GET_REGS, NULL);
	T("vcpu.set_regs_null", vcpufd, KVM_SET_REGS, NULL);
	T("vcpu.get_sregs_bad_ptr", vcpufd, KVM_GET_SREGS, (void *)0x10);

	memset(&msrs, 0, sizeof(msrs));
	msrs.h.nmsrs = 256;
	T("vcpu.get_msrs_256_entries", vcpufd, KVM_GET_MSRS, &msrs);
	msrs.h.nmsrs = 255;
	for (int i = 0; i < 255; i++)
		msrs.e[i].index = MSR_STAR_;
	T("vcpu.get_msrs_255_entries", vcpufd, KVM_GET_MSRS, &msrs);
	msrs.h.nmsrs = 0x7fffffff;
	T("vcpu.get_msrs_huge_count", vcpufd, KVM_GET_MSRS, &msrs);
	msrs.h.nmsrs = 0;
	T("vcpu.get_msrs_zero", vcpufd, KVM_GET_MSRS, &msrs);
	msrs.h.nmsrs = 3;
	msrs.e[0].index = MSR_SYSENTER_ESP_;
	msrs.e[1].index = 0xdeadbeef;
	msrs.e[2].index = MSR_STAR_;
	T("vcpu.get_msrs_unknown_second", vcpufd, KVM_GET_MSRS, &msrs);
	T("vcpu.set_msrs_unknown_second", vcpufd, KVM_SET_MSRS, &msrs);
	msrs.h.nmsrs = 1;
	msrs.e[0].index = MSR_EFER_;
	msrs.e[0].data = 1ULL << 40;
	T("vcpu.set_msrs_efer_reserved_bit", vcpufd, KVM_SET_MSRS, &msrs);
	msrs.e[0].index = MSR_SYSENTER_ESP_;
	msrs.e[0].data = 0x8000000000000000ULL;
	T("vcpu.set_msrs_sysenter_esp_noncanonical", vcpufd, KVM_SET_MSRS, &msrs);
	msrs.h.nmsrs = 1;
	msrs.h.pad = 0;
	T("vcpu.get_msrs_null", vcpufd, KVM_GET_MSRS, NULL);

	memset(cpuid, 0, cpuid_sz);
	cpuid->nent = 257;
	T("vcpu.set_cpuid2_nent257", vcpufd, KVM_SET_CPUID2, cpuid);
	cpuid->nent = 0x40000000;
	T("vcpu.set_cpuid2_nent_huge", vcpufd, KVM_SET_CPUID2, cpuid);
	cpuid->nent = 1;
	cpuid->entries[0].function = 0;
	cpuid->entries[0].eax = 1;
	T("vcpu.set_cpuid2_one_leaf", vcpufd, KVM_SET_CPUID2, cpuid);
	cpuid->nent = 0;
	errno = 0;
	r = ioctl(vcpufd, KVM_GET_CPUID2, cpuid);
	show("vcpu.get_cpuid2_nent0", r, "nent_after=%u", cpuid->nent);
	cpuid->nent = 1000;
	errno = 0;
	r = ioctl(vcpufd, KVM_GET_CPUID2, cpuid);
	show("vcpu.get_cpuid2_nent1000", r, "nent_after=%u", cpuid->nent);
	T("vcpu.set_cpuid2_null", vcpufd, KVM_SET_CPUID2, NULL);

	{
		struct kvm_sregs s;

		IOC(vcpufd, KVM_GET_SREGS, &s);
		s.cr0 |= 0x80000000; /* PG without PE */
		s.cr0 &= ~1ULL;
		T("vcpu.set_sregs_pg_without_pe", vcpufd, KVM_SET_SREGS, &s);
		IOC(vcpufd, KVM_GET_SREGS, &s);
		s.cr4 |= 1ULL << 40;
		T("vcpu.set_sregs_cr4_reserved", vcpufd, KVM_SET_SREGS, &s);
		IOC(vcpufd, KVM_GET_SREGS, &s);
		s.efer |= 0x400; /* LMA without LME/PG */
		T("vcpu.set_sregs_efer_lma_only", vcpufd, KVM_SET_SREGS, &s);
		IOC(vcpufd, KVM_GET_SREGS, &s);
		s.apic_base = 0xfee00900ULL | (1ULL << 50);
		T("vcpu.set_sregs_apic_base_reserved", vcpufd, KVM_SET_SREGS, &s);
	}
	{
		struct kvm_interrupt irq = { .irq = 256 };

		T("vcpu.interrupt_256", vcpufd, KVM_INTERRUPT, &irq);
		irq.irq = 0x20;
		T("vcpu.interrupt_0x20_no_irqchip", vcpufd, KVM_INTERRUPT, &irq);
	}
	{
		struct kvm_mp_state mp = { .mp_state = 100 };

		T("vcpu.set_mp_state_invalid", vcpufd, KVM_SET_MP_STATE, &mp);
		errno = 0;
		r = ioctl(vcpufd, KVM_GET_MP_STATE, &mp);
		show("vcpu.get_mp_state", r, "mp_state=%u", mp.mp_state);
	}
	{
		struct kvm_guest_debug dbg = { .control = 0x80000000 };

		T("vcpu.set_guest_debug_bad_flags", vcpufd, KVM_SET_GUEST_DEBUG, &dbg);
	}
	{
		struct {
			struct kvm_signal_mask h;
			uint8_t set[16];
		} sm = { .h.len = 4 };

		T("vcpu.set_signal_mask_len4", vcpufd, KVM_SET_SIGNAL_MASK, &sm);
	}
	{
		struct kvm_translation tr = { .linear_address = 0x12345 };

		errno = 0;
		r = ioctl(vcpufd, KVM_TRANSLATE, &tr);
		show("vcpu.translate_real_mode", r, "phys=0x%llx valid=%u writeable=%u usermode=%u",
		     (unsigned long long)tr.physical_address, tr.valid, tr.writeable, tr.usermode);
	}
	{
		struct kvm_run *run;
		int sz = ioctl(sys, KVM_GET_VCPU_MMAP_SIZE, 0);

		run = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, vcpufd, 0);
		if (run == MAP_FAILED)
			die("mmap vcpu: %s", strerror(errno));
		run->immediate_exit = 1;
		errno = 0;
		r = ioctl(vcpufd, KVM_RUN, 0);
		show("vcpu.run_immediate_exit", r, "exit_reason=%u", run->exit_reason);
		run->immediate_exit = 0;
		run->request_interrupt_window = 0;
	}
	T("vcpu.set_regs_bad_ptr", vcpufd, KVM_SET_REGS, (void *)1);
	T("vcpu.get_dirty_log_on_vcpu", vcpufd, KVM_GET_DIRTY_LOG, &msrs);

	close(vcpufd);
	close(vmfd);
	printf("result: ok\n");
	return 0;
}

/* ----------------------------------------------------------------- noshim */

static int cmd_noshim(void)
{
	int sys = open_dev(), r;

	errno = 0;
	r = ioctl(sys, KVM_CREATE_VM, 0);
	printf("noshim create_vm ret=%d errno=%s\n", r < 0 ? -1 : 0, r < 0 ? ename(errno) : "0");
	return r < 0 && errno == EOPNOTSUPP ? 0 : 1;
}

/* ------------------------------------------------------------------- main */

static void usage(void)
{
	fprintf(stderr,
		"usage: kvmtest [--dev PATH] [--guest-dir DIR] modes|smp [N]|badargs|features [NAME...]|noshim|\n"
		"               hold|spin [SECONDS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int i = 1;

	setvbuf(stdout, NULL, _IOLBF, 0);
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--dev") && i + 1 < argc)
			dev_path = argv[++i];
		else if (!strcmp(argv[i], "--guest-dir") && i + 1 < argc)
			guest_dir = argv[++i];
		else
			usage();
	}
	if (getenv("KVMTEST_GUEST_DIR"))
		guest_dir = getenv("KVMTEST_GUEST_DIR");
	if (i >= argc)
		usage();
	if (!strcmp(argv[i], "modes"))
		return cmd_modes();
	if (!strcmp(argv[i], "smp"))
		return cmd_smp(i + 1 < argc ? atoi(argv[i + 1]) : 2);
	if (!strcmp(argv[i], "badargs"))
		return cmd_badargs();
	if (!strcmp(argv[i], "features"))
		return cmd_features(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "state"))
		return cmd_state(dev_path);
	if (!strcmp(argv[i], "evfd"))
		return cmd_evfd(dev_path);
	if (!strcmp(argv[i], "irq"))
		return cmd_irq(argc - i - 1, argv + i + 1);
	if (!strcmp(argv[i], "noshim"))
		return cmd_noshim();
	if (!strcmp(argv[i], "hold"))
		return cmd_hold();
	if (!strcmp(argv[i], "spin"))
		return cmd_spin(i + 1 < argc ? atof(argv[i + 1]) : 3.0);
	usage();
}
