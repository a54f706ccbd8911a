/* SPDX-License-Identifier: MIT */
/*
 * One-line logging.  Every refused request logs exactly one line saying why,
 * so a client author can see which check their argument failed.
 */
#ifndef CUSED_UTIL_LOG_H
#define CUSED_UTIL_LOG_H

#include <stdarg.h>

enum log_level { LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)   log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

/* log why a request failed and hand the errno back: return refuse(-EINVAL, "...") */
#define refuse(err, ...) (log_msg(LOG_WARN, __VA_ARGS__), (err))

#endif
