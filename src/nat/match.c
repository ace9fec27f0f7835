/*
 * The city's testing-site list and its matching to the district's sites
 * (东软核酸数据匹配, nat.h "the city's site list"; docs/nat.md).
 *
 * Owns: the name normaliser and the scorer (pure), the matching run
 * (every live district site read once, each city site scored against
 * them in memory, its best three kept as candidates), the import of the
 * city's list from xlsx or CSV (job/import.h's import_read) with its row
 * errors, and the reads and the review of the city sites.
 *
 * Matching is the deployment's own work, not a caller's: it reads every
 * live district site whatever the caller's scope (the district's list is
 * what a city site is matched against). What a caller sees and decides is
 * scoped: a city site belongs to the region of its matched or best
 * candidate site, or to none (district-wide scopes only).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "base/xlsx.h"
#include "db/query.h"
#include "job/import.h"
#include "job/job.h"
#include "nat/internal.h"
#include "nat/nat.h"
#include "security/audit.h"

/* ---- states and thresholds ------------------------------------------------------- */

static const struct vocab_word match_states[] = {
    [NAT_MATCH_AUTO] = {"auto", "自动匹配"},
    [NAT_MATCH_CONFIRMED] = {"confirmed", "已确认"},
    [NAT_MATCH_TO_REVIEW] = {"to_review", "待审核"},
    [NAT_MATCH_UNMATCHED] = {"unmatched", "未匹配"},
    [NAT_MATCH_REJECTED] = {"rejected", "无对应点位"},
};
const struct vocab nat_match_state_vocab =
    VOCAB("nat_match_states", "城市点位匹配状态", match_states);
_Static_assert(sizeof match_states / sizeof match_states[0] == NAT_MATCH_STATE__COUNT,
               "a word for every state");

static struct nat_match_params params = {
    .auto_score = 0.85, .margin = 0.15, .min_score = 0.40, .near_m = 300, .far_m = 2000};

void nat_match_configure(const struct nat_match_params *p)
{
    params = *p;
}

struct nat_match_params nat_match_params_get(void)
{
    return params;
}

/* ---- names ---------------------------------------------------------------------------- */

/* The next code point of s at *i (advanced); -1 for an invalid byte
 * (skipped alone). */
static long utf8_next(const unsigned char *s, size_t *i)
{
    unsigned c = s[*i];
    size_t k = c < 0x80             ? 0
               : (c & 0xE0) == 0xC0 ? 1
               : (c & 0xF0) == 0xE0 ? 2
               : (c & 0xF8) == 0xF0 ? 3
                                    : 9;
    if (k == 9) {
        (*i)++;
        return -1;
    }
    long cp = k ? (long)(c & (0x3F >> k)) : (long)c;
    for (size_t j = 1; j <= k; j++) {
        unsigned b = s[*i + j];
        if ((b & 0xC0) != 0x80) {
            (*i)++;
            return -1;
        }
        cp = cp << 6 | (b & 0x3F);
    }
    *i += k + 1;
    return cp;
}

static size_t utf8_put(long cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Spaces, punctuation and brackets, ASCII or CJK: not part of a name. */
static bool dropped(long cp)
{
    if (cp < 0x80)
        return !((cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z'));
    return (cp >= 0x80 && cp <= 0xBF) ||     /* Latin-1 spaces and signs, the middle dot */
           (cp >= 0x2000 && cp <= 0x206F) || /* general punctuation: dashes, quotes, … */
           (cp >= 0x3000 && cp <= 0x303F) || /* CJK: 、。〈〉《》「」【】〔〕 and the wide space */
           cp == 0x30FB ||                   /* ・ */
           (cp >= 0xFE30 && cp <= 0xFE4F) || /* CJK compatibility forms */
           (cp >= 0xFF5F && cp <= 0xFF65);   /* half-width brackets and stops */
}

/* What city and district lists append to a site's name and that says
 * nothing about which site it is; the longer first. */
static const char *const suffixes[] = {
    "核酸检测采样点", "核酸采样检测点", "核酸检测采样站", "核酸检测点位", "核酸采样点位",
    "核酸检测点",     "核酸采样点",     "核酸检测站",     "核酸采样站",   "核酸检测亭",
    "核酸采样亭",     "核酸点位",       "核酸点",         "检测点",       "采样点",
    "采样站",         "检测站",         "采样亭",         "点位",         "核酸",
};

size_t nat_name_normalise(const char *name, uint32_t *out, size_t cap)
{
    size_t len = strlen(name), n = 0, i = 0;
    char *buf = malloc(len + 1); /* folding never lengthens the text */
    if (!buf)
        return 0;
    while (i < len) {
        long cp = utf8_next((const unsigned char *)name, &i);
        if (cp < 0)
            continue;
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp -= 0xFEE0; /* full-width ASCII */
        if (dropped(cp))
            continue;
        if (cp >= 'A' && cp <= 'Z')
            cp += 'a' - 'A';
        n += utf8_put(cp, buf + n);
    }
    buf[n] = '\0';
    for (bool again = true; again;) {
        again = false;
        for (size_t k = 0; k < sizeof suffixes / sizeof suffixes[0]; k++) {
            size_t m = strlen(suffixes[k]);
            if (n > m && !memcmp(buf + n - m, suffixes[k], m)) {
                n -= m;
                buf[n] = '\0';
                again = true;
                break;
            }
        }
    }
    size_t count = 0;
    for (i = 0; i < n && count < cap;) {
        long cp = utf8_next((const unsigned char *)buf, &i);
        if (cp >= 0)
            out[count++] = (uint32_t)cp;
    }
    free(buf);
    return count;
}

#define NAME_CPS 128 /* code points compared: names are at most 100 characters */

/* The Dice coefficient of the bigram multisets of a and b (of their single
 * characters when either is one character long). */
static double dice(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    if (!na || !nb)
        return 0;
    if (na == nb && !memcmp(a, b, na * sizeof *a))
        return 1;
    size_t w = na < 2 || nb < 2 ? 1 : 2, ka = na - w + 1, kb = nb - w + 1, common = 0;
    bool used[NAME_CPS] = {false};
    for (size_t i = 0; i < ka; i++)
        for (size_t j = 0; j < kb; j++)
            if (!used[j] && a[i] == b[j] && (w == 1 || a[i + 1] == b[j + 1])) {
                used[j] = true;
                common++;
                break;
            }
    return 2.0 * (double)common / (double)(ka + kb);
}

double nat_name_score(const char *a, const char *b)
{
    uint32_t x[NAME_CPS], y[NAME_CPS];
    size_t nx = nat_name_normalise(a, x, NAME_CPS), ny = nat_name_normalise(b, y, NAME_CPS);
    return dice(x, nx, y, ny);
}

double nat_match_score(double name_score, double distance_m)
{
    if (distance_m < 0)
        return name_score;
    if (distance_m <= params.near_m)
        return fmin(1.0, name_score + 0.15);
    if (distance_m <= params.far_m)
        return name_score *
               (1.0 - 0.25 * (distance_m - params.near_m) / (double)(params.far_m - params.near_m));
    return -1;
}

/* ---- matching ------------------------------------------------------------------------ */

/* A live district site as matching reads it. */
struct dsite {
    int64_t id, region;
    double lng, lat;
    uint32_t cps[NAME_CPS];
    size_t n;
};

static err district_sites(db *d, arena *a, struct dsite **items_r, size_t *n_r)
{
    int64_t total;
    err e = db_query_int64(d, "SELECT COUNT(*) FROM nat_sites WHERE deleted_at = 0", &total);
    if (e)
        return e;
    struct dsite *items = arena_alloc(a, (size_t)(total ? total : 1) * sizeof *items);
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "SELECT id, name, region_code, lng, lat FROM nat_sites WHERE deleted_at = 0 "
             "ORDER BY id",
             &s)))
        return e;
    size_t n = 0;
    bool row;
    while ((int64_t)n < total && !(e = db_row(s, &row)) && row) {
        struct dsite *v = &items[n++];
        v->id = db_col_int64(s, 0);
        v->n = nat_name_normalise(db_col_text(s, 1), v->cps, NAME_CPS);
        v->region = db_col_int64(s, 2);
        v->lng = db_col_null(s, 3) ? NAN : db_col_double(s, 3);
        v->lat = db_col_null(s, 4) ? NAN : db_col_double(s, 4);
    }
    db_done(s);
    *items_r = items;
    *n_r = n;
    return e;
}

