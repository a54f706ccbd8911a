/* SPDX-License-Identifier: MIT */
/* Halt-poll window adaptation (halt_poll.h), Linux 6.1 kvm_vcpu_halt's arithmetic */
#include <stdlib.h>
#include <string.h>
#include "cused/kvm/halt_poll.h"

bool halt_poll_cpu_to_spare(const char *loadavg, long ncpus)
{
	const char *p = loadavg;
	char *end;
	long running;

	/* the fourth field: running/total */
	for (int i = 0; i < 3 && p; i++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	if (!p)
		return false;
	running = strtol(p, &end, 10);
	if (end == p || *end != '/')
		return false;
	return running > 0 && running <= ncpus;
}

struct halt_poll_params halt_poll_defaults(void)
{
	return (struct halt_poll_params){
		.max_ns = HALT_POLL_NS_DEFAULT,
		.grow = HALT_POLL_NS_GROW_DEFAULT,
		.grow_start = HALT_POLL_NS_GROW_START_DEF,
		.shrink = HALT_POLL_NS_SHRINK_DEFAULT,
	};
}

uint32_t halt_poll_window(uint32_t *cur, const struct halt_poll_params *p)
{
	if (*cur > p->max_ns)
		*cur = p->max_ns;
	return *cur;
}

static void grow(uint32_t *cur, const struct halt_poll_params *p)
{
	uint64_t v = *cur;

	if (!p->grow)
		return;
	v *= p->grow;
	if (v < p->grow_start)
		v = p->grow_start;
	if (v > p->max_ns)
		v = p->max_ns;
	*cur = (uint32_t)v;
}

static void shrink(uint32_t *cur, const struct halt_poll_params *p)
{
	*cur = p->shrink ? *cur / p->shrink : 0;
}

void halt_poll_update(uint32_t *cur, const struct halt_poll_params *p, uint64_t halt_ns,
		      bool valid)
{
	if (!valid)
		shrink(cur, p);
	else if (!p->max_ns)
		*cur = 0;
	else if (halt_ns <= *cur)
		;       /* the window covered it */
	else if (*cur && halt_ns > p->max_ns)
		shrink(cur, p);         /* a long block: polling only wastes the CPU */
	else if (*cur < p->max_ns && halt_ns < p->max_ns)
		grow(cur, p);           /* a short halt the window just missed */
}
