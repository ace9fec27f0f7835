/*
 * Structured log lines: one JSON object per line on stderr.
 *
 * Never pass personal data (names, id numbers, phones, addresses, tokens)
 * to the logger: log record ids instead.
 */
#ifndef FK_BASE_LOG_H
#define FK_BASE_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Lines below this level are dropped (default LOG_INFO; FK_LOG=debug). */
void log_set_level(enum log_level lv);

/*
 * Write {"time":…,"level":…,"event":event, <kv pairs>}. `kv` is a list of
 * alternating key and string value, ending in NULL; values are JSON-escaped.
 */
void log_event(enum log_level lv, const char *event, ...) __attribute__((sentinel));

#endif
