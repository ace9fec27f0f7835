/*
 * China time: every date and time a user reads, and every "today", is
 * Asia/Shanghai, which is UTC+8 all year (no daylight saving since 1991).
 * The server's own time zone never matters: times are stored as UTC epoch
 * milliseconds (DESIGN §4) and turned into China time here, and only here.
 */
#ifndef FK_BASE_TIME_H
#define FK_BASE_TIME_H

#include <stdbool.h>
#include <stdint.h>

/* The offset of China time from UTC. */
#define CHINA_OFFSET_MS (8 * 3600 * 1000LL)
#define DAY_MS          86400000LL

/* Text of a China time: "2024-05-01 08:00:00" (19 characters and a NUL). */
#define CHINA_TIME_LEN 20

/*
 * Write epoch milliseconds `ms` as China time "YYYY-MM-DD HH:MM:SS" into
 * out; "" for ms <= 0 (never set) or a time that cannot be represented.
 */
void china_time(int64_t ms, char out[CHINA_TIME_LEN]);

/* The China date of `ms` as yyyymmdd (0 when it cannot be represented). */
int32_t china_date(int64_t ms);

/* Today's China date as yyyymmdd. */
int32_t china_today(void);

/* The China day number of `ms` (days since 1970-01-01 in China time). */
int64_t china_day(int64_t ms);

/* The epoch milliseconds at which the China day of `ms` began. */
int64_t china_day_start(int64_t ms);

/*
 * Parse China time text "YYYY-MM-DD", "YYYY-MM-DD HH:MM" or
 * "YYYY-MM-DD HH:MM:SS" (a '/' for '-' and a 'T' for the space accepted:
 * how spreadsheets write dates) into epoch ms. False for anything else or
 * a date that does not exist; *ms_r untouched then.
 */
bool china_time_parse(const char *s, int64_t *ms_r);

/* A date parameter "YYYY-MM-DD" exactly (an API's from / to) as its China
 * day number (china_day of its midnight); false otherwise, *day_r untouched. */
bool china_date_day(const char *s, int64_t *day_r);

/* china_day of an epoch-ms column or expression, as SQL both databases run
 * (integer division: times from 1970 on), for recounts grouped by day
 * (stats/stats.h): CHINA_DAY_SQL("created_at"). */
#define CHINA_DAY_SQL(col) CHINA_DAY_SQL_OPEN col CHINA_DAY_SQL_CLOSE
/* Its two halves, around a column known only at run time (a report's
 * whitelisted column, report/report.c). */
#define CHINA_DAY_SQL_OPEN  "(("
#define CHINA_DAY_SQL_CLOSE " + 28800000) / 86400000)"

#endif
