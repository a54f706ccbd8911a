/* SPDX-License-Identifier: MIT */
/*
 * A hostile cused client for the fd-passing regression tests (issue 6,
 * defects 1-3).  It speaks the shim protocol (shim_abi.h) directly, with no
 * libcused, and hands the daemon fds a real shim never would:
 *
 *   DEV race-run ROOTFILE SECS   bind vCPUs with run_fd swapping between a
 *                                memfd and an O_PATH fd of ROOTFILE
 *   DEV race-slot ROOTFILE SECS  the same swap under a read-write memslot; on
 *                                every accepted slot the guest copies its
 *                                first bytes out and writes to it
 *   DEV opath-ro ROOTFILE        a read-only memslot over an O_PATH fd of
 *                                ROOTFILE (after checking that a memfd works)
 *   DEV shrink-run sealed|unsealed  a kvm_run memfd shrunk after the bind
 *   DEV shrink-slot x            guest RAM memfd shrunk under a page walk
 *   DEV fifo-one FIFO            one read-only memslot backed by FIFO
 *   DEV fifo-flood FIFO N SECS   N threads issuing such calls for SECS
 *
 * It prints what it saw ("leak: ..." when guest code read bytes that are not
 * the memfd's) and leaves the verdict to the script, which knows the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "cused/shim_abi.h"

#define RAM_SIZE 0x10000
#define SLOT_B_GPA 0x10000
#define SWAP_FD 100
#define COPY_AT 0x8000
#define COPY_LEN 16

static const char *dev;

struct vmc {
	int vm, vcpu;
	uint8_t *ram;             /* slot 0 at gpa 0: code, and where the guest copies to */
	struct kvm_run *run;
	struct cused_doorbell *db;
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	printf("error: %s: %s\n", what, strerror(errno));
	exit(2);
}

/* a memfd of @size; @sealed: it cannot shrink, as a kvm_run area must not */
static int memfd_of(size_t size, bool sealed)
{
	int fd = memfd_create("fdpass-attack", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, size))
		die("memfd");
	if (sealed && fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL))
		die("F_ADD_SEALS");
	return fd;
}