struct scored {
    const struct dsite *site;
    double score, name_score;
    int64_t distance;
};

/* Better first: score, then name, then nearer, then the older site. */
static bool better(const struct scored *x, const struct scored *y)
{
    if (x->score != y->score)
        return x->score > y->score;
    if (x->name_score != y->name_score)
        return x->name_score > y->name_score;
    int64_t dx = x->distance < 0 ? INT64_MAX : x->distance,
            dy = y->distance < 0 ? INT64_MAX : y->distance;
    if (dx != dy)
        return dx < dy;
    return x->site->id < y->site->id;
}

/* The best NAT_CITY_CANDIDATES of the district's sites for one city site;
 * *n_r how many scored at least min_score. */
static void score_one(const char *name, double lng, double lat, const struct dsite *ds, size_t nd,
                      struct scored best[NAT_CITY_CANDIDATES], size_t *n_r)
{
    uint32_t cps[NAME_CPS];
    size_t ncp = nat_name_normalise(name, cps, NAME_CPS), n = 0;
    bool pos = !isnan(lng) && !isnan(lat);
    for (size_t i = 0; i < nd; i++) {
        const struct dsite *v = &ds[i];
        double dist = -1;
        if (pos && !isnan(v->lng)) {
            dist = nat_distance_m(lng, lat, v->lng, v->lat);
            if (dist > params.far_m)
                continue; /* ruled out before the names are compared */
        }
        double ns = dice(cps, ncp, v->cps, v->n), sc = nat_match_score(ns, dist);
        if (sc < params.min_score)
            continue;
        struct scored c = {v, sc, ns, dist < 0 ? -1 : (int64_t)llround(dist)};
        size_t at = n < NAT_CITY_CANDIDATES ? n : NAT_CITY_CANDIDATES;
        if (at == NAT_CITY_CANDIDATES && !better(&c, &best[at - 1]))
            continue;
        if (at == NAT_CITY_CANDIDATES)
            at--;
        while (at > 0 && better(&c, &best[at - 1])) {
            best[at] = best[at - 1];
            at--;
        }
        best[at] = c;
        if (n < NAT_CITY_CANDIDATES)
            n++;
    }
    *n_r = n;
}

/* The outcome of matching one city site. */
struct outcome {
    struct scored best[NAT_CITY_CANDIDATES];
    size_t n;
    enum nat_match_state state;
};

/* Score one city site against the district's sites and decide: no
 * candidate, unmatched; the best at or above auto_score and margin ahead
 * of the second, auto; else to review. */
static void match_one(const char *name, double lng, double lat, const struct dsite *ds, size_t nd,
                      struct outcome *o)
{
    score_one(name, lng, lat, ds, nd, o->best, &o->n);
    double second = o->n > 1 ? o->best[1].score : 0;
    if (!o->n)
        o->state = NAT_MATCH_UNMATCHED;
    else if (o->best[0].score >= params.auto_score && o->best[0].score - second >= params.margin)
        o->state = NAT_MATCH_AUTO;
    else
        o->state = NAT_MATCH_TO_REVIEW;
}

