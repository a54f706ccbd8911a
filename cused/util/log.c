/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdatomic.h>
#include "cused/util/log.h"

/* The only process-wide setting: verbosity is a property of the process,
 * not of any VM, and is set once from the command line. */
static _Atomic int log_level = LOG_INFO;

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	char line[512];
	va_list ap;

	if ((int)lvl > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one fprintf so concurrent threads never interleave within a line */
	fprintf(stderr, "cused: %s: %s\n", tag[lvl], line);
}
