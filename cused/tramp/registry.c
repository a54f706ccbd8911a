/* SPDX-License-Identifier: MIT */
/*
 * Backend registry.  Order is preference: a backend that enters the guest
 * itself (kmod, when it exists) goes before hostkvm, which needs a host
 * /dev/kvm underneath.
 */
#include <stddef.h>
#include <string.h>
#include "cused/tramp/backend.h"
#include "cused/tramp/kmod.h"   /* tramp_kmod_ops */

static const struct tramp_ops *const backends[] = {
	&tramp_kmod_ops,
	&tramp_hostkvm_ops,
};

#define NBACKENDS (sizeof(backends) / sizeof(backends[0]))

const struct tramp_ops *tramp_find(const char *name)
{
	for (size_t i = 0; name && i < NBACKENDS; i++)
		if (!strcmp(backends[i]->name, name))
			return backends[i];
	return NULL;
}

/* first usable backend; otherwise *why says why the last candidate was not */
const struct tramp_ops *tramp_default(const char **why)
{
	const char *reason = "no trampoline backend is built in";

	for (size_t i = 0; i < NBACKENDS; i++) {
		const char *r = NULL;

		if (!backends[i]->probe(&r))
			return backends[i];
		reason = r ? r : "backend probe failed";
	}
	if (why)
		*why = reason;
	return NULL;
}