static void count(struct nat_match_counts *c, const struct outcome *o)
{
    c->matched++;
    c->auto_n += o->state == NAT_MATCH_AUTO;
    c->to_review += o->state == NAT_MATCH_TO_REVIEW;
    c->unmatched += o->state == NAT_MATCH_UNMATCHED;
}

/* Bind the outcome's state, site, region and score at i .. i+3. */
static void bind_outcome(db_stmt *s, int i, const struct outcome *o)
{
    db_bind_text(s, i, vocab_name(&nat_match_state_vocab, (size_t)o->state));
    db_bind_int64(s, i + 1, o->state == NAT_MATCH_AUTO ? o->best[0].site->id : 0);
    db_bind_int64(s, i + 2, o->n ? o->best[0].site->region : 0);
    db_bind_double(s, i + 3, o->n ? o->best[0].score : 0);
}

/* The candidates of city site `id` as the outcome has them, in one
 * statement; `fresh`: a new city site, with none to remove first. */
static err write_candidates(db *d, int64_t id, const struct outcome *o, bool fresh)
{
    db_stmt *s;
    err e;
    if (!fresh) {
        if ((e = db_prepare(d, "DELETE FROM nat_city_candidates WHERE city_id = ?", &s)))
            return e;
        db_bind_int64(s, 1, id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    static const char *const insert[NAT_CITY_CANDIDATES] = {
        "INSERT INTO nat_city_candidates (city_id, pos, site_id, score, name_score, distance) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        "INSERT INTO nat_city_candidates (city_id, pos, site_id, score, name_score, distance) "
        "VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)",
        "INSERT INTO nat_city_candidates (city_id, pos, site_id, score, name_score, distance) "
        "VALUES (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?), (?, ?, ?, ?, ?, ?)",
    };
    if (!o->n)
        return E_OK;
    if ((e = db_prepare(d, insert[o->n - 1], &s)))
        return e;
    for (size_t i = 0; i < o->n; i++) {
        int b = (int)i * 6;
        db_bind_int64(s, b + 1, id);
        db_bind_int64(s, b + 2, (int64_t)i + 1);
        db_bind_int64(s, b + 3, o->best[i].site->id);
        db_bind_double(s, b + 4, o->best[i].score);
        db_bind_double(s, b + 5, o->best[i].name_score);
        db_bind_int64(s, b + 6, o->best[i].distance);
    }
    return db_run(s, NULL);
}

/* A city site the re-run covers. */
struct pending {
    int64_t id;
    const char *name;
    double lng, lat;
};

/* Every undecided city site that needs a run: to review, unmatched, or
 * auto with its district site since deleted. */
static err pending_list(db *d, arena *a, struct pending **items_r, size_t *n_r)
{
    static const char *const where =
        " FROM nat_city_sites c WHERE c.state IN ('to_review', 'unmatched') OR (c.state = 'auto' "
        "AND NOT EXISTS (SELECT 1 FROM nat_sites s WHERE s.id = c.site_id AND s.deleted_at = 0))";
    struct query q = QUERY_INIT;
    query_sql(&q, "SELECT COUNT(*)");
    query_sql(&q, where);
    int64_t total;
    err e = query_count(d, &q, &total);
    if (e)
        return e;
    struct pending *items = arena_alloc(a, (size_t)(total ? total : 1) * sizeof *items);
    q = (struct query)QUERY_INIT;
    query_sql(&q, "SELECT c.id, c.name, c.lng, c.lat");
    query_sql(&q, where);
    query_sql(&q, " ORDER BY c.id");
    db_stmt *s;
    if ((e = query_prepare(d, &q, &s)))
        return e;
    bool row;
    size_t k = 0;
    while ((int64_t)k < total && !(e = db_row(s, &row)) && row) {
        struct pending *p = &items[k++];
        p->id = db_col_int64(s, 0);
        p->name = arena_strdup(a, db_col_text(s, 1));
        p->lng = db_col_null(s, 2) ? NAN : db_col_double(s, 2);
        p->lat = db_col_null(s, 3) ? NAN : db_col_double(s, 3);
    }
    db_done(s);
    *items_r = items;
    *n_r = k;
    return e;
}

err nat_city_match(db *d, arena *a, struct nat_match_counts *c_r)
{
    struct dsite *ds;
    struct pending *ps;
    size_t nd, np;
    struct nat_match_counts c = {0};
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = district_sites(d, a, &ds, &nd)) || (e = pending_list(d, a, &ps, &np)))
        goto rollback;
    int64_t now = now_ms();
    for (size_t i = 0; i < np; i++) {
        struct outcome o;
        match_one(ps[i].name, ps[i].lng, ps[i].lat, ds, nd, &o);
        db_stmt *s;
        if ((e = db_prepare(d,
                            "UPDATE nat_city_sites SET state = ?, site_id = ?, region_code = ?, "
                            "score = ?, matched_at = ?, updated_at = ?, version = version + 1 "
                            "WHERE id = ? AND state NOT IN ('confirmed', 'rejected')",
                            &s)))
            goto rollback;
        bind_outcome(s, 1, &o);
        db_bind_int64(s, 5, now);
        db_bind_int64(s, 6, now);
        db_bind_int64(s, 7, ps[i].id);
        int64_t changed = 0;
        if ((e = db_run(s, &changed)))
            goto rollback;
        if (!changed)
            continue; /* decided by a person since it was read */
        if ((e = write_candidates(d, ps[i].id, &o, false)))
            goto rollback;
        count(&c, &o);
    }
    if ((e = db_commit(d)))
        return e;
    if (c_r)
        *c_r = c;
    return E_OK;
rollback:
    db_rollback(d);
    return e;
}

/* ---- the template and the upload's columns ---------------------------------------------- */

#define CITY_SHEET "城市点位"

enum { K_CODE, K_NAME, K_AREA, K_ADDRESS, K_LNG, K_LAT, K__COUNT };

