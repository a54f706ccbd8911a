/* SPDX-License-Identifier: MIT */
/*
 * Memory (first touch, re-dirtying under dirty logging, KVM_GET_DIRTY_LOG of
 * the whole slot), VM lifecycle, and two vCPUs exiting at once.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvmbench.h"
#include "layout.h"
#include "bench.h"

static void set_slot1(struct bvm *vm, void *mem, uint64_t size, uint32_t flags)
{
	struct kvm_userspace_memory_region mr = {
		.slot = 1, .flags = flags, .guest_phys_addr = BTOUCH_GPA,
		.memory_size = size, .userspace_addr = (uintptr_t)mem,
	};

	IOC(vm->fd, KVM_SET_USER_MEMORY_REGION, &mr);
}

/* one vCPU writes one word per page of slot 1; seconds */
static double touch(struct bvm *vm, int id, uint32_t pages)
{
	struct bvcpu v;
	double t;

	bvcpu_create(vm, &v, id, BG_TOUCH, pages, BTOUCH_GPA);
	bvcpu_run(&v);
	t = v.elapsed;
	bvcpu_destroy(&v);
	return t;
}

int bench_mem(uint32_t mib)
{
	uint64_t size = (uint64_t)mib << 20, dirty = 0;
	uint32_t pages = size / 4096;
	struct kvm_dirty_log log = { .slot = 1 };
	double gib = size / (double)(1ULL << 30), t0, t;
	struct bvm vm;
	uint64_t *bitmap;
	void *mem;

	if (size > 0xc0000000ULL - BTOUCH_GPA)
		die("mem: at most %llu MiB", (0xc0000000ULL - BTOUCH_GPA) >> 20);
	bvm_create(&vm, false);
	mem = mmap(NULL, size, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		die("mmap %u MiB: %s", mib, strerror(errno));
	set_slot1(&vm, mem, size, 0);
	emit("mem-touch", gib / touch(&vm, 0, pages), "GiB/s", "rate", mib);

	/* as a migration's first pass: start logging, the guest dirties it all again */
	set_slot1(&vm, mem, size, KVM_MEM_LOG_DIRTY_PAGES);
	emit("mem-redirty", gib / touch(&vm, 1, pages), "GiB/s", "rate", mib);

	bitmap = calloc(1, (pages + 63) / 64 * 8);
	if (!bitmap)
		die("out of memory");
	log.dirty_bitmap = bitmap;
	t0 = now();
	IOC(vm.fd, KVM_GET_DIRTY_LOG, &log);
	t = now() - t0;
	for (uint32_t i = 0; i < (pages + 63) / 64; i++)
		dirty += __builtin_popcountll(bitmap[i]);
	if (dirty != pages)
		die("dirty log: %llu of %u pages dirty", (unsigned long long)dirty, pages);
	emit("dirty-log", t * 1e3, "ms", "time", mib);
	free(bitmap);
	munmap(mem, size);
	bvm_destroy(&vm);
	return 0;
}

/* KVM_CREATE_VM + a 2 MiB slot + KVM_CREATE_VCPU + mmap(kvm_run), then all closed */
int bench_vmcreate(uint32_t n)
{
	int sys = open_dev(), run_size = IOC(sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	void *mem = mmap(NULL, GUEST_RAM_SIZE, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	double t0 = now(), t;

	if (mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	for (uint32_t i = 0; i < n; i++) {
		struct kvm_userspace_memory_region mr = {
			.slot = 0, .memory_size = GUEST_RAM_SIZE, .userspace_addr = (uintptr_t)mem,
		};
		int vm = IOC(sys, KVM_CREATE_VM, 0), vcpu;
		void *run;

		IOC(vm, KVM_SET_USER_MEMORY_REGION, &mr);
		vcpu = IOC(vm, KVM_CREATE_VCPU, 0);
		run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
		if (run == MAP_FAILED)
			die("mmap kvm_run: %s", strerror(errno));
		munmap(run, run_size);
		close(vcpu);
		close(vm);
	}
	t = now() - t0;
	emit("vm-create", t / n * 1e6, "us", "time", n);
	munmap(mem, GUEST_RAM_SIZE);
	close(sys);
	return 0;
}

struct smp_arg {
	struct bvcpu v;
	pthread_barrier_t *start;
	double t;
};

static void *smp_thread(void *arg)
{
	struct smp_arg *a = arg;
	pthread_barrier_wait(a->start);
	bvcpu_run(&a->v);
	a->t = a->v.elapsed;
	return NULL;
}

/* nvcpus vCPUs of one VM each do n PIO exits at once; aggregate exits/s */
static double smp_rate(int nvcpus, uint32_t n)
{
	struct smp_arg a[2];
	pthread_barrier_t start;
	pthread_t th[2];
	struct bvm vm;
	double tmax = 0;

	bvm_create(&vm, false);
	pthread_barrier_init(&start, NULL, nvcpus);
	for (int i = 0; i < nvcpus; i++) {
		bvcpu_create(&vm, &a[i].v, i, BG_PIO, n, 0);
		a[i].start = &start;
		if (pthread_create(&th[i], NULL, smp_thread, &a[i]))
			die("pthread_create");
	}
	for (int i = 0; i < nvcpus; i++) {
		pthread_join(th[i], NULL);
		if (a[i].v.exits != n)
			die("smp: vcpu %d: %llu exits, want %u", i,
			    (unsigned long long)a[i].v.exits, n);
		if (a[i].t > tmax)
			tmax = a[i].t;
		bvcpu_destroy(&a[i].v);
	}
	pthread_barrier_destroy(&start);
	bvm_destroy(&vm);
	return nvcpus * (double)n / tmax;
}

int bench_smp(uint32_t n)
{
	double r1 = smp_rate(1, n), r2 = smp_rate(2, n);

	emit("smp-pio", r2 / 1e3, "kexits/s", "rate", n);
	emit("smp-scaling", r2 / r1, "x", "rate", n);
	return 0;
}