/* CUSED_IOC_CREATE on @on, then a fresh handle bound to the token: fd or -errno */
static int create_bind(int on, uint64_t arg, uint32_t kind, int run_fd)
{
	struct cused_create cr = { .arg = arg };
	struct cused_bind b = { .run_fd = run_fd, .kind = kind };
	int fd, e;

	if (ioctl(on, CUSED_IOC_CREATE, &cr) < 0)
		return -errno;
	b.token = cr.token;
	fd = open(dev, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		die("reopen device");
	if (ioctl(fd, CUSED_IOC_BIND, &b) < 0) {
		e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static int set_slot(int vm, uint32_t slot, uint32_t flags, uint64_t gpa, uint64_t size,
		    void *uaddr, int fd)
{
	struct cused_mem_region mr = {
		.region = { .slot = slot, .flags = flags, .guest_phys_addr = gpa,
			    .memory_size = size, .userspace_addr = (uintptr_t)uaddr },
		.fd = fd,
	};

	return ioctl(vm, CUSED_IOC_SET_MEMORY, &mr) < 0 ? -errno : 0;
}

/*
 * Real mode at gpa 0: copy COPY_LEN bytes from slot B (gpa 0x10000) to
 * COPY_AT, then write 0x4141 to the start of slot B, then hlt.
 */
static const uint8_t guest_code[] = {
	0xb8, 0x00, 0x10,             /* mov ax, 0x1000 */
	0x8e, 0xd8,                   /* mov ds, ax */
	0x31, 0xc0,                   /* xor ax, ax */
	0x8e, 0xc0,                   /* mov es, ax */
	0x31, 0xf6,                   /* xor si, si */
	0xbf, 0x00, 0x80,             /* mov di, 0x8000 */
	0xb9, COPY_LEN / 2, 0x00,     /* mov cx, COPY_LEN / 2 */
	0xfc,                         /* cld */
	0xf3, 0xa5,                   /* rep movsw */
	0xc7, 0x06, 0x00, 0x00, 0x41, 0x41, /* mov word [0], 0x4141 */
	0xf4,                         /* hlt */
};

/* a VM with 64 KiB of RAM holding guest_code and one vCPU with a real run area */
static void vm_setup(struct vmc *c)
{
	int sys, ramfd, runfd;
	void *run;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open device");
	c->vm = create_bind(sys, 0, CUSED_BIND_VM, -1);
	if (c->vm < 0)
		errno = -c->vm, die("create VM");
	ramfd = memfd_of(RAM_SIZE, false);
	c->ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ramfd, 0);
	if (c->ram == MAP_FAILED)
		die("mmap ram");
	memcpy(c->ram, guest_code, sizeof(guest_code));
	errno = -set_slot(c->vm, 0, 0, 0, RAM_SIZE, c->ram, ramfd);
	if (errno)
		die("slot 0");
	runfd = memfd_of(CUSED_VCPU_MMAP_SIZE, true);
	run = mmap(NULL, CUSED_VCPU_MMAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, runfd, 0);
	if (run == MAP_FAILED)
		die("mmap run");
	c->vcpu = create_bind(c->vm, 0, CUSED_BIND_VCPU, runfd);
	if (c->vcpu < 0)
		errno = -c->vcpu, die("create vCPU");
	c->run = run;
	c->db = (void *)((char *)run + CUSED_RUN_DOORBELL_OFFSET);
}

static long futex(uint32_t *a, int op, uint32_t v, const struct timespec *ts)
{
	return syscall(SYS_futex, a, op, v, ts, NULL, 0);
}

/* KVM_RUN through the doorbell from real mode at 0:0; the result or -ETIMEDOUT */
static int vm_run(struct vmc *c)
{
	const struct timespec tmo = { .tv_nsec = 100000000 };
	struct kvm_regs regs = { .rip = 0, .rflags = 2, .rsp = 0x7000 };
	struct kvm_sregs sregs;
	struct kvm_segment *segs[] = { &sregs.cs, &sregs.ds, &sregs.es, &sregs.ss };
	struct cused_doorbell *db = c->db;
	double end = now() + 5;
	uint32_t seq;

	if (ioctl(c->vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	for (unsigned i = 0; i < 4; i++)
		segs[i]->selector = 0, segs[i]->base = 0;
	if (ioctl(c->vcpu, KVM_SET_SREGS, &sregs) < 0 || ioctl(c->vcpu, KVM_SET_REGS, &regs) < 0)
		die("KVM_SET_SREGS/REGS");
	seq = db->req_seq + 1;
	__atomic_store_n(&db->req_seq, seq, __ATOMIC_SEQ_CST);
	if (__atomic_load_n(&db->daemon_waiting, __ATOMIC_SEQ_CST))
		futex(&db->req_seq, FUTEX_WAKE, 1 << 30, NULL);
	while (__atomic_load_n(&db->done_seq, __ATOMIC_SEQ_CST) != seq) {
		uint32_t cur;

		if (now() > end)
			return -ETIMEDOUT;
		__atomic_store_n(&db->client_waiting, 1, __ATOMIC_SEQ_CST);
		cur = __atomic_load_n(&db->done_seq, __ATOMIC_SEQ_CST);
		if (cur != seq)
			futex(&db->done_seq, FUTEX_WAIT, cur, &tmo);
	}
	__atomic_store_n(&db->client_waiting, 0, __ATOMIC_SEQ_CST);
	return db->result;
}

/* ---- the swap: fd SWAP_FD flips between a memfd and an O_PATH fd of the root file */
struct swapper {
	int memfd, opath;
	atomic_bool stop;
};

static void *swap_loop(void *arg)
{
	struct swapper *s = arg;

	while (!atomic_load(&s->stop)) {
		dup2(s->memfd, SWAP_FD);
		dup2(s->opath, SWAP_FD);
	}
	return NULL;
}

static void swap_start(struct swapper *s, pthread_t *t, const char *rootfile, size_t size)
{
	s->memfd = memfd_of(size, true);
	s->opath = open(rootfile, O_PATH | O_CLOEXEC);
	if (s->opath < 0)
		die("O_PATH open of the root file");
	atomic_init(&s->stop, false);
	dup2(s->memfd, SWAP_FD);
	if (pthread_create(t, NULL, swap_loop, s))
		die("pthread_create");
}

static void swap_stop(struct swapper *s, pthread_t t)
{
	atomic_store(&s->stop, true);
	pthread_join(t, NULL);
}

static void count_err(int e, unsigned *ebadf, unsigned *other, int *last_other)
{
	if (e == -EBADF)
		(*ebadf)++;
	else
		(*other)++, *last_other = -e;
}

/* a fresh VM on the system handle @sys */
static int new_vm(int sys)
{
	int vm = create_bind(sys, 0, CUSED_BIND_VM, -1);

	if (vm < 0)
		errno = -vm, die("create VM");
	return vm;
}

/*
 * KVM never frees a vCPU id before its VM dies, bound or not, so each VM
 * serves VCPUS_PER_VM attempts and is then replaced.
 */
#define VCPUS_PER_VM 60

static int race_run(const char *rootfile, double secs)
{
	unsigned tries = 0, ok = 0, ebadf = 0, other = 0;
	int last_other = 0, sys, vm;
	struct swapper s;
	pthread_t t;
	double end = now() + secs;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open device");
	vm = new_vm(sys);
	swap_start(&s, &t, rootfile, CUSED_VCPU_MMAP_SIZE);
	while (now() < end && tries < 100000) {
		int fd = create_bind(vm, tries % VCPUS_PER_VM, CUSED_BIND_VCPU, SWAP_FD);

		if (fd >= 0) {
			ok++;
			close(fd);
		} else {
			count_err(fd, &ebadf, &other, &last_other);
		}
		if (++tries % VCPUS_PER_VM == 0) {
			close(vm);
			vm = new_vm(sys);
		}
	}
	swap_stop(&s, t);
	printf("race-run: tries %u bound %u ebadf %u other %u (last errno %d)\n", tries, ok,
	       ebadf, other, last_other);
	return 0;
}

/* after a run: what did the guest copy out of slot B (all zero = the memfd's bytes)? */
static int judge_copy(struct vmc *c, unsigned *runs, unsigned *leaks, unsigned *norun)
{
	uint8_t *p = c->ram + COPY_AT;
	bool zero = true, untouched = true;

	for (int i = 0; i < COPY_LEN; i++) {
		zero &= p[i] == 0;
		untouched &= p[i] == 0xee;
	}
	if (zero) {
		(*runs)++;
		return 0;
	}
	if (untouched) {
		(*norun)++;
		return 0;
	}
	/* the count tells the rest */
	if ((*leaks)++ >= 3)
		return 1;
	printf("leak: guest read \"");
	for (int i = 0; i < COPY_LEN; i++)
		putchar(p[i] >= 32 && p[i] < 127 ? p[i] : '.');
	printf("\" from a slot over the attacker's memfd\n");
	return 1;
}

static void prime_copy(struct vmc *c, uint8_t *slot_b)
{
	memset(c->ram + COPY_AT, 0xee, COPY_LEN);
	memset(slot_b, 0, COPY_LEN);
}

static int race_slot(const char *rootfile, double secs)
{
	unsigned tries = 0, ok = 0, ebadf = 0, other = 0, runs = 0, leaks = 0, norun = 0;
	int last_other = 0;
	struct swapper s;
	struct vmc c;
	uint8_t *b;
	pthread_t t;
	double end = now() + secs;

	vm_setup(&c);
	swap_start(&s, &t, rootfile, RAM_SIZE);
	b = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, s.memfd, 0);
	if (b == MAP_FAILED)
		die("mmap slot B");
	while (now() < end && tries < 100000) {
		int r = set_slot(c.vm, 1, 0, SLOT_B_GPA, RAM_SIZE, b, SWAP_FD);

		tries++;
		if (r) {
			count_err(r, &ebadf, &other, &last_other);
			continue;
		}
		ok++;
		prime_copy(&c, b);
		r = vm_run(&c);
		if (r < 0)
			printf("run: %s\n", strerror(-r));
		judge_copy(&c, &runs, &leaks, &norun);
		if (set_slot(c.vm, 1, 0, SLOT_B_GPA, 0, b, -1))
			die("delete slot 1");
	}
	swap_stop(&s, t);
	printf("race-slot: tries %u accepted %u ebadf %u other %u (last errno %d) "
	       "guest-runs %u leaks %u no-run %u\n", tries, ok, ebadf, other, last_other, runs,
	       leaks, norun);
	return 0;
}

static int opath_ro(const char *rootfile)
{
	unsigned runs = 0, leaks = 0, norun = 0;
	int memfd = memfd_of(RAM_SIZE, false), opath, r;
	struct vmc c;
	uint8_t *b;

	vm_setup(&c);
	/* the harness works: a read-only slot over our own memfd is readable */
	b = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
	if (b == MAP_FAILED)
		die("mmap slot B");
	r = set_slot(c.vm, 1, KVM_MEM_READONLY, SLOT_B_GPA, RAM_SIZE, b, memfd);
	if (r)
		errno = -r, die("read-only slot over a memfd");
	prime_copy(&c, b);
	r = vm_run(&c);
	judge_copy(&c, &runs, &leaks, &norun);
	printf("opath-ro: memfd slot: run %d exit %u guest-runs %u\n", r, c.run->exit_reason,
	       runs);
	if (set_slot(c.vm, 1, 0, SLOT_B_GPA, 0, b, -1))
		die("delete slot 1");

	opath = open(rootfile, O_PATH | O_CLOEXEC);
	if (opath < 0)
		die("O_PATH open of the root file");
	r = set_slot(c.vm, 1, KVM_MEM_READONLY, SLOT_B_GPA, RAM_SIZE, b, opath);
	if (r) {
		printf("opath-ro: refused errno %d (%s)\n", -r, strerror(-r));
		return 0;
	}
	printf("opath-ro: accepted\n");
	prime_copy(&c, b);
	r = vm_run(&c);
	judge_copy(&c, &runs, &leaks, &norun);
	return 0;
}

/*
 * Bind a vCPU over a kvm_run memfd, then shrink the memfd under the daemon's
 * mapping: a daemon touching it would take SIGBUS.  @sealed: seal it first
 * as the shim does, so the shrink must fail.
 */
static int shrink_run(bool sealed)
{
	int sys, vm, vcpu, memfd;
	double end;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open device");
	vm = new_vm(sys);
	memfd = memfd_of(CUSED_VCPU_MMAP_SIZE, sealed);
	vcpu = create_bind(vm, 0, CUSED_BIND_VCPU, memfd);
	printf("shrink-run: %s memfd: bind %d (%s)\n", sealed ? "sealed" : "unsealed",
	       vcpu < 0 ? vcpu : 0, vcpu < 0 ? strerror(-vcpu) : "bound");
	if (vcpu < 0)
		return 0;
	printf("shrink-run: ftruncate to 0: %s\n", ftruncate(memfd, 0) ? strerror(errno) : "done");
	/* give the daemon's runner thread something to read */
	end = now() + 1;
	while (now() < end)
		if (ioctl(vcpu, CUSED_IOC_VERSION, NULL) < 0) {
			printf("shrink-run: daemon gone: %s\n", strerror(errno));
			return 0;
		}
	/* tearing the vCPU down wakes its runner thread through the doorbell */
	close(vcpu);
	usleep(200000);
	if (ioctl(vm, CUSED_IOC_VERSION, NULL) < 0) {
		printf("shrink-run: daemon gone after the vCPU closed: %s\n", strerror(errno));
		return 0;
	}
	printf("shrink-run: daemon alive\n");
	return 0;
}

/* KVM_TRANSLATE of @la: the daemon walks the guest page tables itself */
static int translate(int vcpu, uint64_t la, struct kvm_translation *tr)
{
	*tr = (struct kvm_translation){ .linear_address = la };
	return ioctl(vcpu, KVM_TRANSLATE, tr) < 0 ? -errno : 0;
}

/*
 * Guest RAM over a plain memfd holding 32-bit page tables; shrink the memfd
 * to nothing and make the daemon walk them (KVM_TRANSLATE): it must see
 * unbacked memory, not take SIGBUS.
 */
static int shrink_slot(void)
{
	struct kvm_segment code = { .limit = 0xffffffff, .type = 11, .present = 1, .s = 1,
				    .db = 1, .g = 1, .selector = 8 };
	struct kvm_segment data = code;
	struct kvm_translation tr;
	struct kvm_sregs sregs;
	struct vmc c;
	uint32_t *pd, *pt;
	int sys, ramfd, runfd, r;
	void *run;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open device");
	c.vm = new_vm(sys);
	ramfd = memfd_of(RAM_SIZE, false);
	c.ram = mmap(NULL, RAM_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, ramfd, 0);
	if (c.ram == MAP_FAILED)
		die("mmap ram");
	pd = (uint32_t *)(c.ram + 0x1000);
	pt = (uint32_t *)(c.ram + 0x2000);
	pd[0] = 0x2000 | 3;
	for (int i = 0; i < 16; i++)
		pt[i] = (uint32_t)(i << 12) | 3;
	if ((r = set_slot(c.vm, 0, 0, 0, RAM_SIZE, c.ram, ramfd)))
		errno = -r, die("slot 0");
	runfd = memfd_of(CUSED_VCPU_MMAP_SIZE, true);
	run = mmap(NULL, CUSED_VCPU_MMAP_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, runfd, 0);
	if (run == MAP_FAILED)
		die("mmap run");
	c.vcpu = create_bind(c.vm, 0, CUSED_BIND_VCPU, runfd);
	if (c.vcpu < 0)
		errno = -c.vcpu, die("create vCPU");
	if (ioctl(c.vcpu, KVM_GET_SREGS, &sregs) < 0)
		die("KVM_GET_SREGS");
	data.type = 3;
	data.selector = 16;
	sregs.cs = code;
	sregs.ds = sregs.es = sregs.ss = sregs.fs = sregs.gs = data;
	sregs.cr0 = 0x80000011;   /* PG | ET | PE */
	sregs.cr3 = 0x1000;
	sregs.cr4 = 0;
	sregs.efer = 0;
	if (ioctl(c.vcpu, KVM_SET_SREGS, &sregs) < 0)
		die("KVM_SET_SREGS (32-bit paging)");
	r = translate(c.vcpu, 0x3123, &tr);
	printf("shrink-slot: before: translate %d valid %u gpa %#llx\n", r, tr.valid,
	       (unsigned long long)tr.physical_address);
	if (ftruncate(ramfd, 0))
		die("ftruncate");
	r = translate(c.vcpu, 0x3123, &tr);
	printf("shrink-slot: after shrink: translate %d (%s) valid %u\n", r,
	       r ? strerror(-r) : "answered", tr.valid);
	if (ioctl(c.vm, CUSED_IOC_VERSION, NULL) < 0) {
		printf("shrink-slot: daemon gone: %s\n", strerror(errno));
		return 0;
	}
	printf("shrink-slot: daemon alive\n");
	return 0;
}

static int fifo_open(const char *path)
{
	/* O_NONBLOCK: we must not wait for a writer ourselves */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd < 0)
		die("open FIFO");
	return fd;
}

static int fifo_one(const char *path)
{
	int fifo = fifo_open(path), sys, vm, r;
	void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	double t0;

	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open device");
	vm = create_bind(sys, 0, CUSED_BIND_VM, -1);
	if (vm < 0)
		errno = -vm, die("create VM");
	t0 = now();
	r = set_slot(vm, 1, KVM_MEM_READONLY, 0x100000, 4096, page, fifo);
	printf("fifo-one: result %d (%s) after %.3f s\n", r, r ? strerror(-r) : "accepted",
	       now() - t0);
	return 0;
}

struct flood {
	int vm, fifo;
	void *page;
	double end;
	atomic_uint calls, einval, other, next_slot;
};

static void *flood_loop(void *arg)
{
	struct flood *f = arg;
	unsigned slot = atomic_fetch_add(&f->next_slot, 1) % 30 + 1;

	while (now() < f->end) {
		int r = set_slot(f->vm, slot, KVM_MEM_READONLY, (uint64_t)slot << 20, 4096,
				 f->page, f->fifo);

		atomic_fetch_add(&f->calls, 1);
		if (r == -EINVAL)
			atomic_fetch_add(&f->einval, 1);
		else
			atomic_fetch_add(&f->other, 1);
		usleep(20000);
	}
	return NULL;
}

static int fifo_flood(const char *path, unsigned n, double secs)
{
	struct flood f = { .fifo = fifo_open(path), .end = now() + secs };
	pthread_t *t = calloc(n, sizeof(*t));
	int sys;

	f.page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	sys = open(dev, O_RDWR | O_CLOEXEC);
	if (sys < 0)
		die("open device");
	f.vm = create_bind(sys, 0, CUSED_BIND_VM, -1);
	if (f.vm < 0)
		errno = -f.vm, die("create VM");
	for (unsigned i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, flood_loop, &f))
			die("pthread_create");
	printf("fifo-flood: %u threads started\n", n);
	while (now() < f.end) {
		sleep(1);
		printf("fifo-flood: calls %u einval %u other %u\n", atomic_load(&f.calls),
		       atomic_load(&f.einval), atomic_load(&f.other));
	}
	for (unsigned i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	printf("fifo-flood: calls %u einval %u other %u\n", atomic_load(&f.calls),
	       atomic_load(&f.einval), atomic_load(&f.other));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 4)
		goto usage;
	dev = argv[1];
	if (!strcmp(argv[2], "race-run") && argc == 5)
		return race_run(argv[3], atof(argv[4]));
	if (!strcmp(argv[2], "race-slot") && argc == 5)
		return race_slot(argv[3], atof(argv[4]));
	if (!strcmp(argv[2], "opath-ro"))
		return opath_ro(argv[3]);
	if (!strcmp(argv[2], "shrink-slot"))
		return shrink_slot();
	if (!strcmp(argv[2], "shrink-run"))
		return shrink_run(!strcmp(argv[3], "sealed"));
	if (!strcmp(argv[2], "fifo-one"))
		return fifo_one(argv[3]);
	if (!strcmp(argv[2], "fifo-flood") && argc == 6)
		return fifo_flood(argv[3], atoi(argv[4]), atof(argv[5]));
usage:
	fprintf(stderr, "usage: %s DEV race-run|race-slot ROOTFILE SECS | opath-ro ROOTFILE |"
		" fifo-one FIFO | fifo-flood FIFO N SECS\n", argv[0]);
	return 2;
}