static const char *const heads[K__COUNT] = {
    "点位编码*", "点位名称*", "所属区/街道", "地址", "经度", "纬度",
};
/* The field name each column's errors carry (the API's). */
static const char *const col_fields[K__COUNT] = {"code", "name", "area", "address", "lng", "lat"};
static const char *const col_labels[K__COUNT] = {"点位编码", "点位名称", "所属区/街道",
                                                 "地址",     "经度",     "纬度"};
static const char *const hints[K__COUNT] = {
    "必填：市级系统的点位编码，字母、数字、-_.，不超过40位；再次导入同一编码即更新",
    "必填，不超过100字",
    "如：西城区新街口街道",
    "不超过200字",
    "选填：与纬度同时填写，如 116.3705",
    "选填：与经度同时填写，如 39.9402",
};

err nat_city_template(int *fd_r, int64_t *size_r)
{
    static const double widths[K__COUNT] = {20, 30, 22, 36, 14, 14};
    return import_template(CITY_SHEET, heads, hints, widths, K__COUNT, fd_r, size_r);
}

/* The header as written: the template's, with or without its asterisks
 * (ASCII or full-width), blanks around it ignored. */
static bool header_is(const char *got, const char *want)
{
    size_t n = strlen(want);
    if (want[n - 1] == '*')
        n--;
    while (*got == ' ')
        got++;
    size_t g = strlen(got);
    while (g && got[g - 1] == ' ')
        g--;
    if (g && got[g - 1] == '*')
        g--;
    else if (g >= 3 && !memcmp(got + g - 3, "＊", 3))
        g -= 3;
    return g == n && !memcmp(got, want, n);
}

/* ---- rows ----------------------------------------------------------------------------------- */

#define ERRORS_MAX 500

struct crow {
    long row;
    const char *code, *name, *area, *address;
    double lng, lat;
};

struct upload {
    arena *a;
    bool csv;
    bool header_ok;
    long header_row;
    struct crow *rows;
    size_t n, cap;
    json_t *errors; /* [{row, field, column, code, message}] */
    int64_t failed; /* rows with an error */
    int64_t total;  /* data rows */
};

static void row_error(struct upload *u, long row, int col, const char *slug, const char *msg)
{
    if (json_array_size(u->errors) >= ERRORS_MAX)
        return;
    json_t *o = json_pack("{s:I,s:s,s:s,s:s,s:s}", "row", (json_int_t)row, "field", col_fields[col],
                          "column", heads[col], "code", slug, "message", msg);
    if (o)
        json_array_append_new(u->errors, o);
}

/* A text cell: trimmed, one line, at most max characters (0: required). */
static const char *cell_text(struct upload *u, long row, int col, const char *s, size_t max,
                             bool required, bool *bad)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    const char *t = arena_strndup(u->a, s, n);
    if (!*t && required) {
        row_error(u, row, col, "required", arena_printf(u->a, "请填写%s", col_labels[col]));
        *bad = true;
        return t;
    }
    if (check_text(t, col_fields[col], col_labels[col], max, TEXT_ONE_LINE)) {
        row_error(u, row, col, err_last()->slug, err_last()->message);
        *bad = true;
    }
    return t;
}

static bool code_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > NAT_CITY_CODE_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
              *p == '-' || *p == '_' || *p == '.'))
            return false;
    return true;
}

/* A coordinate cell: empty (NAN), or a number. */
static bool cell_number(const char *s, double *v_r)
{
    while (*s == ' ')
        s++;
    if (!*s) {
        *v_r = NAN;
        return true;
    }
    char *end;
    double v = strtod(s, &end);
    while (*end == ' ')
        end++;
    if (*end || !isfinite(v))
        return false;
    *v_r = v;
    return true;
}

/* One data row as cells of text (xlsx or CSV): checked and kept, or its
 * errors reported. */
static err take_row(struct upload *u, long row, const char *const cells[K__COUNT],
                    const bool formula[K__COUNT])
{
    u->total++;
    bool bad = false;
    for (int c = 0; c < K__COUNT; c++)
        if (formula[c]) {
            row_error(u, row, c, "invalid_value", "单元格含有公式，请复制后“粘贴为数值”再导入");
            bad = true;
        }
    if (bad) {
        u->failed++;
        return E_OK;
    }
    struct crow r = {.row = row};
    r.code = cell_text(u, row, K_CODE, cells[K_CODE], NAT_CITY_CODE_MAX, true, &bad);
    if (*r.code && !bad && !code_ok(r.code)) {
        row_error(u, row, K_CODE, "invalid_value",
                  "点位编码只能由字母、数字和 - _ . 组成，不超过40位");
        bad = true;
    }
    r.name = cell_text(u, row, K_NAME, cells[K_NAME], 100, true, &bad);
    r.area = cell_text(u, row, K_AREA, cells[K_AREA], 100, false, &bad);
    r.address = cell_text(u, row, K_ADDRESS, cells[K_ADDRESS], 200, false, &bad);
    bool lng_ok = cell_number(cells[K_LNG], &r.lng), lat_ok = cell_number(cells[K_LAT], &r.lat);
    if (!lng_ok)
        row_error(u, row, K_LNG, "invalid_value", "经度应为数字");
    if (!lat_ok)
        row_error(u, row, K_LAT, "invalid_value", "纬度应为数字");
    bad = bad || !lng_ok || !lat_ok;
    if (lng_ok && lat_ok) {
        if (isnan(r.lng) != isnan(r.lat)) {
            row_error(u, row, isnan(r.lng) ? K_LNG : K_LAT, "required", "经度和纬度应同时填写");
            bad = true;
        } else if (!isnan(r.lng)) {
            if (r.lng < 73.0 || r.lng > 136.0) {
                row_error(u, row, K_LNG, "out_of_range", "经度应在73到136之间");
                bad = true;
            }
            if (r.lat < 3.0 || r.lat > 54.0) {
                row_error(u, row, K_LAT, "out_of_range", "纬度应在3到54之间");
                bad = true;
            }
        }
    }
    if (!bad)
        for (size_t i = 0; i < u->n; i++)
            if (!strcmp(u->rows[i].code, r.code)) {
                row_error(u, row, K_CODE, "duplicate",
                          arena_printf(u->a, "点位编码与第 %ld 行重复", u->rows[i].row));
                bad = true;
                break;
            }
    if (bad) {
        u->failed++;
        return E_OK;
    }
    if (u->n == u->cap) {
        size_t cap = u->cap ? u->cap * 2 : 256;
        struct crow *rows = arena_alloc(u->a, cap * sizeof *rows);
        if (u->n)
            memcpy(rows, u->rows, u->n * sizeof *rows);
        u->rows = rows;
        u->cap = cap;
    }
    u->rows[u->n++] = r;
    return E_OK;
}

