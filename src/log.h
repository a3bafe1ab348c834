/*
 * log - the process log and the access log (one JSON line per request).
 * Lines are buffered and written whole, so that concurrent threads never
 * interleave; log_reopen (on SIGHUP) reopens the file for log rotation.
 */
#ifndef CATALOGD_LOG_H
#define CATALOGD_LOG_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* path NULL or "" logs to stderr.  access: whether to write access lines. */
int log_open(const char *path, enum log_level level, bool access, struct error *err);
int log_reopen(struct error *err);
void log_close(void);
int log_level_from_name(const char *name, enum log_level *out);

void log_msg(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void log_access(const char *method, const char *path, int status, uint64_t duration_us,
                const char *request_id);

#endif
