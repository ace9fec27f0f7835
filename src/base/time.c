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

/* Days from 1970-01-01 to the civil date y-m-d (proleptic Gregorian). */
static int64_t civil_days(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

bool china_time_parse(const char *s, int64_t *ms_r)
{
    int y, mo, d, h = 0, mi = 0, sec = 0, used = 0;
    char s1, s2;
    if (!s || sscanf(s, "%4d%c%2d%c%2d%n", &y, &s1, &mo, &s2, &d, &used) != 5 || s1 != s2 ||
        (s1 != '-' && s1 != '/'))
        return false;
    const char *p = s + used;
    if (*p == ' ' || *p == 'T') {
        int k = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &h, &mi, &k) != 2)
            return false;
        p += 1 + k;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &sec, &k) != 1)
                return false;
            p += 1 + k;
        }
    }
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (*p || y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
        (mo == 2 && d == 29 && !leap) || h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0 ||
        sec < 0)
        return false;
    *ms_r = civil_days(y, mo, d) * DAY_MS + ((int64_t)h * 3600 + mi * 60 + sec) * 1000 -
            CHINA_OFFSET_MS;
    return true;
}

bool china_date_day(const char *s, int64_t *day_r)
{
    int64_t ms;
    if (!s || strlen(s) != 10 || s[4] != '-' || !china_time_parse(s, &ms))
        return false;
    *day_r = china_day(ms);
    return true;
}
