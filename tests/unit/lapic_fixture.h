/* SPDX-License-Identifier: MIT */
/*
 * Shared by the LAPIC unit tests: a fake env (irq_fake.h) extended with the
 * kick and EOI-broadcast hooks, and register accessors through the xAPIC
 * MMIO and x2APIC MSR paths.  Header-only, one copy per test program.
 */
#ifndef CUSED_TESTS_LAPIC_FIXTURE_H
#define CUSED_TESTS_LAPIC_FIXTURE_H

#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include <linux/kvm.h>
#include "irq_fake.h"
#include "cused/irq/lapic.h"

#define BASE 0xfee00000ull

struct tenv {
	struct fake_env f;         /* first: the hooks get &f as ctx */
	unsigned kicks;
	uint8_t eoi[64];
	unsigned neoi;
};

static inline void t_kick(void *ctx, void *dev)
{
	(void)dev;
	((struct tenv *)ctx)->kicks++;
}

static inline void t_eoi(void *ctx, uint8_t v)
{
	struct tenv *t = ctx;

	if (t->neoi < 64)
		t->eoi[t->neoi] = v;
	t->neoi++;
}

static inline void tenv_init(struct tenv *t)
{
	memset(t, 0, sizeof(*t));
	fake_env_init(&t->f);
	t->f.env.kick = t_kick;
	t->f.env.eoi = t_eoi;
}

static inline struct lapic *mk_lapic(struct tenv *t, const struct lapic_config *cfg)
{
	struct lapic *l = NULL;

	assert_int_equal(lapic_create(cfg, &t->f.env, &l), 0);
	return l;
}

static inline uint32_t rd(struct lapic *l, unsigned off)
{
	uint32_t v = 0xdeadbeef;

	assert_int_equal(lapic_mmio_read(l, BASE + off, &v, 4), 0);
	return v;
}

static inline void wr(struct lapic *l, unsigned off, uint32_t v)
{
	assert_int_equal(lapic_mmio_write(l, BASE + off, &v, 4), 0);
}

static inline uint64_t rdmsr_ok(struct lapic *l, uint32_t msr)
{
	uint64_t v = 0;

	assert_int_equal(lapic_msr_read(l, msr, &v), 0);
	return v;
}

/* an enabled (SPIV bit 8) xAPIC */
static inline void sw_enable(struct lapic *l)
{
	wr(l, 0xf0, 0x1ff);
}

static inline void to_x2apic(struct lapic *l)
{
	assert_int_equal(lapic_set_base(l, BASE | (1u << 11) | (1u << 10), false), 0);
}

#endif
