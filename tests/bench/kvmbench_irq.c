/* SPDX-License-Identifier: MIT */
/*
 * Interrupt benchmarks: they need an in-kernel (in-daemon) irqchip and print
 * a skip row naming what failed when the device has none, so they start
 * measuring by themselves once it exists.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvmbench.h"
#include "bench.h"

/* a VM with an irqchip, or a skip row for each of rows[] */
static bool irq_vm(struct bvm *vm, const char *row)
{
	int r = bvm_create(vm, true);

	if (r) {
		emit_skip(row, "no irqchip: KVM_CREATE_IRQCHIP: %s", ename(-r));
		return false;
	}
	return true;
}

int bench_timer(uint32_t n)
{
	struct bvm vm;
	struct bvcpu v;
	double t;

	if (!irq_vm(&vm, "timer"))
		return 0;
	bvcpu_create(&vm, &v, 0, BG_TIMER, n, 0);
	bvcpu_run(&v);
	t = v.elapsed;
	emit("timer", t / n * 1e6, "us/irq", "time", n);
	bvcpu_destroy(&v);
	bvm_destroy(&vm);
	return 0;
}

static void *run_thread(void *arg)
{
	bvcpu_run(arg);
	return NULL;
}

int bench_ipi(uint32_t n)
{
	struct kvm_mp_state mp = { .mp_state = KVM_MP_STATE_RUNNABLE };
	struct bvm vm;
	struct bvcpu v0, v1;
	pthread_t th;
	double t;

	if (!irq_vm(&vm, "ipi"))
		return 0;
	bvcpu_create(&vm, &v0, 0, BG_IPI, n, 0);
	bvcpu_create(&vm, &v1, 1, BG_IPI, n, 0);
	/* with an irqchip an AP waits for INIT/SIPI; this one starts at once */
	IOC(v1.fd, KVM_SET_MP_STATE, &mp);
	if (pthread_create(&th, NULL, run_thread, &v1))
		die("pthread_create");
	bvcpu_run(&v0);
	t = v0.elapsed;
	pthread_join(th, NULL);
	emit("ipi", t / n * 1e6, "us/roundtrip", "time", n);
	bvcpu_destroy(&v1);
	bvcpu_destroy(&v0);
	bvm_destroy(&vm);
	return 0;
}

struct responder {
	int efd, ifd;
	atomic_bool stop;
};

/* the device model's thread: every doorbell is answered with an interrupt */
static void *respond(void *arg)
{
	struct responder *r = arg;
	uint64_t val, one = 1;

	while (read(r->efd, &val, sizeof(val)) == sizeof(val) && !atomic_load(&r->stop))
		if (write(r->ifd, &one, sizeof(one)) != sizeof(one))
			die("irqfd write: %s", strerror(errno));
	return NULL;
}

/* ioeventfd at BMMIO_DOORBELL, irqfd on an MSI route to BVEC_COUNT on APIC 0 */
static int doorbell_wire(struct bvm *vm, struct responder *r)
{
	struct {
		struct kvm_irq_routing h;
		struct kvm_irq_routing_entry e[1];
	} rt;
	struct kvm_ioeventfd io;
	struct kvm_irqfd irqfd;
	const unsigned gsi = 24;

	r->efd = eventfd(0, EFD_CLOEXEC);
	r->ifd = eventfd(0, EFD_CLOEXEC);
	if (r->efd < 0 || r->ifd < 0)
		die("eventfd: %s", strerror(errno));
	memset(&io, 0, sizeof(io));
	io.addr = BMMIO_DOORBELL;
	io.len = 4;
	io.fd = r->efd;
	if (ioctl(vm->fd, KVM_IOEVENTFD, &io) < 0) {
		emit_skip("doorbell", "KVM_IOEVENTFD: %s", ename(errno));
		return -1;
	}
	memset(&rt, 0, sizeof(rt));
	rt.h.nr = 1;
	rt.e[0].gsi = gsi;
	rt.e[0].type = KVM_IRQ_ROUTING_MSI;
	rt.e[0].u.msi.address_lo = BLAPIC;      /* destination APIC 0, physical */
	rt.e[0].u.msi.data = BVEC_COUNT;        /* fixed, edge */
	if (ioctl(vm->fd, KVM_SET_GSI_ROUTING, &rt) < 0) {
		emit_skip("doorbell", "KVM_SET_GSI_ROUTING: %s", ename(errno));
		return -1;
	}
	memset(&irqfd, 0, sizeof(irqfd));
	irqfd.fd = r->ifd;
	irqfd.gsi = gsi;
	if (ioctl(vm->fd, KVM_IRQFD, &irqfd) < 0) {
		emit_skip("doorbell", "KVM_IRQFD: %s", ename(errno));
		return -1;
	}
	return 0;
}

int bench_doorbell(uint32_t n)
{
	struct responder r = { .efd = -1, .ifd = -1 };
	uint64_t one = 1;
	struct bvm vm;
	struct bvcpu v;
	pthread_t th;
	double t;

	if (!irq_vm(&vm, "doorbell"))
		return 0;
	if (doorbell_wire(&vm, &r) == 0) {
		bvcpu_create(&vm, &v, 0, BG_DOORBELL, n, 0);
		if (pthread_create(&th, NULL, respond, &r))
			die("pthread_create");
		bvcpu_run(&v);
		t = v.elapsed;
		atomic_store(&r.stop, true);
		if (write(r.efd, &one, sizeof(one)) != sizeof(one))
			die("eventfd write: %s", strerror(errno));
		pthread_join(th, NULL);
		emit("doorbell", n / t, "roundtrips/s", "rate", n);
		bvcpu_destroy(&v);
	}
	close(r.efd);
	close(r.ifd);
	bvm_destroy(&vm);
	return 0;
}
