/* SPDX-License-Identifier: MIT */
/*
 * kvmtest evfd: eventfds and signals, one deterministic line per check, run
 * on the host's /dev/kvm and on cused (run-differential.sh):
 *   - KVM_CHECK_EXTENSION of the eventfd capabilities;
 *   - KVM_IOEVENTFD and KVM_IRQFD (no irqchip) errno tables;
 *   - a real-mode guest whose PIO and MMIO writes hit ioeventfds (wildcard,
 *     datamatch hit and miss, length 0): only the misses and the HLT reach
 *     the client, and the client reads every count from its eventfds;
 *   - coalesced MMIO and PIO: the ring in every vCPU mapping, a full ring
 *     falling back to an exit, zone (un)registration rules;
 *   - KVM_SET_SIGNAL_MASK: its errnos; a signal the mask leaves open ends a
 *     spinning guest's KVM_RUN with EINTR / KVM_EXIT_INTR, one it blocks
 *     does not; a pending one ends the run before the guest goes on.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <linux/kvm.h>

#include "kvmtest.h"

#define SHOW(name, expr, ...) do { \
	errno = 0; \
	int r_ = (expr); \
	printf("%s ret=%d errno=%s", name, r_ < 0 ? -1 : r_, ename(r_ < 0 ? errno : 0)); \
	printf(" " __VA_ARGS__); \
	printf("\n"); \
} while (0)

#define MEM_SIZE 0x10000       /* one slot at GPA 0; 0x20000 up is MMIO */
#define CODE 0x1000
#define ITERS 1000

/*
 * .code16 at 0x1000, DS = 0x2000 (MMIO at 0x20000):
 *   mov $0x2000,%ax; mov %ax,%ds; mov $1000,%cx
 * 1: outb %al,$0x50; movl %eax,0x0; loop 1b        wildcards, ITERS times each
 *   mov $0x1234,%ax; outw %ax,$0x52                 datamatch hit
 *   mov $0x4321,%ax; outw %ax,$0x52                 miss: KVM_EXIT_IO
 *   movl $7,0x10                                    datamatch hit
 *   movl $8,0x10                                    miss: KVM_EXIT_MMIO
 *   movb $1,0x20; movw $2,0x20                      length 0: both hit
 *   hlt
 */
static const uint8_t notify_guest[] = {
	0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xb9, 0xe8, 0x03, 0xe6, 0x50, 0x66, 0xa3,
	0x00, 0x00, 0xe2, 0xf8, 0xb8, 0x34, 0x12, 0xe7, 0x52, 0xb8, 0x21, 0x43,
	0xe7, 0x52, 0x66, 0xc7, 0x06, 0x10, 0x00, 0x07, 0x00, 0x00, 0x00, 0x66,
	0xc7, 0x06, 0x10, 0x00, 0x08, 0x00, 0x00, 0x00, 0xc6, 0x06, 0x20, 0x00,
	0x01, 0xc7, 0x06, 0x20, 0x00, 0x02, 0x00, 0xf4,
};
static const uint8_t spin_guest[] = { 0xeb, 0xfe };   /* 1: jmp 1b */
/*
 * .code16, DS = 0x2000:
 *   mov $200,%cx; 1: movw %cx,0x100; loop 1b      200 writes to gpa 0x20100
 *   mov $0x55,%al; outb %al,$0x70                 coalesced PIO zone
 *   mov $0xaa,%al; outb %al,$0x72                 outside it: KVM_EXIT_IO
 *   hlt
 */
static const uint8_t coalesce_guest[] = {
	0xb8, 0x00, 0x20, 0x8e, 0xd8, 0xb9, 0xc8, 0x00, 0x89, 0x0e, 0x00, 0x01,
	0xe2, 0xfa, 0xb0, 0x55, 0xe6, 0x70, 0xb0, 0xaa, 0xe6, 0x72, 0xf4,
};

/*
 * .code16 at 0x1000, with an in-kernel irqchip: IVT[0x40] = handler; sti;
 * 1: hlt; jmp 1b.  handler: outb $0x42,$0x60 (an ioeventfd: no exit);
 * outb $0x42,$0x61 (the client's exit: done); cli; hlt.
 */
