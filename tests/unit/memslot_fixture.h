/* SPDX-License-Identifier: MIT */
/* cmocka setup/teardown giving each test a fresh struct memslot_table */
#ifndef CUSED_TESTS_MEMSLOT_FIXTURE_H
#define CUSED_TESTS_MEMSLOT_FIXTURE_H

#include <stdlib.h>
#include "cused/mmu/memslot.h"

static int setup(void **state)
{
	struct memslot_table *t = malloc(sizeof(*t));

	if (!t)
		return -1;
	memslot_table_init(t);
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	memslot_table_fini(*state);
	free(*state);
	return 0;
}

#endif
