/*
 * JSON log lines to stderr, written with one write(2) so lines from several
 * threads never interleave.
 */
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static enum log_level min_level = LOG_INFO;
static const char *names[] = {"debug", "info", "warn", "error"};

void log_set_level(enum log_level lv)
{
    min_level = lv;
}

static size_t put(char *buf, size_t n, size_t cap, const char *s)
{
    for (; *s && n + 7 < cap; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            buf[n++] = '\\';
            buf[n++] = (char)c;
        } else if (c < 0x20) {
            n += (size_t)snprintf(buf + n, cap - n, "\\u%04x", c);
        } else {
            buf[n++] = (char)c;
        }
    }
    return n;
}

void log_event(enum log_level lv, const char *event, ...)
{
    if (lv < min_level)
        return;
    char buf[2048];
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    struct tm tm;
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, sizeof buf, "{\"time\":\"%Y-%m-%dT%H:%M:%S", &tm);
    n += (size_t)snprintf(buf + n, sizeof buf - n, ".%03ldZ\",\"level\":\"%s\",\"event\":\"",
                          ts.tv_nsec / 1000000, names[lv]);
    n = put(buf, n, sizeof buf, event);
    buf[n++] = '"';
    va_list ap;
    va_start(ap, event);
    const char *k;
    while ((k = va_arg(ap, const char *)) != NULL && n < sizeof buf - 16) {
        const char *v = va_arg(ap, const char *);
        buf[n++] = ',';
        buf[n++] = '"';
        n = put(buf, n, sizeof buf - 8, k);
        memcpy(buf + n, "\":\"", 3);
        n += 3;
        n = put(buf, n, sizeof buf - 8, v ? v : "");
        buf[n++] = '"';
    }
    va_end(ap);
    buf[n++] = '}';
    buf[n++] = '\n';
    ssize_t w = write(STDERR_FILENO, buf, n);
    (void)w;
}