static const uint8_t roundtrip_guest[] = {
	0x31, 0xc0, 0x8e, 0xd8, 0xc7, 0x06, 0x00, 0x01, 0x14, 0x10, 0xc7, 0x06,
	0x02, 0x01, 0x00, 0x00, 0xfb, 0xf4, 0xeb, 0xfd, 0xb0, 0x42, 0xe6, 0x60,
	0xe6, 0x61, 0xfa, 0xf4, 0xeb, 0xfd,
};
#define RT_GSI 24
#define RT_VECTOR 0x40

struct evm {
	int sys, fd, vcpu;
	uint8_t *mem;
	struct kvm_run *run;
};

static void sleep_ms(int ms);
static void evm_create_irq(struct evm *m, const char *dev, const uint8_t *code, size_t len,
			   bool irqchip);

static void evm_create(struct evm *m, const char *dev, const uint8_t *code, size_t len)
{
	evm_create_irq(m, dev, code, len, false);
}

static void evm_create_irq(struct evm *m, const char *dev, const uint8_t *code, size_t len,
			   bool irqchip)
{
	struct kvm_userspace_memory_region mr;
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	int run_size;

	m->sys = open(dev, O_RDWR | O_CLOEXEC);
	if (m->sys < 0)
		die("open %s: %s", dev, strerror(errno));
	m->fd = IOC(m->sys, KVM_CREATE_VM, 0);
	m->mem = mmap(NULL, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m->mem == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	memcpy(m->mem + CODE, code, len);
	mr = (struct kvm_userspace_memory_region){ .slot = 0, .memory_size = MEM_SIZE,
						   .userspace_addr = (uintptr_t)m->mem };
	IOC(m->fd, KVM_SET_USER_MEMORY_REGION, &mr);
	if (irqchip)
		IOC(m->fd, KVM_CREATE_IRQCHIP, 0);
	m->vcpu = IOC(m->fd, KVM_CREATE_VCPU, 0);
	run_size = IOC(m->sys, KVM_GET_VCPU_MMAP_SIZE, 0);
	m->run = mmap(NULL, run_size, PROT_READ | PROT_WRITE, MAP_SHARED, m->vcpu, 0);
	if (m->run == MAP_FAILED)
		die("mmap vcpu: %s", strerror(errno));
	IOC(m->vcpu, KVM_GET_SREGS, &sregs);
	sregs.cs.base = 0;
	sregs.cs.selector = 0;
	IOC(m->vcpu, KVM_SET_SREGS, &sregs);
	memset(&regs, 0, sizeof(regs));
	regs.rip = CODE;
	regs.rflags = 2;
	IOC(m->vcpu, KVM_SET_REGS, &regs);
}

static void evm_destroy(struct evm *m)
{
	close(m->vcpu);
	close(m->fd);
	close(m->sys);
	munmap(m->mem, MEM_SIZE);
}

static int ioev(int vm, int fd, uint64_t addr, uint32_t len, uint32_t flags, uint64_t dm)
{
	struct kvm_ioeventfd a = { .datamatch = dm, .addr = addr, .len = len, .fd = fd,
				   .flags = flags };

	return ioctl(vm, KVM_IOEVENTFD, &a);
}

static int irqfd(int vm, int fd, uint32_t gsi, uint32_t flags, int rfd)
{
	struct kvm_irqfd a = { .fd = fd, .gsi = gsi, .flags = flags, .resamplefd = rfd };

	return ioctl(vm, KVM_IRQFD, &a);
}

static uint64_t take(int efd)
{
	uint64_t v = 0;

	return read(efd, &v, 8) == 8 ? v : 0;
}

static int zone(int vm, unsigned long req, uint64_t addr, uint32_t size, uint32_t pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return ioctl(vm, req, &z);
}

/* print and drain the ring at page KVM_COALESCED_MMIO_PAGE_OFFSET of the vCPU mapping */
static void drain_ring(const char *what, struct kvm_run *run)
{
	struct kvm_coalesced_mmio_ring *ring =
		(void *)((char *)run + KVM_COALESCED_MMIO_PAGE_OFFSET * 4096);
	const uint32_t max = (4096 - sizeof(*ring)) / sizeof(ring->coalesced_mmio[0]);
	uint32_t first = ring->first, last = __atomic_load_n(&ring->last, __ATOMIC_ACQUIRE);
	uint32_t n = (last + max - first) % max;

	printf("%s ring n=%u", what, n);
	for (uint32_t i = first; i != last; i = (i + 1) % max) {
		struct kvm_coalesced_mmio *e = &ring->coalesced_mmio[i];
		uint64_t d = 0;

		/* every entry only if few; else the two ends */
		if (n > 4 && i != first && (i + 1) % max != last)
			continue;
		memcpy(&d, e->data, e->len < 8 ? e->len : 8);
		printf(" [%s %#llx len=%u data=%#llx]", e->pio ? "pio" : "mmio",
		       (unsigned long long)e->phys_addr, e->len, (unsigned long long)d);
	}
	printf("\n");
	__atomic_store_n(&ring->first, last, __ATOMIC_RELEASE);
}

static void coalesce(const char *dev)
{
	struct evm m;

	evm_create(&m, dev, coalesce_guest, sizeof(coalesce_guest));
	SHOW("coalesce.pio2", zone(m.fd, KVM_REGISTER_COALESCED_MMIO, 0x70, 2, 2));
	SHOW("coalesce.unreg_pio2", zone(m.fd, KVM_UNREGISTER_COALESCED_MMIO, 0x70, 2, 2));
	SHOW("coalesce.unreg_none", zone(m.fd, KVM_UNREGISTER_COALESCED_MMIO, 0x70, 2, 0));
	SHOW("coalesce.reg_size0", zone(m.fd, KVM_REGISTER_COALESCED_MMIO, 0x90000, 0, 0));
	SHOW("coalesce.reg_mmio", zone(m.fd, KVM_REGISTER_COALESCED_MMIO, 0x20000, 0x1000, 0));
	SHOW("coalesce.reg_pio", zone(m.fd, KVM_REGISTER_COALESCED_MMIO, 0x70, 2, 1));
	/* a zone removed by a range inside it, then the real one again */
	SHOW("coalesce.reg_tmp", zone(m.fd, KVM_REGISTER_COALESCED_MMIO, 0x30000, 0x100, 0));
	SHOW("coalesce.unreg_inner", zone(m.fd, KVM_UNREGISTER_COALESCED_MMIO, 0x30010, 4, 0));
	for (int exits = 0; exits < 10; exits++) {
		struct kvm_run *r = m.run;

		if (ioctl(m.vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN: %s", strerror(errno));
		if (r->exit_reason == KVM_EXIT_IO) {
			printf("coalesce.exit IO port=%#x data=%#x\n", r->io.port,
			       *((uint8_t *)r + r->io.data_offset));
		} else if (r->exit_reason == KVM_EXIT_MMIO) {
			uint64_t d = 0;

			memcpy(&d, r->mmio.data, r->mmio.len);
			printf("coalesce.exit MMIO gpa=%#llx len=%u data=%#llx\n",
			       (unsigned long long)r->mmio.phys_addr, r->mmio.len,
			       (unsigned long long)d);
		} else {
			printf("coalesce.exit %s\n", exit_name(r->exit_reason));
		}
		drain_ring("coalesce", r);
		if (r->exit_reason != KVM_EXIT_IO && r->exit_reason != KVM_EXIT_MMIO)
			break;
	}
	evm_destroy(&m);
}

static void caps(int sys)
{
	static const struct { const char *name; int cap; } c[] = {
		{ "IRQFD", KVM_CAP_IRQFD }, { "IRQFD_RESAMPLE", KVM_CAP_IRQFD_RESAMPLE },
		{ "IOEVENTFD", KVM_CAP_IOEVENTFD },
		{ "IOEVENTFD_NO_LENGTH", KVM_CAP_IOEVENTFD_NO_LENGTH },
		{ "IOEVENTFD_ANY_LENGTH", KVM_CAP_IOEVENTFD_ANY_LENGTH },
		{ "COALESCED_MMIO", KVM_CAP_COALESCED_MMIO },
		{ "COALESCED_PIO", KVM_CAP_COALESCED_PIO },
	};

	for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++)
		printf("cap.%s = %d\n", c[i].name, ioctl(sys, KVM_CHECK_EXTENSION, c[i].cap));
}

static void errno_tables(const char *dev)
{
	struct evm m;
	int e = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC), e2 = eventfd(0, EFD_CLOEXEC), p[2];
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH, PIO = KVM_IOEVENTFD_FLAG_PIO,
		       DE = KVM_IOEVENTFD_FLAG_DEASSIGN;

	if (pipe2(p, O_CLOEXEC))
		die("pipe: %s", strerror(errno));
	evm_create(&m, dev, spin_guest, sizeof(spin_guest));
	caps(m.sys);
	SHOW("ioev.len3", ioev(m.fd, e, 0x1000, 3, 0, 0));
	SHOW("ioev.len16", ioev(m.fd, e, 0x1000, 16, 0, 0));
	SHOW("ioev.wrap", ioev(m.fd, e, ~0ULL - 3, 4, 0, 0));
	SHOW("ioev.top", ioev(m.fd, e, ~0ULL - 4, 4, 0, 0));
	SHOW("ioev.flag20", ioev(m.fd, e, 0x2000, 4, 0x20, 0));
	SHOW("ioev.flag10", ioev(m.fd, e, 0x2000, 4, 0x10, 0));
	SHOW("ioev.ccw", ioev(m.fd, e, 0x2000, 4, KVM_IOEVENTFD_FLAG_VIRTIO_CCW_NOTIFY, 0));
	SHOW("ioev.dm_len0", ioev(m.fd, e, 0x3000, 0, DM, 0));
	SHOW("ioev.badfd", ioev(m.fd, -1, 0x3000, 4, 0, 0));
	SHOW("ioev.badfd_len3", ioev(m.fd, -1, 0x3000, 3, 0, 0));
	SHOW("ioev.pipe", ioev(m.fd, p[0], 0x3000, 4, 0, 0));
	SHOW("ioev.pio_dm1", ioev(m.fd, e, 0x100, 2, PIO | DM, 1));
	SHOW("ioev.pio_dm1_again", ioev(m.fd, e2, 0x100, 2, PIO | DM, 1));
	SHOW("ioev.pio_dm2", ioev(m.fd, e2, 0x100, 2, PIO | DM, 2));
	SHOW("ioev.pio_wild", ioev(m.fd, e2, 0x100, 2, PIO, 0));
	SHOW("ioev.pio_len4", ioev(m.fd, e2, 0x100, 4, PIO, 0));
	SHOW("ioev.pio_len0", ioev(m.fd, e2, 0x100, 0, PIO, 0));
	SHOW("ioev.mmio_len0", ioev(m.fd, e2, 0x100, 0, 0, 0));
	SHOW("ioev.mmio_len1", ioev(m.fd, e2, 0x100, 1, 0, 0));
	SHOW("ioev.de_wrong_fd", ioev(m.fd, e2, 0x100, 2, PIO | DM | DE, 1));
	SHOW("ioev.de_wrong_dm", ioev(m.fd, e, 0x100, 2, PIO | DM | DE, 3));
	SHOW("ioev.de_wild", ioev(m.fd, e, 0x100, 2, PIO | DE, 1));
	SHOW("ioev.de_len3", ioev(m.fd, e, 0x100, 3, PIO | DE, 0));
	SHOW("ioev.de_badfd", ioev(m.fd, -1, 0x100, 2, PIO | DM | DE, 1));
	SHOW("ioev.de_pipe", ioev(m.fd, p[0], 0x100, 2, PIO | DM | DE, 1));
	SHOW("ioev.de", ioev(m.fd, e, 0x100, 2, PIO | DM | DE, 1));
	SHOW("ioev.de_again", ioev(m.fd, e, 0x100, 2, PIO | DM | DE, 1));
	SHOW("ioev.on_vcpu_fd", ioev(m.vcpu, e, 0x100, 2, PIO, 0));

	/* KVM_IRQFD with no irqchip */
	SHOW("irqfd.no_irqchip", irqfd(m.fd, e, 5, 0, -1));
	SHOW("irqfd.no_irqchip_badfd", irqfd(m.fd, -1, 5, 0, -1));
	SHOW("irqfd.no_irqchip_resample", irqfd(m.fd, e, 5, KVM_IRQFD_FLAG_RESAMPLE, e2));
	SHOW("irqfd.flags4", irqfd(m.fd, e, 5, 4, -1));
	SHOW("irqfd.deassign_unknown", irqfd(m.fd, e, 5, KVM_IRQFD_FLAG_DEASSIGN, -1));
	SHOW("irqfd.deassign_badfd", irqfd(m.fd, -1, 5, KVM_IRQFD_FLAG_DEASSIGN, -1));
	SHOW("irqfd.deassign_pipe", irqfd(m.fd, p[0], 5, KVM_IRQFD_FLAG_DEASSIGN, -1));
	evm_destroy(&m);
	close(e);
	close(e2);
	close(p[0]);
	close(p[1]);
}

static void notify(const char *dev)
{
	struct evm m;
	int port50 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int mmio0 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int port52 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int mmio10 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int mmio20 = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	const uint32_t DM = KVM_IOEVENTFD_FLAG_DATAMATCH, PIO = KVM_IOEVENTFD_FLAG_PIO;

	evm_create(&m, dev, notify_guest, sizeof(notify_guest));
	SHOW("notify.assign_port50", ioev(m.fd, port50, 0x50, 1, PIO, 0));
	SHOW("notify.assign_mmio0", ioev(m.fd, mmio0, 0x20000, 4, 0, 0));
	SHOW("notify.assign_port52", ioev(m.fd, port52, 0x52, 2, PIO | DM, 0x1234));
	SHOW("notify.assign_mmio10", ioev(m.fd, mmio10, 0x20010, 4, DM, 7));
	SHOW("notify.assign_mmio20", ioev(m.fd, mmio20, 0x20020, 0, 0, 0));
	for (int exits = 0; exits < 10; exits++) {
		struct kvm_run *r = m.run;

		if (ioctl(m.vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN: %s", strerror(errno));
		if (r->exit_reason == KVM_EXIT_IO) {
			uint32_t d = 0;

			memcpy(&d, (uint8_t *)r + r->io.data_offset, r->io.size);
			printf("notify.exit IO %s port=%#x size=%u data=%#x\n",
			       r->io.direction == KVM_EXIT_IO_OUT ? "out" : "in", r->io.port,
			       r->io.size, d);
		} else if (r->exit_reason == KVM_EXIT_MMIO) {
			uint64_t d = 0;

			memcpy(&d, r->mmio.data, r->mmio.len);
			printf("notify.exit MMIO %s gpa=%#llx len=%u data=%#llx\n",
			       r->mmio.is_write ? "write" : "read",
			       (unsigned long long)r->mmio.phys_addr, r->mmio.len,
			       (unsigned long long)d);
		} else {
			printf("notify.exit %s\n", exit_name(r->exit_reason));
			break;
		}
	}
	printf("notify.counts port50=%llu mmio0=%llu port52=%llu mmio10=%llu mmio20=%llu\n",
	       (unsigned long long)take(port50), (unsigned long long)take(mmio0),
	       (unsigned long long)take(port52), (unsigned long long)take(mmio10),
	       (unsigned long long)take(mmio20));
	/* deassigned: the next write exits again */
	SHOW("notify.deassign_port50", ioev(m.fd, port50, 0x50, 1, PIO | KVM_IOEVENTFD_FLAG_DEASSIGN, 0));
	evm_destroy(&m);
	close(port50); close(mmio0); close(port52); close(mmio10); close(mmio20);
}

/* ---- (c) a guest interrupted through an irqfd answers through an ioeventfd */
struct rt_runner { struct evm *m; unsigned reason, port; int ret, err; atomic_bool done; };

static void *rt_thread(void *arg)
{
	struct rt_runner *r = arg;

	r->ret = ioctl(r->m->vcpu, KVM_RUN, 0);
	r->err = errno;
	r->reason = r->m->run->exit_reason;
	r->port = r->m->run->io.port;
	atomic_store(&r->done, true);
	return NULL;
}

static void irqfd_roundtrip(const char *dev)
{
	struct { struct kvm_irq_routing h; struct kvm_irq_routing_entry e[1]; } rt = {
		.h.nr = 1,
		.e[0] = { .gsi = RT_GSI, .type = KVM_IRQ_ROUTING_MSI,
			  .u.msi = { .address_lo = 0xfee00000, .data = RT_VECTOR } },
	};
	int notify = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int irq = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	int rs = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	struct rt_runner r = { 0 };
	struct kvm_lapic_state lapic;
	struct pollfd p = { .fd = notify, .events = POLLIN };
	uint64_t one = 1;
	struct evm m;

	evm_create_irq(&m, dev, roundtrip_guest, sizeof(roundtrip_guest), true);
	r.m = &m;
	/* irqfd rules with an irqchip */
	SHOW("roundtrip.irqfd", irqfd(m.fd, irq, RT_GSI, 0, -1));
	SHOW("roundtrip.irqfd_again", irqfd(m.fd, irq, RT_GSI + 1, 0, -1));
	SHOW("roundtrip.resample", irqfd(m.fd, rs, 5, KVM_IRQFD_FLAG_RESAMPLE, notify));
	SHOW("roundtrip.resample_deassign", irqfd(m.fd, rs, 5, KVM_IRQFD_FLAG_DEASSIGN, -1));
	SHOW("roundtrip.resample_badfd", irqfd(m.fd, rs, 5, KVM_IRQFD_FLAG_RESAMPLE, -1));
	SHOW("roundtrip.routing", ioctl(m.fd, KVM_SET_GSI_ROUTING, &rt));
	SHOW("roundtrip.ioeventfd", ioev(m.fd, notify, 0x60, 1, KVM_IOEVENTFD_FLAG_PIO, 0));
	/* the LAPIC comes out of reset software-disabled: set SVR.APIC_ENABLE */
	IOC(m.vcpu, KVM_GET_LAPIC, &lapic);
	lapic.regs[0xf1] |= 1;
	IOC(m.vcpu, KVM_SET_LAPIC, &lapic);

	pthread_create(&(pthread_t){ 0 }, NULL, rt_thread, &r);
	sleep_ms(100);
	printf("roundtrip.before_irq exited=%d\n", atomic_load(&r.done));
	if (write(irq, &one, 8) != 8)
		die("write irqfd: %s", strerror(errno));
	errno = 0;
	int n = poll(&p, 1, 5000);
	printf("roundtrip.ioeventfd_signalled=%d count=%llu\n", n,
	       (unsigned long long)take(notify));
	for (int i = 0; i < 500 && !atomic_load(&r.done); i++)
		sleep_ms(10);
	if (!atomic_load(&r.done))
		die("roundtrip: the guest's OUT to port 0x61 never reached the client");
	printf("roundtrip.first_exit ret=%d exit=%s port=%#x\n", r.ret < 0 ? -1 : r.ret,
	       exit_name(r.reason), r.reason == KVM_EXIT_IO ? r.port : 0);
	evm_destroy(&m);
	close(notify);
	close(irq);
	close(rs);
}

/* ---- KVM_SET_SIGNAL_MASK */
static atomic_int usr1_handled, usr2_handled;
static atomic_bool usr1_sent;

static void on_usr1(int sig) { (void)sig; atomic_fetch_add(&usr1_handled, 1); }
static void on_usr2(int sig) { (void)sig; atomic_fetch_add(&usr2_handled, 1); }

static int set_mask(int vcpu, const sigset_t *s)
{
	/* sigset follows len directly: offset 4, not 8-aligned */
	uint8_t a[sizeof(struct kvm_signal_mask) + 8];
	uint32_t len = 8;

	memcpy(a, &len, 4);
	memcpy(a + offsetof(struct kvm_signal_mask, sigset), s, 8);
	return ioctl(vcpu, KVM_SET_SIGNAL_MASK, a);
}

/* a pending SIGUSR1 (blocked by the thread) eaten with sigtimedwait: 1 or 0 */
static int eat_usr1(void)
{
	struct timespec zero = { 0 };
	sigset_t s;

	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	return sigtimedwait(&s, NULL, &zero) == SIGUSR1;
}

struct runner {
	struct evm *m;
	pthread_t tid;
	int ret, err, eaten;
	unsigned reason;
	bool sent_before;
	atomic_bool done;
};

static void *run_thread(void *arg)
{
	struct runner *r = arg;
	sigset_t s;

	/* the thread's own mask blocks SIGUSR1; the vCPU's opens it and blocks SIGUSR2 */
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_SETMASK, &s, NULL);
	r->ret = ioctl(r->m->vcpu, KVM_RUN, 0);
	r->err = errno;
	r->reason = r->m->run->exit_reason;
	r->sent_before = atomic_load(&usr1_sent);
	/* KVM leaves SIGUSR1 pending (the thread blocks it); the shim runs its handler */
	r->eaten = eat_usr1();
	atomic_store(&r->done, true);
	return NULL;
}

static void sleep_ms(int ms)
{
	struct timespec t = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&t, &t) && errno == EINTR)
		;
}

