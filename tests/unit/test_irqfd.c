/* SPDX-License-Identifier: MIT */
/*
 * KVM_IRQFD (cused/irq/irqfd.c) against Linux 6.1 virt/kvm/eventfd.c
 * (kvm_irqfd, kvm_irqfd_assign, kvm_irqfd_deassign, irqfd_inject,
 * irqfd_resampler_ack/shutdown) and x86 kvm_arch_irqfd_allowed, with a
 * fake sink that records every line change the irqfd thread makes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <cmocka.h>
#include "cused/irq/irqfd.h"
#include "cused/irq/irq_line.h"
#include "cused/irq/routing.h"
#include "cused/irq/irqchip.h"
#include "cused/irq/ioapic.h"
#include "irq_fake.h"

struct change { uint32_t gsi; unsigned source; bool level; };

struct fake_sink {
	pthread_mutex_t m;
	pthread_cond_t cv;
	struct change log[64];
	unsigned n;
	unsigned slow_ms;          /* set_irq takes this long */
	atomic_bool in_cb;
};

static int fake_set_irq(void *ctx, uint32_t gsi, unsigned source, bool level)
{
	struct fake_sink *f = ctx;

	atomic_store(&f->in_cb, true);
	if (f->slow_ms)
		usleep(f->slow_ms * 1000);
	pthread_mutex_lock(&f->m);
	if (f->n < 64)
		f->log[f->n++] = (struct change){ gsi, source, level };
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->m);
	atomic_store(&f->in_cb, false);
	return 1;
}

/* wait (at most 5 s) until the sink has seen n changes */
static bool wait_changes(struct fake_sink *f, unsigned n)
{
	struct timespec t;
	bool ok;

	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_sec += 5;
	pthread_mutex_lock(&f->m);
	while (f->n < n && pthread_cond_timedwait(&f->cv, &f->m, &t) == 0)
		;
	ok = f->n >= n;
	pthread_mutex_unlock(&f->m);
	return ok;
}

static struct fake_sink *fake_new(void)
{
	struct fake_sink *f = calloc(1, sizeof(*f));

	pthread_mutex_init(&f->m, NULL);
	pthread_cond_init(&f->cv, NULL);
	return f;
}

static void set_sink(struct irqfd_set *s, struct fake_sink *f, bool resample)
{
	struct irqfd_sink k = { .set_irq = fake_set_irq, .ctx = f, .resample = resample };

	irqfd_set_sink(s, &k);
}

/* KVM_IRQFD on dups of efd/rfd (the set consumes its fds) */
static int irqfd(struct irqfd_set *s, int efd, uint32_t gsi, uint32_t flags, int rfd)
{
	struct kvm_irqfd a = { .fd = efd, .gsi = gsi, .flags = flags, .resamplefd = rfd };

	return irqfd_ioctl(s, &a, efd < 0 ? -EBADF : dup(efd),
			   (flags & KVM_IRQFD_FLAG_RESAMPLE) ? (rfd < 0 ? -EBADF : dup(rfd)) : -EBADF);
}

static void signal_efd(int efd)
{
	uint64_t one = 1;

	assert_int_equal(write(efd, &one, 8), 8);
}