static err header_error(long row, bool csv)
{
    return err_set(E_INPUT, csv ? "invalid_csv" : "invalid_xlsx", NULL,
                   "第 %ld 行不是导入模板的表头：请下载“城市点位”导入模板，按模板填写", row);
}

static bool header_row(const char *const cells[K__COUNT])
{
    for (int c = 0; c < K__COUNT; c++)
        if (!header_is(cells[c], heads[c]))
            return false;
    return true;
}

/* A row of either format (job/import.h's import_read hands a CSV record
 * over as cells of text). */
static err on_row(void *ctx, long row, const struct xlsx_cell *cells, size_t n)
{
    struct upload *u = ctx;
    const char *text[K__COUNT];
    bool formula[K__COUNT];
    for (int c = 0; c < K__COUNT; c++) {
        text[c] = (size_t)c < n ? cells[c].text : "";
        formula[c] = (size_t)c < n && cells[c].formula;
    }
    if (!u->header_ok) {
        if (!header_row(text))
            return header_error(row, u->csv);
        u->header_ok = true;
        u->header_row = row;
        return E_OK;
    }
    if (row == u->header_row + 1 && !strcmp(text[K_CODE], hints[K_CODE]))
        return E_OK; /* the hints row */
    if (u->total >= NAT_CITY_ROWS_MAX)
        return err_set(E_INPUT, "too_many_rows", NULL, "一次最多导入 %d 行", NAT_CITY_ROWS_MAX);
    return take_row(u, row, text, formula);
}

/* The upload, xlsx (the sheet by name when it has it, else the first) or
 * CSV; a malformed CSV record refuses the file, naming its line. */
static err read_upload(struct upload *u, const void *data, size_t n)
{
    struct xlsx_limits lim = {.max_rows = NAT_CITY_ROWS_MAX + 2, .max_cols = 64};
    u->csv = !(n >= 4 && !memcmp(data, "PK\3\4", 4));
    /* GBK, the usual mistake, told as such rather than as a bad record */
    if (u->csv && (memchr(data, '\0', n) || !utf8_valid_text(arena_strndup(u->a, data, n))))
        return err_set(E_INPUT, "invalid_encoding", NULL,
                       "CSV 文件应为 UTF-8 编码：请在 Excel 中另存为“CSV UTF-8”后再导入");
    err e = import_read(data, n, u->csv, CITY_SHEET, &lim, on_row, u);
    if (!u->csv && e == E_INPUT && !strcmp(err_last()->slug, "xlsx_sheet_not_found"))
        e = import_read(data, n, false, NULL, &lim, on_row, u);
    return e;
}

/* ---- the import --------------------------------------------------------------------------------
 */

/* A city site already in the list: its code, id and whether a person
 * decided its match. */
struct known {
    const char *code;
    int64_t id;
    bool decided;
};

static int by_code(const void *x, const void *y)
{
    return strcmp(((const struct known *)x)->code, ((const struct known *)y)->code);
}

/* Every city site's code, sorted, read once: an import looks rows up here
 * instead of asking the database row by row. */
static err known_list(db *d, arena *a, struct known **items_r, size_t *n_r)
{
    int64_t total;
    err e = db_query_int64(d, "SELECT COUNT(*) FROM nat_city_sites", &total);
    if (e)
        return e;
    struct known *items = arena_alloc(a, (size_t)(total ? total : 1) * sizeof *items);
    db_stmt *s;
    if ((e = db_prepare(d, "SELECT code, id, state FROM nat_city_sites", &s)))
        return e;
    size_t n = 0;
    bool row;
    while ((int64_t)n < total && !(e = db_row(s, &row)) && row) {
        const char *state = db_col_text(s, 2);
        items[n++] = (struct known){arena_strdup(a, db_col_text(s, 0)), db_col_int64(s, 1),
                                    !strcmp(state, "confirmed") || !strcmp(state, "rejected")};
    }
    db_done(s);
    qsort(items, n, sizeof *items, by_code);
    *items_r = items;
    *n_r = n;
    return e;
}

/* Bind a row's own fields at 1 .. 6 (name, area, address, lng, lat, now). */
static void bind_row(db_stmt *s, const struct crow *r, int64_t now)
{
    db_bind_text(s, 1, r->name);
    db_bind_text(s, 2, r->area);
    db_bind_text(s, 3, r->address);
    if (isnan(r->lng)) {
        db_bind_null(s, 4);
        db_bind_null(s, 5);
    } else {
        db_bind_double(s, 4, r->lng);
        db_bind_double(s, 5, r->lat);
    }
    db_bind_int64(s, 6, now);
}

/* Write row r: a new city site with its match, or the known one updated
 * (and matched again unless a person decided it). */
