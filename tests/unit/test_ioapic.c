/* SPDX-License-Identifier: MIT */
/* The IOAPIC model (cused/irq/ioapic.c) on the fake irq_env */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/irq/ioapic.h"
#include "cused/irq/irq_line.h"
#include "irq_fake.h"

#define BASE IOAPIC_DEFAULT_BASE

struct t {
	struct fake_env f;
	struct ioapic *io;
	unsigned acks[IOAPIC_NUM_PINS];
	int masks[IOAPIC_NUM_PINS];   /* last mask notification +1, 0 = none */
};

static void t_ack(void *ctx, unsigned pin)
{
	struct t *t = ctx;

	t->acks[pin]++;
	(void)ioapic_line(t->io, pin);   /* hooks run unlocked: calling back must not deadlock */
}

/* the fake's deliver, calling back into the IOAPIC as a LAPIC EOI could;
 * ctx is &t->f, the first member of struct t */
static int t_deliver(void *ctx, const struct irq_msg *m)
{
	(void)ioapic_line(((struct t *)ctx)->io, 0);
	return fake_deliver(ctx, m);
}

static void t_mask(void *ctx, unsigned pin, bool masked)
{
	((struct t *)ctx)->masks[pin] = masked + 1;
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct ioapic_env aenv = { .ack = t_ack, .mask = t_mask };

	fake_env_init(&t->f);
	t->f.env.deliver = t_deliver;
	aenv.ctx = t;
	assert_int_equal(ioapic_create(&t->f.env, &aenv, &t->io), 0);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	ioapic_destroy(t->io);
	free(t);
	return 0;
}

static void wr(struct t *t, uint32_t reg, uint32_t v)
{
	assert_int_equal(ioapic_write(t->io, BASE, &reg, 4), 0);
	assert_int_equal(ioapic_write(t->io, BASE + 0x10, &v, 4), 0);
}

static uint32_t rd(struct t *t, uint32_t reg)
{
	uint32_t v = 0;

	assert_int_equal(ioapic_write(t->io, BASE, &reg, 4), 0);
	assert_int_equal(ioapic_read(t->io, BASE + 0x10, &v, 4), 0);
	return v;
}

static void set_rte(struct t *t, unsigned pin, uint64_t v)
{
	wr(t, 0x11 + 2 * pin, (uint32_t)(v >> 32));
	wr(t, 0x10 + 2 * pin, (uint32_t)v);
}

static uint64_t get_rte(struct t *t, unsigned pin)
{
	return (uint64_t)rd(t, 0x11 + 2 * pin) << 32 | rd(t, 0x10 + 2 * pin);
}

static void test_id_version_window(void **state)
{
	struct t *t = *state;
	uint32_t v;

	assert_int_equal(rd(t, 1), 0x170011);
	wr(t, 0, 0x0a000000);
	assert_int_equal(rd(t, 0), 0x0a000000);
	assert_int_equal(rd(t, 2), 0x0a000000);   /* arbitration id mirrors the id */
	wr(t, 1, 0);                               /* version is read-only */
	assert_int_equal(rd(t, 1), 0x170011);
	assert_int_equal(rd(t, 3), 0xffffffff);    /* no such register */
	assert_int_equal(rd(t, 0x10 + 48), 0xffffffff);
	assert_int_equal(ioapic_read(t->io, BASE + 0x100, &v, 4), -ENOENT);
	assert_int_equal(ioapic_read(t->io, 0xfee00000, &v, 4), -ENOENT);
	/* odd sizes are ignored, never refused */
	v = 0x1234;
	assert_int_equal(ioapic_write(t->io, BASE, &v, 3), 0);
	assert_int_equal(rd(t, 1), 0x170011);
	/* all pins come up masked */
	for (unsigned pin = 0; pin < IOAPIC_NUM_PINS; pin++)
		assert_true(get_rte(t, pin) & IOAPIC_RTE_MASKED);
}

