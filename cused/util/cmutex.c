/* SPDX-License-Identifier: MIT */
#include "cused/util/cmutex.h"

static uintptr_t self_id(void)
{
	/* pthread_t is an integer (glibc) or a pointer (musl); never 0 for a live thread */
	return (uintptr_t)pthread_self();
}

void cmutex_init(struct cmutex *c)
{
	pthread_mutex_init(&c->m, NULL);
	atomic_init(&c->owner, 0);
}

void cmutex_destroy(struct cmutex *c)
{
	pthread_mutex_destroy(&c->m);
}

void cmutex_lock(struct cmutex *c)
{
	pthread_mutex_lock(&c->m);
	atomic_store_explicit(&c->owner, self_id(), memory_order_relaxed);
}

void cmutex_unlock(struct cmutex *c)
{
	cmutex_assert_held(c);
	atomic_store_explicit(&c->owner, 0, memory_order_relaxed);
	pthread_mutex_unlock(&c->m);
}

bool cmutex_held(const struct cmutex *c)
{
	/* only the holder can have stored its own id, so a relaxed load suffices */
	return atomic_load_explicit(&c->owner, memory_order_relaxed) == self_id();
}