static err write_row(db *d, const struct crow *r, const struct known *k, const struct outcome *o,
                     int64_t now)
{
    db_stmt *s;
    err e;
    if (!k) {
        if ((e = db_prepare(
                 d,
                 "INSERT INTO nat_city_sites (name, area, address, lng, lat, updated_at, "
                 "created_at, matched_at, state, site_id, region_code, score, id, code) "
                 "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 &s)))
            return e;
        bind_row(s, r, now);
        db_bind_int64(s, 7, now);
        db_bind_int64(s, 8, now);
        bind_outcome(s, 9, o);
        int64_t id = id_new();
        db_bind_int64(s, 13, id);
        db_bind_text(s, 14, r->code);
        if ((e = db_run(s, NULL)))
            return e;
        return write_candidates(d, id, o, true);
    }
    if (k->decided) {
        if ((e = db_prepare(d,
                            "UPDATE nat_city_sites SET name = ?, area = ?, address = ?, lng = ?, "
                            "lat = ?, updated_at = ?, version = version + 1 WHERE id = ?",
                            &s)))
            return e;
        bind_row(s, r, now);
        db_bind_int64(s, 7, k->id);
        return db_run(s, NULL);
    }
    if ((e = db_prepare(d,
                        "UPDATE nat_city_sites SET name = ?, area = ?, address = ?, lng = ?, lat = "
                        "?, updated_at = ?, matched_at = ?, state = ?, site_id = ?, region_code = "
                        "?, score = ?, version = version + 1 WHERE id = ?",
                        &s)))
        return e;
    bind_row(s, r, now);
    db_bind_int64(s, 7, now);
    bind_outcome(s, 8, o);
    db_bind_int64(s, 12, k->id);
    if ((e = db_run(s, NULL)))
        return e;
    return write_candidates(d, k->id, o, false);
}

err nat_city_import(db *d, arena *a, const void *data, size_t n, json_t **result_r)
{
    if (!n)
        return err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    struct upload u = {.a = a, .errors = json_array()};
    if (!u.errors)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = read_upload(&u, data, n);
    if (!e && !u.total)
        e = err_set(E_INPUT, "empty", NULL, "文件中没有数据：请按模板填写后再导入");
    int64_t created = 0, updated = 0;
    struct nat_match_counts c = {0};
    struct dsite *ds;
    struct known *ks;
    size_t nd, nk;
    if (e || (e = db_begin(d)))
        goto out;
    if ((e = district_sites(d, a, &ds, &nd)) || (e = known_list(d, a, &ks, &nk)))
        goto rollback;
    int64_t now = now_ms();
    for (size_t i = 0; i < u.n; i++) {
        const struct crow *r = &u.rows[i];
        struct known key = {.code = r->code};
        const struct known *k = bsearch(&key, ks, nk, sizeof *ks, by_code);
        struct outcome o = {.n = 0};
        if (!k || !k->decided) {
            match_one(r->name, r->lng, r->lat, ds, nd, &o);
            count(&c, &o);
        }
        if ((e = write_row(d, r, k, &o, now)))
            goto rollback;
        *(k ? &updated : &created) += 1;
    }
    if ((e = db_commit(d)))
        goto out;
    *result_r = json_pack("{s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:o}", "total", (json_int_t)u.total,
                          "created", (json_int_t)created, "updated", (json_int_t)updated, "failed",
                          (json_int_t)u.failed, "auto", (json_int_t)c.auto_n, "to_review",
                          (json_int_t)c.to_review, "unmatched", (json_int_t)c.unmatched, "errors",
                          u.errors);
    u.errors = NULL; /* the result owns it */
    if (!*result_r)
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    goto out;
rollback:
    db_rollback(d);
out:
    json_decref(u.errors);
    return e;
}

err nat_city_import_check(arena *a, const void *data, size_t n, long *rows_r)
{
    if (!n)
        return err_set(E_INPUT, "empty", NULL, "文件为空：请上传按模板填写的 Excel 或 CSV 文件");
    struct upload u = {.a = a, .errors = json_array()};
    if (!u.errors)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    err e = read_upload(&u, data, n);
    if (!e && !u.total)
        e = err_set(E_INPUT, "empty", NULL, "文件中没有数据：请按模板填写后再导入");
    json_decref(u.errors);
    if (!e)
        *rows_r = (long)u.total;
    return e;
}

/* ---- the import job ------------------------------------------------------------------------- */

/* The rows and the audit entry in one transaction (the import's own is a
 * savepoint of it). */
static err city_apply(db *d, arena *a, const struct import_upload *j, json_t **res_r)
{
    err e = db_begin(d);
    if (e)
        return e;
    if ((e = nat_city_import(d, a, j->data, j->n, res_r))) {
        db_rollback(d);
        return e;
    }
    json_t *res = *res_r;
    char detail[200];
    snprintf(detail, sizeof detail, "bytes=%zu total=%lld created=%lld updated=%lld failed=%lld",
             j->n, (long long)json_int(res, "total", 0), (long long)json_int(res, "created", 0),
             (long long)json_int(res, "updated", 0), (long long)json_int(res, "failed", 0));
    if (!(e = import_job_audit(d, j, "nat.city.import", detail)) && !(e = db_commit(d)))
        return E_OK;
    db_rollback(d);
    json_decref(res);
    *res_r = NULL;
    return e;
}

static void run_city(db *d, const struct import_upload *j)
{
    /* the job runs on the import worker's thread: no caller's arena to take */
    arena *a = arena_new(1 << 16);
    json_t *res = NULL;
    err_ignore(job_update(d, j->job_id, "running", 0, j->rows, NULL)); /* display only */
    err e = a ? city_apply(d, a, j, &res) : err_set(E_NOMEM, NULL, NULL, NULL);
    if (e) {
        import_job_fail(d, j->job_id, "nat.city_import", e);
        arena_free(&a);
        return;
    }
    import_job_done(d, j->job_id, json_int(res, "total", 0), res);
    arena_free(&a);
}

err nat_city_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                           size_t n, long rows)
{
    struct import_upload u = {.job_id = job_id, .who = *who, .data = data, .n = n, .rows = rows};
    return import_upload_submit(d, &u, run_city);
}

/* ---- reading -------------------------------------------------------------------------------- */

/* A scope that holds the whole district (or more) sees the city sites
 * that belong to no region yet. */
static bool district_wide(const struct scope *sc)
{
    return sc->lo == 0 || (regcode_level(sc->lo) && regcode_level(sc->lo) <= LEVEL_DISTRICT);
}

static void where_scope(struct query *w, const struct scope *sc)
{
    query_sql(w, district_wide(sc)
                     ? " WHERE ((c.region_code >= ? AND c.region_code < ?) OR c.region_code = 0)"
                     : " WHERE c.region_code >= ? AND c.region_code < ?");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
}

#define CITY_COLS                                                                                  \
    "SELECT c.id, c.code, c.name, c.area, c.address, c.lng, c.lat, c.state, c.site_id, s.name, "   \
    "c.region_code, r.name, c.score, c.matched_at, c.reviewed_by, u.display_name, c.reviewed_at, " \
    "c.version, c.created_at, c.updated_at FROM nat_city_sites c "                                 \
    "LEFT JOIN nat_sites s ON s.id = c.site_id LEFT JOIN regions r ON r.code = c.region_code "     \
    "LEFT JOIN users u ON u.id = c.reviewed_by"

static void read_city(db_stmt *s, arena *a, struct nat_city_site *v)
{
    memset(v, 0, sizeof *v);
    v->id = db_col_int64(s, 0);
    v->code = arena_strdup(a, db_col_text(s, 1));
    v->name = arena_strdup(a, db_col_text(s, 2));
    v->area = arena_strdup(a, db_col_text(s, 3));
    v->address = arena_strdup(a, db_col_text(s, 4));
    v->lng = db_col_null(s, 5) ? NAN : db_col_double(s, 5);
    v->lat = db_col_null(s, 6) ? NAN : db_col_double(s, 6);
    v->state = (enum nat_match_state)vocab_parse(&nat_match_state_vocab, db_col_text(s, 7));
    v->site_id = db_col_int64(s, 8);
    v->site_name = arena_strdup(a, db_col_text(s, 9));
    v->region_code = db_col_int64(s, 10);
    v->region_name = arena_strdup(a, db_col_text(s, 11));
    v->score = db_col_double(s, 12);
    v->matched_at = db_col_int64(s, 13);
    v->reviewed_by = db_col_int64(s, 14);
    v->reviewed_by_name = arena_strdup(a, db_col_text(s, 15));
    v->reviewed_at = db_col_int64(s, 16);
    v->version = db_col_int64(s, 17);
    v->created_at = db_col_int64(s, 18);
    v->updated_at = db_col_int64(s, 19);
}

static err read_city_any(db_stmt *s, arena *a, void *item, void *ctx)
{
    (void)ctx;
    read_city(s, a, item);
    return E_OK;
}

err nat_city_list(db *d, arena *a, const struct scope *scope, const struct nat_city_filter *f,
                  struct nat_city_site **items_r, size_t *n_r, int64_t *total_r)
{
    struct query *w = arena_alloc(a, sizeof *w);
    *w = (struct query)QUERY_INIT;
    where_scope(w, scope);
    if (f->state) {
        query_sql(w, " AND c.state = ?");
        query_text(w, vocab_name(&nat_match_state_vocab, (size_t)f->state));
    }
    if (f->q && *f->q) {
        const char *like = query_like_contains(a, f->q, true);
        query_sql(w, " AND (lower(c.code) LIKE ? ESCAPE '\\' OR lower(c.name) LIKE ? ESCAPE '\\' "
                     "OR lower(c.address) LIKE ? ESCAPE '\\')");
        query_text(w, like);
        query_text(w, like);
        query_text(w, like);
    }
    void *items;
    err e = query_page(d, a, w,
                       &(struct query_page){.count = "SELECT COUNT(*) FROM nat_city_sites c",
                                            .select = CITY_COLS,
                                            .order = " ORDER BY c.code",
                                            .page = f->page,
                                            .page_size = f->page_size,
                                            .max = NAT_EXPORT_MAX,
                                            .size = sizeof(struct nat_city_site),
                                            .read = read_city_any},
                       &items, n_r, total_r);
    if (!e)
        *items_r = items;
    return e;
}

static err candidates(db *d, arena *a, struct nat_city_site *v)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT k.site_id, s.name, s.region_code, r.name, k.score, k.name_score, "
                       "k.distance FROM nat_city_candidates k JOIN nat_sites s ON s.id = k.site_id "
                       "LEFT JOIN regions r ON r.code = s.region_code WHERE k.city_id = ? AND "
                       "s.deleted_at = 0 ORDER BY k.pos",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, v->id);
    bool row;
    v->n_cand = 0;
    v->with_candidates = true;
    while (v->n_cand < NAT_CITY_CANDIDATES && !(e = db_row(s, &row)) && row) {
        struct nat_city_candidate *c = &v->cand[v->n_cand++];
        c->site_id = db_col_int64(s, 0);
        c->site_name = arena_strdup(a, db_col_text(s, 1));
        c->region_code = db_col_int64(s, 2);
        c->region_name = arena_strdup(a, db_col_text(s, 3));
        c->score = db_col_double(s, 4);
        c->name_score = db_col_double(s, 5);
        c->distance = db_col_int64(s, 6);
    }
    db_done(s);
    return e;
}