static void signal_mask(const char *dev)
{
	struct sigaction sa = { 0 };
	struct evm m;
	struct runner r = { .m = &m };
	struct kvm_signal_mask bad = { .len = 4 };
	sigset_t vset, s, old;
	bool ended;

	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	sa.sa_handler = on_usr2;
	sigaction(SIGUSR2, &sa, NULL);
	evm_create(&m, dev, spin_guest, sizeof(spin_guest));
	SHOW("sigmask.null", ioctl(m.vcpu, KVM_SET_SIGNAL_MASK, NULL));
	SHOW("sigmask.len4", ioctl(m.vcpu, KVM_SET_SIGNAL_MASK, &bad));
	bad.len = 128;
	SHOW("sigmask.len128", ioctl(m.vcpu, KVM_SET_SIGNAL_MASK, &bad));
	SHOW("sigmask.efault", ioctl(m.vcpu, KVM_SET_SIGNAL_MASK, (void *)8));
	SHOW("sigmask.on_vm_fd", ioctl(m.fd, KVM_SET_SIGNAL_MASK, &bad));
	sigemptyset(&vset);
	sigaddset(&vset, SIGUSR2);
	SHOW("sigmask.set", set_mask(m.vcpu, &vset));

	/* a spinning guest: SIGUSR2, which the vCPU's mask blocks, does not end the run */
	pthread_create(&r.tid, NULL, run_thread, &r);
	sleep_ms(100);
	pthread_kill(r.tid, SIGUSR2);
	sleep_ms(100);
	ended = atomic_load(&r.done);
	printf("sigmask.blocked_signal ends_run=%d\n", ended);
	if (ended) {
		pthread_join(r.tid, NULL);
		r = (struct runner){ .m = &m };
		pthread_create(&r.tid, NULL, run_thread, &r);
		sleep_ms(100);
	}
	/* SIGUSR1, which it opens, ends it with EINTR / KVM_EXIT_INTR */
	atomic_store(&usr1_sent, true);
	pthread_kill(r.tid, SIGUSR1);
	for (int i = 0; i < 300 && !atomic_load(&r.done); i++)
		sleep_ms(10);
	if (!atomic_load(&r.done))
		die("sigmask: SIGUSR1, which the vCPU's mask opens, did not end KVM_RUN in 3 s");
	pthread_join(r.tid, NULL);
	printf("sigmask.open_signal ret=%d errno=%s exit=%s after_signal=%d usr1_seen=%d "
	       "usr2_handled=%d\n", r.ret < 0 ? -1 : r.ret, ename(r.ret < 0 ? r.err : 0),
	       exit_name(r.reason), r.sent_before, atomic_load(&usr1_handled) + r.eaten,
	       atomic_load(&usr2_handled));

	/* a pending signal the vCPU's mask opens ends the next run before the guest runs on */
	sigemptyset(&s);
	sigaddset(&s, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &s, &old);
	raise(SIGUSR1);
	errno = 0;
	int ret = ioctl(m.vcpu, KVM_RUN, 0);
	printf("sigmask.pending ret=%d errno=%s exit=%s still_pending=%d\n", ret < 0 ? -1 : ret,
	       ename(ret < 0 ? errno : 0), exit_name(m.run->exit_reason), eat_usr1());
	pthread_sigmask(SIG_SETMASK, &old, NULL);

	/* cleared: the pending signal no longer matters to KVM_RUN's mask */
	SHOW("sigmask.clear", ioctl(m.vcpu, KVM_SET_SIGNAL_MASK, NULL));
	evm_destroy(&m);
}

int cmd_evfd(const char *dev)
{
	errno_tables(dev);
	notify(dev);
	coalesce(dev);
	irqfd_roundtrip(dev);
	signal_mask(dev);
	printf("result: PASS\n");
	return 0;
}
