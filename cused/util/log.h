/* SPDX-License-Identifier: MIT */
/*
 * One-line logging.  Every refused request logs exactly one line saying why,
 * so a client author can see which check their argument failed.
 *
 * Lines are rate-limited per client: every client may log LOG_LIMIT_BURST
 * lines per LOG_LIMIT_WINDOW_NS, then its lines are dropped and counted, and
 * the count is logged once when its next window opens.  Error lines (daemon
 * faults, not client input) and --debug runs are never limited.
 */
#ifndef CUSED_UTIL_LOG_H
#define CUSED_UTIL_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* log why a request failed and hand the errno back: return refuse(-EINVAL, "...") */
#define refuse(err, ...) (log_msg(LOG_WARN, __VA_ARGS__), (err))

/*
 * The client the calling thread is serving, as the rate-limit key: its uid
 * (uid + 1; 0 = no client: daemon and vCPU threads share one key).  Keyed by
 * uid rather than pid because a client can mint pids and tids for free
 * (fork, clone) but cannot change its uid, so one user cannot outrun the
 * limiter by spreading over many processes.  Per thread because refuse()
 * runs deep inside handlers that do not see the request; the bridge sets it
 * around every handler call and clears it after.
 */
void log_set_client(uint32_t key);

#define LOG_LIMIT_SLOTS 64
#define LOG_LIMIT_BURST 20
#define LOG_LIMIT_WINDOW_NS (10ULL * 1000000000ULL)

/* fixed-size per-key limiter; pure (time is passed in) so tests drive it */
struct log_limiter {
	unsigned burst;
	uint64_t window_ns;
	struct log_limit_entry {
		uint32_t key;
		bool used;
		uint64_t start;        /* window start, ns */
		unsigned lines;        /* logged in this window */
		unsigned long dropped; /* suppressed in this window */
	} e[LOG_LIMIT_SLOTS];
};

/* what log_limit_admit decided */
struct log_verdict {
	bool admit;                    /* log the line */
	uint32_t report_key;           /* if report_n: first log "key: n suppressed" */
	unsigned long report_n;
};

/* an empty limiter: burst lines per key per window_ns */
void log_limit_init(struct log_limiter *l, unsigned burst, uint64_t window_ns);
/*
 * May key log a line at time now (ns, monotonic)?  When key's window has
 * passed, or the table is full and an entry must be reused, the suppressed
 * count of the window that ends is returned for one summary line.
 */
struct log_verdict log_limit_admit(struct log_limiter *l, uint32_t key, uint64_t now);

#endif
