/* SPDX-License-Identifier: MIT */
/* The cascaded 8259A pair and ELCR (cused/irq/pic.c) */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/irq/pic.h"
#include "cused/irq/irq_line.h"

struct t {
	struct pic *pic;
	unsigned nintr;
	bool intr;
	unsigned acks[PIC_NUM_PINS];
	int masks[PIC_NUM_PINS];    /* last mask notification +1 */
};

static void t_intr(void *ctx, bool level)
{
	struct t *t = ctx;

	t->nintr++;
	t->intr = level;
	(void)pic_has_intr(t->pic);   /* hooks run unlocked: calling back must not deadlock */
}

static void t_ack(void *ctx, unsigned irq)
{
	struct t *t = ctx;

	t->acks[irq]++;
	(void)pic_has_intr(t->pic);
}

static void t_mask(void *ctx, unsigned irq, bool masked)
{
	((struct t *)ctx)->masks[irq] = masked + 1;
}

static void out(struct t *t, unsigned port, uint8_t v)
{
	assert_int_equal(pic_write(t->pic, port, &v, 1), 0);
}

static uint8_t in(struct t *t, unsigned port)
{
	uint8_t v = 0xee;

	assert_int_equal(pic_read(t->pic, port, &v, 1), 0);
	return v;
}

/* the BIOS sequence: master at 0x08, slave at 0x70, icw4 as given */
static void init_pics(struct t *t, uint8_t icw4)
{
	static const struct { unsigned port; uint8_t v; } seq[] = {
		{ 0x20, 0x11 }, { 0x21, 0x08 }, { 0x21, 0x04 },
		{ 0xa0, 0x11 }, { 0xa1, 0x70 }, { 0xa1, 0x02 },
	};

	for (unsigned i = 0; i < sizeof(seq) / sizeof(seq[0]); i++) {
		out(t, seq[i].port, seq[i].v);
		if (seq[i].port == 0x21 && seq[i].v == 0x04)
			out(t, 0x21, icw4);
	}
	out(t, 0xa1, icw4);
}

static int setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));
	struct pic_env env = { .intr = t_intr, .ack = t_ack, .mask = t_mask, .ctx = t };

	assert_int_equal(pic_create(&env, &t->pic), 0);
	init_pics(t, 0x01);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct t *t = *state;

	pic_destroy(t->pic);
	free(t);
	return 0;
}

static void test_icw(void **state)
{
	struct t *t = *state;
	struct kvm_pic_state s;

	assert_int_equal(pic_get_state(t->pic, 0, &s), 0);
	assert_int_equal(s.irq_base, 0x08);
	assert_int_equal(s.init_state, 0);
	assert_int_equal(s.init4, 1);
	assert_int_equal(s.auto_eoi, 0);
	assert_int_equal(pic_get_state(t->pic, 1, &s), 0);
	assert_int_equal(s.irq_base, 0x70);
	assert_int_equal(pic_get_state(t->pic, 2, &s), -EINVAL);
	/* ICW1 without ICW4: two data bytes end the sequence; OCW1 follows */
	out(t, 0x20, 0x10);
	out(t, 0x21, 0x23);          /* low bits of the base are dropped */
	out(t, 0x21, 0x04);
	out(t, 0x21, 0xfe);          /* this is the mask now */
	assert_int_equal(pic_get_state(t->pic, 0, &s), 0);
	assert_int_equal(s.irq_base, 0x20);
	assert_int_equal(s.imr, 0xfe);
	assert_int_equal(in(t, 0x21), 0xfe);
	assert_int_equal(t->masks[1], 2);   /* IRQ1 masked: notified */
	/* ICW4 with auto-EOI and SFNM */
	init_pics(t, 0x13);
	assert_int_equal(pic_get_state(t->pic, 0, &s), 0);
	assert_int_equal(s.auto_eoi, 1);
	assert_int_equal(s.special_fully_nested_mode, 1);
}

static void test_ports_and_sizes(void **state)
{
	struct t *t = *state;
	uint16_t w = 0xffff;

	assert_int_equal(pic_write(t->pic, 0x22, &w, 1), -ENOENT);
	assert_int_equal(pic_read(t->pic, 0x40, &w, 1), -ENOENT);
	/* word accesses are ignored, not refused */
	assert_int_equal(pic_write(t->pic, 0x21, &w, 2), 0);
	assert_int_equal(in(t, 0x21), 0);
	assert_int_equal(pic_read(t->pic, 0x21, &w, 2), 0);
	assert_int_equal(w, 0xffff);
	/* ELCR keeps only the wired-for-level bits */
	out(t, 0x4d0, 0xff);
	out(t, 0x4d1, 0xff);
	assert_int_equal(in(t, 0x4d0), 0xf8);
	assert_int_equal(in(t, 0x4d1), 0xde);
}

