/*
 * China time (time.h).
 */
#include "base/time.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/id.h"

/* Floor division, so instants before 1970 fall on the right day. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

static int china_tm(int64_t ms, struct tm *tm)
{
    time_t t = (time_t)floor_div(ms + CHINA_OFFSET_MS, 1000);
    return gmtime_r(&t, tm) != NULL;
}

void china_time(int64_t ms, char out[CHINA_TIME_LEN])
{
    struct tm tm;
    out[0] = '\0';
    if (ms <= 0 || !china_tm(ms, &tm) ||
        strftime(out, CHINA_TIME_LEN, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        out[0] = '\0';
}

int32_t china_date(int64_t ms)
{
    struct tm tm;
    if (!china_tm(ms, &tm) || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 1)
        return 0;
    return (int32_t)((tm.tm_year + 1900) * 10000 + (tm.tm_mon + 1) * 100 + tm.tm_mday);
}

int32_t china_today(void)
{
    return china_date(now_ms());
}

int64_t china_day(int64_t ms)
{
    return floor_div(ms + CHINA_OFFSET_MS, DAY_MS);
}

int64_t china_day_start(int64_t ms)
{
    return china_day(ms) * DAY_MS - CHINA_OFFSET_MS;
}

bool china_time_parse(const char *s, int64_t *ms_r)
{
    int y, mo, d, h, mi, sec = 0, used = 0;
    char sep;
    size_t n = s ? strlen(s) : 0;
    if (n != 16 && n != 19)
        return false;
    if (n == 16 &&
        (sscanf(s, "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &used) != 6 || used != 16))
        return false;
    if (n == 19 &&
        (sscanf(s, "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &sec, &used) != 7 ||
         used != 19))
        return false;
    if ((sep != ' ' && sep != 'T') || s[4] != '-' || s[7] != '-' || y < 1970 || y > 9999 ||
        mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 ||
        sec > 59)
        return false;
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = sec};
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != d || tm.tm_mon != mo - 1) /* normalised: no such day */
        return false;
    *ms_r = (int64_t)t * 1000 - CHINA_OFFSET_MS;
    return true;
}
