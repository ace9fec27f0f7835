/*
 * Arithmetic on padded 18-digit division codes.
 */
#include "base/regcode.h"

#include <stdio.h>
#include <string.h>

static const int digits[] = {0, 2, 4, 6, 9, 12, 15, 18};
static const char *names[] = {"",       "province",  "city", "district",
                              "street", "community", "grid", "building"};
static const char *labels[] = {"", "省", "市", "区县", "街道", "社区", "网格", "楼栋"};

static int64_t pow10i(int n)
{
    int64_t v = 1;
    while (n-- > 0)
        v *= 10;
    return v;
}

int regcode_digits(enum region_level lv)
{
    return lv >= LEVEL_PROVINCE && lv <= LEVEL_BUILDING ? digits[lv] : 0;
}

/* The segment of `code` that level lv adds (digits of lv minus those above). */
static int64_t segment(int64_t code, int lv)
{
    return (code / pow10i(18 - digits[lv])) % pow10i(digits[lv] - digits[lv - 1]);
}

enum region_level regcode_level(int64_t code)
{
    if (code <= 0 || code >= pow10i(18))
        return 0;
    /* the deepest non-zero segment gives the level; segments above it must
     * all be non-zero */
    int deepest = 0;
    for (int lv = LEVEL_PROVINCE; lv <= LEVEL_BUILDING; lv++)
        if (segment(code, lv) != 0)
            deepest = lv;
    if (!deepest)
        return 0;
    for (int lv = LEVEL_PROVINCE; lv < deepest; lv++)
        if (segment(code, lv) == 0)
            return 0;
    return (enum region_level)deepest;
}

int64_t regcode_parse(const char *s, enum region_level *level_r)
{
    size_t n = s ? strlen(s) : 0;
    if (n != 12 && n != 15 && n != 18)
        return -1;
    int64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    v *= pow10i(18 - (int)n);
    enum region_level lv = regcode_level(v);
    /* a 15-digit code names a grid, an 18-digit one a building */
    if (!lv || (n == 15 && lv != LEVEL_GRID) || (n == 18 && lv != LEVEL_BUILDING))
        return -1;
    if (level_r)
        *level_r = lv;
    return v;
}

void regcode_format(int64_t code, char out[19])
{
    enum region_level lv = regcode_level(code);
    int n = lv == LEVEL_BUILDING ? 18 : lv == LEVEL_GRID ? 15 : 12;
    snprintf(out, 19, "%0*lld", n, (long long)(code / pow10i(18 - n)));
}

int64_t regcode_end(int64_t code)
{
    enum region_level lv = regcode_level(code);
    return lv ? code + pow10i(18 - digits[lv]) : code + 1;
}

bool regcode_within(int64_t child, int64_t ancestor)
{
    return child >= ancestor && child < regcode_end(ancestor);
}

int64_t regcode_parent(int64_t code)
{
    enum region_level lv = regcode_level(code);
    if (lv <= LEVEL_PROVINCE)
        return 0;
    int64_t unit = pow10i(18 - digits[lv - 1]);
    return code / unit * unit;
}

int64_t regcode_at_most(int64_t code, enum region_level lv)
{
    while (code > 0 && regcode_level(code) > lv)
        code = regcode_parent(code);
    return code;
}

const char *region_level_name(enum region_level lv)
{
    return lv >= LEVEL_PROVINCE && lv <= LEVEL_BUILDING ? names[lv] : "";
}

const char *region_level_label(enum region_level lv)
{
    return lv >= LEVEL_PROVINCE && lv <= LEVEL_BUILDING ? labels[lv] : "";
}

enum region_level region_level_parse(const char *s)
{
    for (int lv = LEVEL_PROVINCE; lv <= LEVEL_BUILDING; lv++)
        if (s && !strcmp(s, names[lv]))
            return (enum region_level)lv;
    return 0;
}
