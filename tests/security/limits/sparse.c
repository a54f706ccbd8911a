/* SPDX-License-Identifier: MIT */
/*
 * A plain KVM client (run it under cused-run) with several huge, sparse,
 * dirty-logged slots.  It reports the daemon's VmRSS before and after, so
 * the test can bound what the slots cost the daemon.
 *
 *   sparse DEV DAEMON_PID SLOTS GIB
 *
 * Slot i (i < SLOTS) is GIB GiB of a sparse memfd at gpa i << 40, logging
 * dirty pages.  A real-mode guest at gpa 0 writes pages 3 and 7 of slot 0
 * and halts; KVM_GET_DIRTY_LOG must then report exactly those in slot 0 and
 * nothing in the others, and a second call nothing at all.  Prints
 * "rss before KB after KB" and "sparse ok", exits non-zero on a mismatch.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/kvm.h>

#define DIE(...) do { fprintf(stderr, "sparse: " __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

static long rss_kb(int pid)
{
	char path[64], line[256];
	long kb = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	if (!f)
		DIE("cannot read %s", path);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
			break;
	fclose(f);
	return kb;
}

/* check slot's log: want holds the expected set bits of word 0, all others 0 */
static void check_log(int vm, unsigned slot, uint64_t *bm, size_t words, uint64_t want0)
{
	struct kvm_dirty_log dl = { .slot = slot, .dirty_bitmap = bm };

	if (ioctl(vm, KVM_GET_DIRTY_LOG, &dl))
		DIE("KVM_GET_DIRTY_LOG slot %u: %s", slot, strerror(errno));
	if (bm[0] != want0)
		DIE("slot %u word 0 is %#llx, want %#llx", slot, (unsigned long long)bm[0],
		    (unsigned long long)want0);
	for (size_t i = 1; i < words; i++)
		if (bm[i])
			DIE("slot %u word %zu is %#llx, want 0", slot, i, (unsigned long long)bm[i]);
	/* the caller's buffer is reused: clear only what was seen */
	bm[0] = 0;
}

int main(int argc, char **argv)
{
	static const uint8_t code[] = {
		0xa2, 0x00, 0x30,       /* mov [0x3000], al */
		0xa2, 0x00, 0x70,       /* mov [0x7000], al */
		0xf4,                   /* hlt */
	};
	int kvm, vm, cpu, pid, nslots;
	uint64_t size, *bm;
	size_t words;
	long before, after;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = 0, .rflags = 2 };
	struct kvm_run *run;

	if (argc != 5)
		DIE("usage: sparse DEV DAEMON_PID SLOTS GIB");
	pid = atoi(argv[2]);
	nslots = atoi(argv[3]);
	size = strtoull(argv[4], NULL, 0) << 30;
	words = (size >> 12) / 64;
	kvm = open(argv[1], O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		DIE("open %s: %s", argv[1], strerror(errno));
	before = rss_kb(pid);
	vm = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vm < 0)
		DIE("KVM_CREATE_VM: %s", strerror(errno));
	for (int i = 0; i < nslots; i++) {
		int fd = memfd_create("sparse", MFD_CLOEXEC);
		void *p;
		struct kvm_userspace_memory_region r = {
			.slot = i, .flags = KVM_MEM_LOG_DIRTY_PAGES,
			.guest_phys_addr = (uint64_t)i << 40, .memory_size = size,
		};

		if (fd < 0 || ftruncate(fd, size))
			DIE("memfd of %llu bytes: %s", (unsigned long long)size, strerror(errno));
		p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
		if (p == MAP_FAILED)
			DIE("mmap: %s", strerror(errno));
		if (!i)
			memcpy(p, code, sizeof(code));
		r.userspace_addr = (uintptr_t)p;
		if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &r))
			DIE("slot %d: KVM_SET_USER_MEMORY_REGION: %s", i, strerror(errno));
	}
	cpu = ioctl(vm, KVM_CREATE_VCPU, 0);
	if (cpu < 0)
		DIE("KVM_CREATE_VCPU: %s", strerror(errno));
	run = mmap(NULL, ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE,
		   MAP_SHARED, cpu, 0);
	if (run == MAP_FAILED)
		DIE("mmap kvm_run: %s", strerror(errno));
	if (ioctl(cpu, KVM_GET_SREGS, &sregs))
		DIE("KVM_GET_SREGS: %s", strerror(errno));
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	sregs.ds.base = 0;
	sregs.ds.selector = 0;
	if (ioctl(cpu, KVM_SET_SREGS, &sregs) || ioctl(cpu, KVM_SET_REGS, &regs))
		DIE("set registers: %s", strerror(errno));
	if (ioctl(cpu, KVM_RUN, 0))
		DIE("KVM_RUN: %s", strerror(errno));
	if (run->exit_reason != KVM_EXIT_HLT)
		DIE("exit reason %u, want HLT", run->exit_reason);

	/* the client's bitmap buffer is the client's cost, not the daemon's */
	bm = mmap(NULL, words * 8, PROT_READ | PROT_WRITE,
		  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (bm == MAP_FAILED)
		DIE("bitmap: %s", strerror(errno));
	for (int i = 0; i < nslots; i++)
		check_log(vm, i, bm, words, i ? 0 : (1ULL << 3) | (1ULL << 7));
	for (int i = 0; i < nslots; i++)
		check_log(vm, i, bm, words, 0);
	after = rss_kb(pid);
	printf("rss before %ld after %ld\n", before, after);
	printf("sparse ok\n");
	return 0;
}