static err find_by(db *d, arena *a, const struct scope *scope, int64_t id, const char *code,
                   struct nat_city_site *c_r)
{
    struct query q = QUERY_INIT;
    query_sql(&q, CITY_COLS);
    where_scope(&q, scope);
    if (code) {
        query_sql(&q, " AND c.code = ?");
        query_text(&q, code);
    } else {
        query_sql(&q, " AND c.id = ?");
        query_int(&q, id);
    }
    db_stmt *s;
    err e = query_prepare(d, &q, &s);
    if (e)
        return e;
    bool row;
    struct nat_city_site v;
    if (!(e = db_row(s, &row)) && row)
        read_city(s, a, &v);
    db_done(s);
    if (!e && !row)
        e = err_set(E_NOT_FOUND, NULL, NULL, NULL);
    if (!e)
        e = candidates(d, a, &v);
    if (!e)
        *c_r = v;
    return e;
}

err nat_city_find(db *d, arena *a, const struct scope *scope, int64_t id, struct nat_city_site *c_r)
{
    return find_by(d, a, scope, id, NULL, c_r);
}

err nat_city_find_code(db *d, arena *a, const struct scope *scope, const char *code,
                       struct nat_city_site *c_r)
{
    return find_by(d, a, scope, 0, code, c_r);
}