static void test_readonly_bits_survive(void **state)
{
	struct t *t = *state;

	set_rte(t, 3, IOAPIC_RTE_LEVEL | 0x41 | 1ull << 56);
	assert_int_equal(ioapic_set_irq(t->io, 3, IRQ_SRC_USERSPACE, 1), 1);
	assert_true(get_rte(t, 3) & IOAPIC_RTE_REMOTE_IRR);
	/* the guest tries to clear remote IRR and set delivery status */
	wr(t, 0x10 + 6, 0x41 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_DELIVERY_STATUS);
	assert_true(get_rte(t, 3) & IOAPIC_RTE_REMOTE_IRR);
	assert_false(get_rte(t, 3) & IOAPIC_RTE_DELIVERY_STATUS);
	/* switching the pin to edge clears remote IRR (Linux/Xen rely on it) */
	wr(t, 0x10 + 6, 0x41);
	assert_false(get_rte(t, 3) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_edge_vs_level(void **state)
{
	struct t *t = *state;

	set_rte(t, 1, 0x31);                              /* edge, vector 0x31 */
	set_rte(t, 2, 0x32 | IOAPIC_RTE_LEVEL);           /* level */
	assert_int_equal(ioapic_set_irq(t->io, 1, 0, 1), 1);
	assert_int_equal(ioapic_set_irq(t->io, 1, 0, 1), 0);   /* still high: coalesced */
	assert_int_equal(ioapic_set_irq(t->io, 1, 0, 0), 1);
	assert_int_equal(ioapic_set_irq(t->io, 1, 0, 1), 1);   /* new edge */
	assert_int_equal(t->f.nmsgs, 2);
	assert_false(t->f.msgs[0].trig_level);
	assert_int_equal(t->f.msgs[0].vector, 0x31);

	assert_int_equal(ioapic_set_irq(t->io, 2, 0, 1), 1);
	assert_true(t->f.msgs[2].trig_level);
	assert_int_equal(ioapic_set_irq(t->io, 2, 0, 1), -1);  /* waiting for EOI */
	assert_int_equal(t->f.nmsgs, 3);
}

static void test_msg_fields(void **state)
{
	struct t *t = *state;
	const struct irq_msg *m;

	/* logical, lowest priority, dest 0x0f, vector 0x99 */
	set_rte(t, 5, 0x99 | 1ull << 8 | IOAPIC_RTE_DEST_LOGICAL | 0x0full << 56);
	assert_int_equal(ioapic_set_irq(t->io, 5, 0, 1), 1);
	m = &t->f.msgs[0];
	assert_int_equal(m->dest, 0x0f);
	assert_int_equal(m->vector, 0x99);
	assert_int_equal(m->delivery, IRQ_DM_LOWEST);
	assert_true(m->dest_logical);
	assert_true(m->level);
	assert_int_equal(m->src, -1);
	/* the deliver result is the line status; no LAPIC accepted → 0 */
	t->f.deliver_result = 0;
	assert_int_equal(ioapic_set_irq(t->io, 5, 0, 0), 1);
	assert_int_equal(ioapic_set_irq(t->io, 5, 0, 1), 0);
	/* a masked pin reports -1 and delivers nothing */
	set_rte(t, 6, 0x66 | IOAPIC_RTE_MASKED);
	assert_int_equal(ioapic_set_irq(t->io, 6, 0, 1), -1);
	assert_int_equal(t->f.nmsgs, 2);
	assert_int_equal(ioapic_set_irq(t->io, 24, 0, 1), -1);
}

static void test_level_eoi_redeliver(void **state)
{
	struct t *t = *state;

	set_rte(t, 9, 0x49 | IOAPIC_RTE_LEVEL);
	assert_int_equal(ioapic_set_irq(t->io, 9, 0, 1), 1);
	assert_int_equal(t->f.nmsgs, 1);
	/* EOI while the line is still asserted: delivered again */
	ioapic_eoi(t->io, 0x49);
	assert_int_equal(t->f.nmsgs, 2);
	assert_int_equal(t->acks[9], 1);
	assert_true(get_rte(t, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* line drops, EOI: remote IRR clears, nothing new */
	ioapic_set_irq(t->io, 9, 0, 0);
	ioapic_eoi(t->io, 0x49);
	assert_int_equal(t->f.nmsgs, 2);
	assert_false(get_rte(t, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* an edge EOI only notifies */
	assert_int_equal(ioapic_set_irq(t->io, 9, 0, 1), 1);
	ioapic_update_eoi(t->io, 0x49, false);
	assert_int_equal(t->acks[9], 3);
	assert_true(get_rte(t, 9) & IOAPIC_RTE_REMOTE_IRR);
	/* an EOI for another vector changes nothing */
	ioapic_eoi(t->io, 0x50);
	assert_true(get_rte(t, 9) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_sources_ored(void **state)
{
	struct t *t = *state;

	set_rte(t, 4, 0x44 | IOAPIC_RTE_LEVEL);
	ioapic_set_irq(t->io, 4, IRQ_SRC_USERSPACE, 1);
	ioapic_set_irq(t->io, 4, IRQ_SRC_PIT, 1);
	ioapic_set_irq(t->io, 4, IRQ_SRC_USERSPACE, 0);
	assert_true(ioapic_line(t->io, 4));   /* the PIT still holds it */
	ioapic_set_irq(t->io, 4, IRQ_SRC_PIT, 0);
	assert_false(ioapic_line(t->io, 4));
}

static void test_unmask_pending_level(void **state)
{
	struct t *t = *state;

	set_rte(t, 7, 0x57 | IOAPIC_RTE_LEVEL | IOAPIC_RTE_MASKED);
	assert_int_equal(ioapic_set_irq(t->io, 7, 0, 1), -1);
	assert_int_equal(t->f.nmsgs, 0);
	wr(t, 0x10 + 14, 0x57 | IOAPIC_RTE_LEVEL);   /* unmask */
	assert_int_equal(t->f.nmsgs, 1);
	assert_int_equal(t->f.msgs[0].vector, 0x57);
	assert_int_equal(t->masks[7], 1);            /* notified: unmasked */
	/* a pending edge is not replayed by unmasking (as in KVM) */
	set_rte(t, 8, 0x58 | IOAPIC_RTE_MASKED);
	ioapic_set_irq(t->io, 8, 0, 1);
	wr(t, 0x10 + 16, 0x58);
	assert_int_equal(t->f.nmsgs, 1);
}

static void test_no_accept_clears_remote_irr(void **state)
{
	struct t *t = *state;

	/* KVM sets remote IRR only if some LAPIC took the message */
	t->f.deliver_result = 0;
	set_rte(t, 10, 0x5a | IOAPIC_RTE_LEVEL);
	assert_int_equal(ioapic_set_irq(t->io, 10, 0, 1), 0);
	assert_false(get_rte(t, 10) & IOAPIC_RTE_REMOTE_IRR);
	/* no destination at all (-errno / KVM's -1) keeps it */
	t->f.deliver_result = -ENOENT;
	set_rte(t, 11, 0x5b | IOAPIC_RTE_LEVEL);
	assert_int_equal(ioapic_set_irq(t->io, 11, 0, 1), -1);
	assert_true(get_rte(t, 11) & IOAPIC_RTE_REMOTE_IRR);
}

static void test_eoi_storm_backoff(void **state)
{
	struct t *t = *state;

	set_rte(t, 12, 0x6c | IOAPIC_RTE_LEVEL);
	ioapic_set_irq(t->io, 12, 0, 1);
	for (unsigned i = 0; i < 9999; i++)
		ioapic_eoi(t->io, 0x6c);
	assert_int_equal(t->f.nmsgs, 10000);
	t->f.now = 5000;
	ioapic_eoi(t->io, 0x6c);             /* the 10000th: held back 10 ms */
	assert_int_equal(t->f.nmsgs, 10000);
	assert_int_equal(t->f.armed, 5000 + 10000000);
	assert_int_equal(ioapic_tick(t->io, 5000 + 9999999), 5000 + 10000000);
	assert_int_equal(t->f.nmsgs, 10000);
	assert_int_equal(ioapic_tick(t->io, 5000 + 10000000), 0);
	assert_int_equal(t->f.nmsgs, 10001);
}

static void test_state_roundtrip_reinject(void **state)
{
	struct t *t = *state;
	struct kvm_ioapic_state s, s2;

	set_rte(t, 0, 0x30);
	set_rte(t, 13, 0x6d | IOAPIC_RTE_LEVEL);
	wr(t, 0, 0x05000000);
	ioapic_set_irq(t->io, 0, 0, 1);     /* edge, delivered: hidden from irr */
	ioapic_set_irq(t->io, 13, 0, 1);    /* level, delivered, remote IRR */
	assert_int_equal(ioapic_get_state(t->io, &s), 0);
	assert_int_equal(s.irr, 1u << 13);
	assert_int_equal(s.id, 5);
	assert_int_equal(s.base_address, BASE);
	assert_true(s.redirtbl[13].bits & IOAPIC_RTE_REMOTE_IRR);

	/* restore into a fresh IOAPIC with remote IRR clear: line re-injected */
	ioapic_reset(t->io);
	t->f.nmsgs = 0;
	s.redirtbl[13].bits &= ~IOAPIC_RTE_REMOTE_IRR;
	assert_int_equal(ioapic_set_state(t->io, &s), 0);
	assert_int_equal(t->f.nmsgs, 1);
	assert_int_equal(t->f.msgs[0].vector, 0x6d);
	assert_int_equal(ioapic_get_state(t->io, &s2), 0);
	s.redirtbl[13].bits |= IOAPIC_RTE_REMOTE_IRR;
	assert_memory_equal(&s, &s2, sizeof(s));
	/* the restored line is not tied to a source: the first de-assert
	 * (here from the source that raised it before the reset) drops it */
	ioapic_set_irq(t->io, 13, IRQ_SRC_USERSPACE, 0);
	assert_false(ioapic_line(t->io, 13));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_id_version_window, setup, teardown),
		cmocka_unit_test_setup_teardown(test_readonly_bits_survive, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edge_vs_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_msg_fields, setup, teardown),
		cmocka_unit_test_setup_teardown(test_level_eoi_redeliver, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sources_ored, setup, teardown),
		cmocka_unit_test_setup_teardown(test_unmask_pending_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_accept_clears_remote_irr, setup, teardown),
		cmocka_unit_test_setup_teardown(test_eoi_storm_backoff, setup, teardown),
		cmocka_unit_test_setup_teardown(test_state_roundtrip_reinject, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