static void test_edge_irq(void **state)
{
	struct t *t = *state;

	assert_int_equal(pic_set_irq(t->pic, 1, IRQ_SRC_USERSPACE, 1), 1);
	assert_true(pic_has_intr(t->pic));
	assert_true(t->intr);
	assert_int_equal(pic_set_irq(t->pic, 1, IRQ_SRC_USERSPACE, 1), 1); /* held high */
	pic_set_irq(t->pic, 1, IRQ_SRC_USERSPACE, 0);
	assert_int_equal(pic_set_irq(t->pic, 1, IRQ_SRC_USERSPACE, 1), 0); /* coalesced */
	assert_int_equal(pic_intack(t->pic), 0x09);
	assert_false(pic_has_intr(t->pic));
	assert_false(t->intr);
	assert_int_equal(in(t, 0x20), 0x00);   /* IRR: an edge request is consumed */
	out(t, 0x20, 0x0b);                     /* OCW3: read ISR */
	assert_int_equal(in(t, 0x20), 0x02);
	out(t, 0x20, 0x20);                     /* non-specific EOI */
	assert_int_equal(in(t, 0x20), 0x00);
	assert_int_equal(t->acks[1], 1);
	/* masked: -1, nothing raised */
	out(t, 0x21, 0x10);
	assert_int_equal(pic_set_irq(t->pic, 4, IRQ_SRC_USERSPACE, 1), -1);
	assert_false(pic_has_intr(t->pic));
	assert_int_equal(pic_set_irq(t->pic, 16, IRQ_SRC_USERSPACE, 1), -1);
}

static void test_level_irq_elcr(void **state)
{
	struct t *t = *state;

	out(t, 0x4d0, 0x08);                   /* IRQ3 level */
	assert_int_equal(pic_set_irq(t->pic, 3, IRQ_SRC_USERSPACE, 1), 1);
	assert_int_equal(pic_set_irq(t->pic, 3, IRQ_SRC_PIT, 1), 0);   /* already requested */
	assert_int_equal(pic_intack(t->pic), 0x0b);
	assert_int_equal(in(t, 0x20), 0x08);   /* level stays in IRR */
	assert_false(pic_has_intr(t->pic));    /* ISR blocks it */
	out(t, 0x20, 0x63);                    /* specific EOI IRQ3 */
	assert_true(pic_has_intr(t->pic));     /* still asserted: raised again */
	pic_set_irq(t->pic, 3, IRQ_SRC_USERSPACE, 0);
	assert_true(pic_has_intr(t->pic));     /* the PIT still holds it */
	pic_set_irq(t->pic, 3, IRQ_SRC_PIT, 0);
	assert_false(pic_has_intr(t->pic));
	assert_int_equal(in(t, 0x20), 0x00);
}

static void test_auto_eoi_rotation(void **state)
{
	struct t *t = *state;

	init_pics(t, 0x03);                    /* auto-EOI */
	out(t, 0x20, 0x80);                    /* rotate in auto-EOI mode */
	pic_set_irq(t->pic, 1, 0, 1);
	assert_int_equal(pic_intack(t->pic), 0x09);
	out(t, 0x20, 0x0b);
	assert_int_equal(in(t, 0x20), 0x00);   /* auto-EOI: nothing in service */
	assert_int_equal(t->acks[1], 1);
	/* IRQ1 is now lowest; IRQ2.. highest: 3 beats 0 */
	pic_set_irq(t->pic, 0, 0, 1);
	pic_set_irq(t->pic, 3, 0, 1);
	assert_int_equal(pic_intack(t->pic), 0x0b);
	assert_int_equal(pic_intack(t->pic), 0x08);
}

static void test_rotate_on_eoi_and_priority(void **state)
{
	struct t *t = *state;
	struct kvm_pic_state s;

	pic_set_irq(t->pic, 5, 0, 1);
	assert_int_equal(pic_intack(t->pic), 0x0d);
	out(t, 0x20, 0xa0);                    /* rotate on non-specific EOI */
	pic_get_state(t->pic, 0, &s);
	assert_int_equal(s.priority_add, 6);
	assert_int_equal(s.isr, 0);
	out(t, 0x20, 0xc7);                    /* set priority: IRQ7 lowest */
	pic_get_state(t->pic, 0, &s);
	assert_int_equal(s.priority_add, 0);
	/* fixed priority: a higher irq in service blocks a lower one */
	pic_set_irq(t->pic, 2 + 1, 0, 1);
	assert_int_equal(pic_intack(t->pic), 0x0b);
	pic_set_irq(t->pic, 6, 0, 1);
	assert_false(pic_has_intr(t->pic));
	pic_set_irq(t->pic, 0, 0, 1);
	assert_true(pic_has_intr(t->pic));     /* IRQ0 beats IRQ3 in service */
}

