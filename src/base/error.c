/*
 * The per-thread error detail and the default text of each error code.
 */
#include "base/error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

static _Thread_local struct err_detail last;
static _Thread_local bool collecting;

static const struct {
    const char *slug;
    const char *message;
} defaults[E__COUNT] = {
    [E_OK] = {"ok", "成功"},
    [E_INPUT] = {"invalid_input", "请求内容不正确"},
    [E_AUTH] = {"unauthenticated", "请先登录"},
    [E_FORBIDDEN] = {"forbidden", "没有权限执行此操作"},
    [E_NOT_FOUND] = {"not_found", "记录不存在"},
    [E_METHOD] = {"method_not_allowed", "不支持此请求方法"},
    [E_TIMEOUT] = {"request_timeout", "请求超时"},
    [E_CONFLICT] = {"conflict", "记录已存在或状态冲突"},
    [E_TOO_LARGE] = {"body_too_large", "请求内容过大"},
    [E_URI_TOO_LONG] = {"uri_too_long", "请求地址过长"},
    [E_HEADERS_TOO_LARGE] = {"headers_too_large", "请求头过大"},
    [E_UNSUPPORTED] = {"unsupported_media_type", "请求内容类型必须为 application/json"},
    [E_LOCKED] = {"account_locked", "账号已锁定"},
    [E_RATE] = {"rate_limited", "尝试次数过多，请稍后再试"},
    [E_NOMEM] = {"internal_error", "服务器内部错误"},
    [E_DB] = {"internal_error", "服务器内部错误"},
    [E_CRYPTO] = {"internal_error", "服务器内部错误"},
    [E_IO] = {"internal_error", "服务器内部错误"},
    [E_INTERNAL] = {"internal_error", "服务器内部错误"},
    [E_UNAVAILABLE] = {"unavailable", "服务暂不可用"},
};

static void copy(char *dst, size_t n, const char *src)
{
    if (!src)
        src = "";
    size_t len = strlen(src);
    if (len >= n)
        len = n - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

/* Add an input error of `field` to the detail's list (once per field). */
static void vmore(const char *slug, const char *field, const char *fmt, va_list ap)
{
    if (!strcmp(field, last.field) || last.nmore >= ERR_MORE_MAX)
        return;
    for (int i = 0; i < last.nmore; i++)
        if (!strcmp(last.more[i].field, field))
            return;
    struct err_more *m = &last.more[last.nmore++];
    copy(m->slug, sizeof m->slug, slug ? slug : err_slug(E_INPUT));
    copy(m->field, sizeof m->field, field);
    if (fmt)
        vsnprintf(m->message, sizeof m->message, fmt, ap);
    else
        copy(m->message, sizeof m->message, err_message(E_INPUT));
}

/* Whether an input error of `field` joins the one already held. */
static bool joins(err code, const char *field)
{
    return code == E_INPUT && last.code == E_INPUT && last.field[0] && field && *field;
}

static err vset(err code, const char *slug, const char *field, int64_t ref, const char *fmt,
                va_list ap)
{
    if (collecting && joins(code, field)) {
        vmore(slug, field, fmt, ap);
        return code;
    }
    last.code = code;
    copy(last.slug, sizeof last.slug, slug ? slug : err_slug(code));
    copy(last.field, sizeof last.field, field);
    last.ref = ref;
    last.nmore = 0;
    if (fmt)
        vsnprintf(last.message, sizeof last.message, fmt, ap);
    else
        copy(last.message, sizeof last.message, err_message(code));
    return code;
}

err err_set(err code, const char *slug, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err e = vset(code, slug, field, 0, fmt, ap);
    va_end(ap);
    return e;
}

err err_add(err prev, err code, const char *slug, const char *field, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (prev == E_OK)
        prev = vset(code, slug, field, 0, fmt, ap);
    else if (prev == E_INPUT && joins(code, field))
        vmore(slug, field, fmt, ap);
    va_end(ap);
    return prev;
}

void err_collect_begin(void)
{
    err_clear();
    collecting = true;
}

void err_collect_end(void)
{
    collecting = false;
}

bool err_collecting(void)
{
    return collecting;
}

err err_set_ref(err code, const char *slug, int64_t ref, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    err e = vset(code, slug, NULL, ref, fmt, ap);
    va_end(ap);
    return e;
}

const struct err_detail *err_last(void)
{
    return &last;
}

void err_restore(const struct err_detail *kept)
{
    if (kept != &last)
        last = *kept;
}

void err_clear(void)
{
    memset(&last, 0, sizeof last);
}

const char *err_slug(err code)
{
    return (unsigned)code < E__COUNT && defaults[code].slug ? defaults[code].slug
                                                            : "internal_error";
}

const char *err_message(err code)
{
    return (unsigned)code < E__COUNT && defaults[code].message ? defaults[code].message
                                                               : "服务器内部错误";
}

static _Atomic uint64_t full_count;
static _Atomic int64_t full_last;    /* monotonic second of the last refusal */
static _Atomic int64_t full_logged;  /* monotonic second of the last log line */
static _Atomic uint64_t full_at_log; /* full_count when that line was written */

/* One line a minute at most: a full disk refuses every write of every
 * request, and a line per request would fill what is left of the log's
 * disk (often the same one) with the same news. */
#define DISK_FULL_LOG_EVERY_S 60

err err_disk_full(const char *where)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    int64_t now = (int64_t)ts.tv_sec + 1; /* never 0, which means "never" */
    uint64_t n = atomic_fetch_add(&full_count, 1) + 1;
    atomic_store(&full_last, now);
    int64_t logged = atomic_load(&full_logged);
    if ((!logged || now - logged >= DISK_FULL_LOG_EVERY_S) &&
        atomic_compare_exchange_strong(&full_logged, &logged, now)) {
        char refused[24];
        snprintf(refused, sizeof refused, "%llu",
                 (unsigned long long)(n - atomic_exchange(&full_at_log, n)));
        log_event(LOG_ERROR, "disk_full", "where", where ? where : "-", "refused", refused, NULL);
    }
    return err_set(E_UNAVAILABLE, "disk_full", NULL, "服务器存储空间不足，请稍后重试并联系运维");
}

bool err_errno_disk_full(int e)
{
    return e == ENOSPC || e == EDQUOT;
}

uint64_t err_disk_full_count(void)
{
    return atomic_load(&full_count);
}

int64_t err_disk_full_last(void)
{
    return atomic_load(&full_last);
}