/* ---- the review ---------------------------------------------------------------------------- */

err nat_city_review(db *d, arena *a, const struct scope *scope, int64_t id, int64_t version,
                    int64_t site_id, int64_t user_id)
{
    struct nat_city_site cur;
    struct nat_site site = {0};
    err e = nat_city_find(d, a, scope, id, &cur);
    if (e)
        return e;
    if (version > 0 && version != cur.version)
        return err_set(E_CONFLICT, "version_conflict", "version",
                       "该城市点位已被他人修改，请刷新后重试");
    if (site_id > 0 && nat_site_find(d, a, scope, site_id, &site))
        return err_set(E_INPUT, "invalid_site", "site_id",
                       "所选区级核酸点位不存在或不在您的管辖范围内");
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE nat_city_sites SET state = ?, site_id = ?, region_code = ?, "
                        "reviewed_by = ?, reviewed_at = ?, updated_at = ?, version = version + 1 "
                        "WHERE id = ? AND version = ?",
                        &s)))
        return e;
    int64_t now = now_ms();
    db_bind_text(s, 1, site_id > 0 ? "confirmed" : "rejected");
    db_bind_int64(s, 2, site_id > 0 ? site_id : 0);
    /* a rejected one stays with the region that saw it */
    db_bind_int64(s, 3, site_id > 0 ? site.region_code : cur.region_code);
    db_bind_int64(s, 4, user_id);
    db_bind_int64(s, 5, now);
    db_bind_int64(s, 6, now);
    db_bind_int64(s, 7, id);
    db_bind_int64(s, 8, cur.version);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (!changed)
        return err_set(E_CONFLICT, "version_conflict", "version",
                       "该城市点位已被他人修改，请刷新后重试");
    return E_OK;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static json_t *distance_json(int64_t m)
{
    return m < 0 ? json_null() : json_integer(m);
}

/* Scores to three decimals: what a person compares. */
static json_t *score_json(double v)
{
    return json_real(round(v * 1000.0) / 1000.0);
}

json_t *nat_city_json(const struct nat_city_site *v)
{
    json_t *o = json_object();
    json_set_id(o, "id", v->id);
    json_object_set_new(o, "code", json_string(v->code));
    json_object_set_new(o, "name", json_string(v->name));
    json_object_set_new(o, "area", json_string(v->area));
    json_object_set_new(o, "address", json_string(v->address));
    json_object_set_new(o, "lng", isnan(v->lng) ? json_null() : json_real(v->lng));
    json_object_set_new(o, "lat", isnan(v->lat) ? json_null() : json_real(v->lat));
    json_object_set_new(o, "state",
                        json_string(vocab_name(&nat_match_state_vocab, (size_t)v->state)));
    json_object_set_new(o, "state_label",
                        json_string(vocab_label(&nat_match_state_vocab, (size_t)v->state)));
    if (v->site_id) {
        json_set_id(o, "site_id", v->site_id);
        json_object_set_new(o, "site_name", json_string(v->site_name));
    } else {
        json_object_set_new(o, "site_id", json_null());
        json_object_set_new(o, "site_name", json_null());
    }
    if (v->region_code)
        json_set_region(o, v->region_code, v->region_name);
    else {
        json_object_set_new(o, "region_code", json_null());
        json_object_set_new(o, "region_name", json_null());
    }
    json_object_set_new(o, "score", score_json(v->score));
    json_object_set_new(o, "matched_at", v->matched_at ? json_integer(v->matched_at) : json_null());
    json_object_set_new(o, "reviewed_by_name",
                        v->reviewed_at ? json_string(v->reviewed_by_name) : json_null());
    json_object_set_new(o, "reviewed_at",
                        v->reviewed_at ? json_integer(v->reviewed_at) : json_null());
    json_object_set_new(o, "version", json_integer(v->version));
    json_object_set_new(o, "created_at", json_integer(v->created_at));
    json_object_set_new(o, "updated_at", json_integer(v->updated_at));
    if (!v->with_candidates)
        return o;
    json_t *arr = json_array();
    for (size_t i = 0; i < v->n_cand; i++) {
        const struct nat_city_candidate *c = &v->cand[i];
        json_t *x = json_object();
        json_set_id(x, "site_id", c->site_id);
        json_object_set_new(x, "site_name", json_string(c->site_name));
        json_set_region(x, c->region_code, c->region_name);
        json_object_set_new(x, "score", score_json(c->score));
        json_object_set_new(x, "name_score", score_json(c->name_score));
        json_object_set_new(x, "distance", distance_json(c->distance));
        json_array_append_new(arr, x);
    }
    json_object_set_new(o, "candidates", arr);
    return o;
}
