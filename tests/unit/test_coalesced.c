/* SPDX-License-Identifier: MIT */
/*
 * Coalesced MMIO/PIO zones and ring (cused/kvm/coalesced.c) against Linux
 * 6.1 virt/kvm/coalesced_mmio.c: registration rules, unregistering by a
 * contained range, matching, ring order and the full-ring fallback, and a
 * hostile client's ring indices.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "cused/kvm/coalesced.h"

static int reg(struct coalesced *c, uint64_t addr, uint32_t size, uint32_t pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return coalesced_register(c, &z);
}

static int unreg(struct coalesced *c, uint64_t addr, uint32_t size, uint32_t pio)
{
	struct kvm_coalesced_mmio_zone z = { .addr = addr, .size = size, .pio = pio };

	return coalesced_unregister(c, &z);
}

static bool wr(struct coalesced *c, bool pio, uint64_t addr, unsigned len, uint64_t v)
{
	return coalesced_write(c, pio, addr, len, &v);
}

static struct kvm_coalesced_mmio_ring *new_ring(void)
{
	return calloc(1, 4096);
}

static void test_rules(void **state)
{
	struct coalesced c;

	coalesced_init(&c);
	assert_int_equal(reg(&c, 0x1000, 0x100, 2), -EINVAL);
	assert_int_equal(unreg(&c, 0x1000, 0x100, 2), -EINVAL);
	assert_int_equal(unreg(&c, 0x1000, 0x100, 0), 0);   /* nothing there: still 0 */
	assert_int_equal(reg(&c, 0x1000, 0, 0), 0);         /* size 0 is taken */
	assert_int_equal(reg(&c, 0x1000, 0x100, 0), 0);
	assert_int_equal(reg(&c, 0x1000, 0x100, 0), 0);     /* overlaps too */
	assert_int_equal(c.nz, 3);
	/* a range inside removes every zone of that bus holding it */
	assert_int_equal(unreg(&c, 0x1010, 4, 1), 0);
	assert_int_equal(c.nz, 3);
	assert_int_equal(unreg(&c, 0x1010, 4, 0), 0);
	assert_int_equal(c.nz, 1);
	/* [0x1000, 0x1000) is inside the size-0 zone */
	assert_int_equal(unreg(&c, 0x1000, 0, 0), 0);
	assert_int_equal(c.nz, 0);
	/* capacity per bus */
	for (unsigned i = 0; i < COALESCED_MAX_ZONES; i++)
		assert_int_equal(reg(&c, i * 16, 16, 1), 0);
	assert_int_equal(reg(&c, 0, 16, 1), -ENOSPC);
	assert_int_equal(reg(&c, 0, 16, 0), 0);
	coalesced_fini(&c);
}

static void test_match_and_ring(void **state)
{
	struct kvm_coalesced_mmio_ring *ring = new_ring();
	struct coalesced c;
	unsigned n;

	coalesced_init(&c);
	assert_int_equal(reg(&c, 0x2000, 0x10, 0), 0);
	assert_int_equal(reg(&c, 0x70, 2, 1), 0);
	/* no ring yet (a client without the shim): nothing coalesces */
	assert_false(wr(&c, false, 0x2000, 4, 1));
	coalesced_set_ring(&c, ring);
	assert_true(wr(&c, false, 0x2000, 4, 0x11223344));
	assert_true(wr(&c, false, 0x200c, 4, 5));
	assert_false(wr(&c, false, 0x200d, 4, 5));     /* crosses the end */
	assert_false(wr(&c, false, 0x1ffc, 8, 5));     /* starts before */
	assert_false(wr(&c, true, 0x2000, 4, 5));      /* another bus */
	assert_true(wr(&c, true, 0x71, 1, 0x55));
	assert_int_equal(ring->last, 3);
	assert_int_equal(ring->coalesced_mmio[0].phys_addr, 0x2000);
	assert_int_equal(ring->coalesced_mmio[0].len, 4);
	assert_int_equal(*(uint32_t *)ring->coalesced_mmio[0].data, 0x11223344);
	assert_int_equal(ring->coalesced_mmio[0].pio, 0);
	assert_int_equal(ring->coalesced_mmio[2].phys_addr, 0x71);
	assert_int_equal(ring->coalesced_mmio[2].pio, 1);
	/* one slot always stays free: a full ring exits as usual */
	for (n = 3; wr(&c, false, 0x2000, 1, n); n++)
		;
	assert_int_equal(n, COALESCED_RING_MAX - 1);
	/* the client drains two: room for two more, wrapping around */
	ring->first = 2;
	assert_true(wr(&c, false, 0x2000, 1, 0));
	assert_true(wr(&c, false, 0x2000, 1, 0));
	assert_false(wr(&c, false, 0x2000, 1, 0));
	assert_int_equal(ring->last, 1);
	coalesced_fini(&c);
	free(ring);
}

/* the client writes the ring: a wild index must not make the daemon write off the page */
static void test_hostile_indices(void **state)
{
	struct kvm_coalesced_mmio_ring *ring = new_ring();
	struct coalesced c;

	coalesced_init(&c);
	coalesced_set_ring(&c, ring);
	assert_int_equal(reg(&c, 0x2000, 0x10, 0), 0);
	ring->last = 0xffffffff;
	assert_false(wr(&c, false, 0x2000, 4, 1));
	ring->last = COALESCED_RING_MAX;
	assert_false(wr(&c, false, 0x2000, 4, 1));
	ring->last = COALESCED_RING_MAX - 1;
	ring->first = 0xdeadbeef;      /* never equal to an index: just not "full" */
	assert_true(wr(&c, false, 0x2000, 4, 1));
	assert_int_equal(ring->last, 0);
	coalesced_fini(&c);
	free(ring);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rules),
		cmocka_unit_test(test_match_and_ring),
		cmocka_unit_test(test_hostile_indices),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