static void test_special_mask(void **state)
{
	struct t *t = *state;

	pic_set_irq(t->pic, 3, 0, 1);
	assert_int_equal(pic_intack(t->pic), 0x0b);
	out(t, 0x21, 0x08);                    /* mask the in-service IRQ3 */
	pic_set_irq(t->pic, 5, 0, 1);
	assert_false(pic_has_intr(t->pic));
	out(t, 0x20, 0x68);                    /* OCW3: set special mask */
	pic_set_irq(t->pic, 6, 0, 1);          /* any update re-evaluates */
	assert_true(pic_has_intr(t->pic));
	assert_int_equal(pic_intack(t->pic), 0x0d);
	out(t, 0x20, 0x48);                    /* clear special mask */
	pic_set_irq(t->pic, 7, 0, 1);
	assert_false(pic_has_intr(t->pic));
}

static void test_spurious(void **state)
{
	struct t *t = *state;

	assert_int_equal(pic_intack(t->pic), 0x0f);   /* nothing: IRQ7 */
	out(t, 0x20, 0x0b);
	assert_int_equal(in(t, 0x20), 0x00);          /* and nothing in service */
	/* the slave raised, then masked before INTA: spurious IRQ15 */
	pic_set_irq(t->pic, 12, 0, 1);
	assert_true(pic_has_intr(t->pic));
	out(t, 0xa1, 0x10);
	assert_int_equal(pic_intack(t->pic), 0x77);
}

static void test_cascade(void **state)
{
	struct t *t = *state;
	struct kvm_pic_state m, s;

	assert_int_equal(pic_set_irq(t->pic, 10, 0, 1), 1);
	assert_true(pic_has_intr(t->pic));
	assert_int_equal(pic_intack(t->pic), 0x72);
	pic_get_state(t->pic, 0, &m);
	pic_get_state(t->pic, 1, &s);
	assert_int_equal(m.isr, 0x04);
	assert_int_equal(s.isr, 0x04);
	out(t, 0xa0, 0x20);
	out(t, 0x20, 0x20);
	assert_int_equal(t->acks[10], 1);
	assert_int_equal(t->acks[2], 1);
	/* masking IRQ2 on the master hides the whole slave */
	out(t, 0x21, 0x04);
	pic_set_irq(t->pic, 10, 0, 0);
	pic_set_irq(t->pic, 10, 0, 1);
	assert_false(pic_has_intr(t->pic));
}

static void test_poll(void **state)
{
	struct t *t = *state;

	pic_set_irq(t->pic, 4, 0, 1);
	out(t, 0x20, 0x0c);                    /* OCW3 poll */
	assert_int_equal(in(t, 0x20), 4);
	assert_false(pic_has_intr(t->pic));
	assert_int_equal(t->acks[4], 1);
	out(t, 0x20, 0x0c);
	assert_int_equal(in(t, 0x20), 7);      /* nothing pending */
	out(t, 0x20, 0x0a);                    /* back to IRR reads */
	assert_int_equal(in(t, 0x20), 0);
}

static void test_state_roundtrip(void **state)
{
	struct t *t = *state;
	struct kvm_pic_state s, s2;

	pic_set_irq(t->pic, 6, 0, 1);
	pic_get_state(t->pic, 0, &s);
	pic_reset(t->pic);
	assert_false(pic_has_intr(t->pic));
	assert_int_equal(pic_set_state(t->pic, 0, &s), 0);
	assert_true(pic_has_intr(t->pic));     /* INTR recomputed from the copy */
	pic_get_state(t->pic, 0, &s2);
	assert_memory_equal(&s, &s2, sizeof(s));
	assert_int_equal(pic_intack(t->pic), 0x0e);
	assert_int_equal(pic_set_state(t->pic, 3, &s), -EINVAL);
}

static void test_icw1_keeps_level_requests(void **state)
{
	struct t *t = *state;

	out(t, 0x4d0, 0x20);                   /* IRQ5 level */
	pic_set_irq(t->pic, 5, 0, 1);
	pic_set_irq(t->pic, 4, 0, 1);
	init_pics(t, 0x01);
	assert_int_equal(in(t, 0x20), 0x20);   /* edge IRQ4 dropped, level IRQ5 kept */
}

int main(void)
{
#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_icw), T(test_ports_and_sizes), T(test_edge_irq), T(test_level_irq_elcr),
		T(test_auto_eoi_rotation), T(test_rotate_on_eoi_and_priority), T(test_special_mask),
		T(test_spurious), T(test_cascade), T(test_poll), T(test_state_roundtrip),
		T(test_icw1_keeps_level_requests),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