static void test_no_irqchip(void **state)
{
	struct irqfd_set *s;
	int e = eventfd(0, 0);

	assert_int_equal(irqfd_set_create(&s), 0);
	/* kvm_arch_irqfd_allowed() first: EINVAL even for a bad fd */
	assert_int_equal(irqfd(s, e, 5, 0, -1), -EINVAL);
	assert_int_equal(irqfd(s, -1, 5, 0, -1), -EINVAL);
	/* flags come before everything */
	assert_int_equal(irqfd(s, e, 5, 4, -1), -EINVAL);
	/* deassign does not look at the irqchip, only at the fd */
	assert_int_equal(irqfd(s, e, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_int_equal(irqfd(s, -1, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), -EBADF);
	irqfd_set_destroy(s);
	close(e);
}

static void test_assign_rules(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int e = eventfd(0, 0), e2 = eventfd(0, 0), r = eventfd(0, 0), p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, false);
	assert_int_equal(irqfd(s, -1, 5, 0, -1), -EBADF);
	assert_int_equal(irqfd(s, p[0], 5, 0, -1), -EINVAL);
	/* a split irqchip: irqfds, but no resampling */
	assert_int_equal(irqfd(s, e, 5, KVM_IRQFD_FLAG_RESAMPLE, r), -EINVAL);
	assert_int_equal(irqfd(s, e, 5, 0, -1), 0);
	assert_int_equal(irqfd_count(s), 1);
	/* one eventfd, one irqfd: another GSI or a dup of it is EBUSY */
	assert_int_equal(irqfd(s, e, 6, 0, -1), -EBUSY);
	int d = dup(e);
	assert_int_equal(irqfd(s, d, 5, 0, -1), -EBUSY);
	/* another eventfd on the same GSI is fine */
	assert_int_equal(irqfd(s, e2, 5, 0, -1), 0);
	/* deassign needs the GSI too; a dup names the same eventfd */
	assert_int_equal(irqfd(s, e, 6, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_int_equal(irqfd_count(s), 2);
	assert_int_equal(irqfd(s, d, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_int_equal(irqfd_count(s), 1);
	assert_int_equal(irqfd(s, e, 6, 0, -1), 0);
	assert_int_equal(irqfd(s, p[0], 6, KVM_IRQFD_FLAG_DEASSIGN, -1), -EINVAL);
	irqfd_set_destroy(s);
	free(f);
	close(d); close(e); close(e2); close(r); close(p[0]); close(p[1]);
}

static void test_resample_rules(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int e = eventfd(0, 0), r = eventfd(0, 0), p[2];

	assert_int_equal(pipe(p), 0);
	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, true);
	assert_int_equal(irqfd(s, e, 5, KVM_IRQFD_FLAG_RESAMPLE, -1), -EBADF);
	assert_int_equal(irqfd(s, e, 5, KVM_IRQFD_FLAG_RESAMPLE, p[1]), -EINVAL);
	/* without RESAMPLE the resamplefd is not looked at */
	assert_int_equal(irqfd(s, e, 5, 0, -1), 0);
	assert_int_equal(irqfd(s, e, 5, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_int_equal(irqfd(s, e, 5, KVM_IRQFD_FLAG_RESAMPLE, r), 0);
	irqfd_set_destroy(s);
	free(f);
	close(e); close(r); close(p[0]); close(p[1]);
}

static void test_edge_delivery(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int e = eventfd(0, EFD_NONBLOCK), early = eventfd(0, EFD_NONBLOCK);
	uint64_t v;

	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, true);
	/* signalled before the assign: still delivered (KVM polls once at assign) */
	signal_efd(early);
	assert_int_equal(irqfd(s, early, 3, 0, -1), 0);
	assert_true(wait_changes(f, 2));
	assert_int_equal(irqfd(s, e, 9, 0, -1), 0);
	signal_efd(e);
	assert_true(wait_changes(f, 4));
	/* an edge: up then down, from the userspace source */
	struct change want[4] = {
		{ 3, IRQ_SRC_USERSPACE, true }, { 3, IRQ_SRC_USERSPACE, false },
		{ 9, IRQ_SRC_USERSPACE, true }, { 9, IRQ_SRC_USERSPACE, false },
	};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(f->log[i].gsi, want[i].gsi);
		assert_int_equal(f->log[i].source, want[i].source);
		assert_int_equal(f->log[i].level, want[i].level);
	}
	/* the count was taken */
	assert_int_equal(read(e, &v, 8), -1);
	assert_int_equal(errno, EAGAIN);
	irqfd_set_destroy(s);
	free(f);
	close(e); close(early);
}

static void test_deassign_stops_delivery(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int a = eventfd(0, EFD_NONBLOCK), b = eventfd(0, EFD_NONBLOCK);

	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, false);
	assert_int_equal(irqfd(s, a, 1, 0, -1), 0);
	assert_int_equal(irqfd(s, a, 1, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	signal_efd(a);
	/* b's event is a marker: a's would have come first or with it */
	assert_int_equal(irqfd(s, b, 2, 0, -1), 0);
	signal_efd(b);
	assert_true(wait_changes(f, 2));
	usleep(20000);
	assert_int_equal(f->n, 2);
	assert_int_equal(f->log[0].gsi, 2);
	irqfd_set_destroy(s);
	free(f);
	close(a); close(b);
}

/* deassign returns only once the injection in progress for that fd is done */
static void test_deassign_waits_for_callback(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int a = eventfd(0, EFD_NONBLOCK);

	f->slow_ms = 100;
	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, false);
	assert_int_equal(irqfd(s, a, 1, 0, -1), 0);
	signal_efd(a);
	while (!atomic_load(&f->in_cb))
		usleep(1000);
	assert_int_equal(irqfd(s, a, 1, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_false(atomic_load(&f->in_cb));
	assert_int_equal(f->n, 2);
	irqfd_set_destroy(s);
	free(f);
	close(a);
}

static void test_resample_delivery(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int e = eventfd(0, EFD_NONBLOCK), r = eventfd(0, EFD_NONBLOCK);
	int e2 = eventfd(0, EFD_NONBLOCK), r2 = eventfd(0, EFD_NONBLOCK);
	uint64_t v;

	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, true);
	assert_int_equal(irqfd(s, e, 10, KVM_IRQFD_FLAG_RESAMPLE, r), 0);
	assert_int_equal(irqfd(s, e2, 10, KVM_IRQFD_FLAG_RESAMPLE, r2), 0);
	signal_efd(e);
	assert_true(wait_changes(f, 1));
	/* a level held by the resample source, not an edge */
	assert_int_equal(f->log[0].gsi, 10);
	assert_int_equal(f->log[0].source, IRQ_SRC_IRQFD_RESAMPLE);
	assert_true(f->log[0].level);
	/* an ack of another GSI does nothing */
	irqfd_ack(s, 11);
	assert_int_equal(f->n, 1);
	assert_int_equal(read(r, &v, 8), -1);
	/* the ack lowers the line, then signals every resamplefd of the GSI */
	irqfd_ack(s, 10);
	assert_int_equal(f->n, 2);
	assert_false(f->log[1].level);
	assert_int_equal(f->log[1].source, IRQ_SRC_IRQFD_RESAMPLE);
	assert_int_equal(read(r, &v, 8), 8);
	assert_int_equal(v, 1);
	assert_int_equal(read(r2, &v, 8), 8);
	/* removing one resampler keeps the line; removing the last lowers it */
	assert_int_equal(irqfd(s, e, 10, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_int_equal(f->n, 2);
	assert_int_equal(irqfd(s, e2, 10, KVM_IRQFD_FLAG_DEASSIGN, -1), 0);
	assert_int_equal(f->n, 3);
	assert_false(f->log[2].level);
	irqfd_ack(s, 10);
	assert_int_equal(f->n, 3);
	irqfd_set_destroy(s);
	free(f);
	close(e); close(r); close(e2); close(r2);
}

/* wired to the real GSI routing: an irqfd on an MSI route delivers the message */
static void test_through_routing(void **state)
{
	struct kvm_irq_routing_entry msi = { .gsi = 30, .type = KVM_IRQ_ROUTING_MSI,
					     .u.msi = { .address_lo = 0xfee01000, .data = 0x71 } };
	struct irqfd_set *s;
	struct routing *rt;
	struct fake_env env;
	struct irqfd_sink k;
	int e = eventfd(0, EFD_NONBLOCK), r = eventfd(0, EFD_NONBLOCK);

	fake_env_init(&env);
	assert_int_equal(routing_create(NULL, NULL, &env.env, &rt), 0);   /* split irqchip */
	assert_int_equal(routing_set(rt, &msi, 1, 0), 0);
	assert_int_equal(irqfd_set_create(&s), 0);
	k = irqfd_routing_sink(rt, false);
	irqfd_set_sink(s, &k);
	/* a split irqchip has no resampling */
	assert_int_equal(irqfd(s, e, 30, KVM_IRQFD_FLAG_RESAMPLE, r), -EINVAL);
	assert_int_equal(irqfd(s, e, 30, 0, -1), 0);
	signal_efd(e);
	for (int i = 0; i < 500 && !__atomic_load_n(&env.nmsgs, __ATOMIC_ACQUIRE); i++)
		usleep(10000);
	/* stop the thread before reading what it wrote */
	irqfd_set_destroy(s);
	/* the MSI on assert only (its de-assert delivers nothing) */
	assert_int_equal(env.nmsgs, 1);
	assert_int_equal(env.msgs[0].vector, 0x71);
	assert_int_equal(env.msgs[0].dest, 1);
	routing_destroy(rt);
	close(e);
	close(r);
}

/* the merged irqchip: an IOAPIC EOI of a resampled level line reaches irqfd_ack */
static void ack_to_irqfd(void *ctx, unsigned gsi)
{
	irqfd_ack(ctx, gsi);
}

static void test_irqchip_resample(void **state)
{
	struct irqchip *c;
	struct irqfd_set *s;
	struct irqfd_sink k;
	struct kvm_ioapic_state st;
	int e = eventfd(0, EFD_NONBLOCK), r = eventfd(0, EFD_NONBLOCK);
	uint32_t sel = 0x10 + 2 * 10, rte = 0x50 | 1u << 15;   /* pin 10: vector 0x50, level */
	uint64_t v;

	assert_int_equal(irqchip_new(&c), 0);
	assert_int_equal(irqfd_set_create(&s), 0);
	c->ack_notify = ack_to_irqfd;
	c->ack_ctx = s;
	assert_int_equal(irqchip_create_kernel(c, false), 0);
	k = irqfd_routing_sink(c->rt, true);
	irqfd_set_sink(s, &k);
	assert_int_equal(ioapic_write(c->io, 0xfec00000, &sel, 4), 0);
	assert_int_equal(ioapic_write(c->io, 0xfec00010, &rte, 4), 0);
	assert_int_equal(irqfd(s, e, 10, KVM_IRQFD_FLAG_RESAMPLE, r), 0);
	signal_efd(e);
	for (int i = 0; i < 500; i++) {
		ioapic_get_state(c->io, &st);
		if (st.irr & (1u << 10))
			break;
		usleep(10000);
	}
	/* the line is held by the resample source ... */
	assert_true(st.irr & (1u << 10));
	/* ... until the guest's EOI: line down, resamplefd signalled */
	ioapic_update_eoi(c->io, 0x50, true);
	ioapic_get_state(c->io, &st);
	assert_false(st.irr & (1u << 10));
	assert_int_equal(read(r, &v, 8), 8);
	assert_int_equal(v, 1);
	irqfd_set_destroy(s);
	irqchip_free(c);
	close(e);
	close(r);
}

/* a halted runner waits on the set's epoll fd and injects itself; one edge, whoever wins */
static void test_poll_from_runner(void **state)
{
	struct irqfd_set *s;
	struct fake_sink *f = fake_new();
	int e = eventfd(0, EFD_NONBLOCK);
	struct pollfd p;

	(void)state;
	assert_int_equal(irqfd_set_create(&s), 0);
	set_sink(s, f, true);
	/* no irqfd yet: nothing to wait on, and polling is a no-op */
	assert_int_equal(irqfd_poll_fd(s), -1);
	irqfd_poll(s);
	assert_int_equal(f->n, 0);
	assert_int_equal(irqfd(s, e, 5, 0, -1), 0);
	p = (struct pollfd){ .fd = irqfd_poll_fd(s), .events = POLLIN };
	assert_true(p.fd >= 0);
	for (int i = 0; i < 20; i++) {
		signal_efd(e);
		/* readable for the runner too, though the thread waits on it */
		assert_int_equal(poll(&p, 1, 5000), 1);
		irqfd_poll(s);
		assert_true(wait_changes(f, 2 * (i + 1)));
	}
	/* never injected twice: the eventfd read decides who injects */
	usleep(20000);
	assert_int_equal(f->n, 40);
	for (unsigned i = 0; i < f->n; i++)
		assert_int_equal(f->log[i].level, !(i & 1));
	irqfd_set_destroy(s);
	free(f);
	close(e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_no_irqchip),
		cmocka_unit_test(test_assign_rules),
		cmocka_unit_test(test_resample_rules),
		cmocka_unit_test(test_edge_delivery),
		cmocka_unit_test(test_deassign_stops_delivery),
		cmocka_unit_test(test_deassign_waits_for_callback),
		cmocka_unit_test(test_resample_delivery),
		cmocka_unit_test(test_through_routing),
		cmocka_unit_test(test_irqchip_resample),
		cmocka_unit_test(test_poll_from_runner),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
