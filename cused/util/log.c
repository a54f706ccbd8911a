/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>
#include <stdatomic.h>
#include <time.h>
#include "cused/util/log.h"

/* The only process-wide settings: verbosity and the limiter are properties
 * of the process's log stream, not of any VM; set once from the command line. */
static _Atomic int log_level = LOG_INFO;
static pthread_mutex_t limit_lock = PTHREAD_MUTEX_INITIALIZER;
static struct log_limiter limiter = { LOG_LIMIT_BURST, LOG_LIMIT_WINDOW_NS };
static __thread uint32_t current_client;

void log_set_level(enum log_level lvl)
{
	log_level = lvl;
}

void log_set_client(uint32_t key)
{
	current_client = key;
}

void log_limit_init(struct log_limiter *l, unsigned burst, uint64_t window_ns)
{
	*l = (struct log_limiter){ .burst = burst, .window_ns = window_ns };
}

/* key's entry, or a free or expired one, or else the one whose window is oldest */
static struct log_limit_entry *limit_slot(struct log_limiter *l, uint32_t key, uint64_t now)
{
	struct log_limit_entry *spare = NULL;

	for (unsigned i = 0; i < LOG_LIMIT_SLOTS; i++) {
		struct log_limit_entry *e = &l->e[i];

		if (e->used && e->key == key)
			return e;
		if (!spare || !e->used || (spare->used && e->start < spare->start))
			spare = e;
	}
	return spare;
}

struct log_verdict log_limit_admit(struct log_limiter *l, uint32_t key, uint64_t now)
{
	struct log_limit_entry *e = limit_slot(l, key, now);
	struct log_verdict v = { 0 };

	if (!e->used || e->key != key || now - e->start >= l->window_ns) {
		/* a new window: report what the ending one (maybe another key's) dropped */
		if (e->used && e->dropped) {
			v.report_key = e->key;
			v.report_n = e->dropped;
		}
		*e = (struct log_limit_entry){ .key = key, .used = true, .start = now };
	}
	if (e->lines < l->burst) {
		e->lines++;
		v.admit = true;
	} else {
		e->dropped++;
	}
	return v;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

void log_msg(enum log_level lvl, const char *fmt, ...)
{
	static const char *const tag[] = { "error", "warn", "info", "debug" };
	struct log_verdict v = { .admit = true };
	char line[512];
	va_list ap;

	if ((int)lvl > log_level)
		return;
	if (lvl != LOG_ERR && log_level < LOG_DEBUG) {
		pthread_mutex_lock(&limit_lock);
		v = log_limit_admit(&limiter, current_client, now_ns());
		pthread_mutex_unlock(&limit_lock);
	}
	if (v.report_n) {
		if (v.report_key)
			fprintf(stderr, "cused: warn: uid %u: %lu log lines suppressed\n",
				v.report_key - 1, v.report_n);
		else
			fprintf(stderr, "cused: warn: %lu log lines suppressed\n", v.report_n);
	}
	if (!v.admit)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one fprintf so concurrent threads never interleave within a line */
	fprintf(stderr, "cused: %s: %s\n", tag[lvl], line);
}
