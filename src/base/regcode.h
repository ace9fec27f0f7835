/*
 * Statistical division codes (区划代码) and their extension below community.
 *
 * A code as users write it has 12 digits for province .. community
 * (6 county + 3 street + 3 community, trailing zeros for higher levels),
 * 15 for a grid (community + 3) and 18 for a building (grid + 3). Inside the
 * program and the database a code is an int64 holding the 18-digit form,
 * right-padded with zeros. A region at a level with `d` significant digits
 * owns the integer range [code, code + 10^(18-d)): its whole subtree. Scope
 * filters are therefore one range condition on an indexed column.
 *
 *   level       digits  example (written)
 *   1 province   2      110000000000
 *   2 city       4      110100000000
 *   3 district   6      110101000000
 *   4 street     9      110101001000
 *   5 community 12      110101001001
 *   6 grid      15      110101001001001
 *   7 building  18      110101001001001001
 */
#ifndef FK_BASE_REGCODE_H
#define FK_BASE_REGCODE_H

#include <stdbool.h>
#include <stdint.h>

enum region_level {
    LEVEL_PROVINCE = 1,
    LEVEL_CITY,
    LEVEL_DISTRICT,
    LEVEL_STREET,
    LEVEL_COMMUNITY,
    LEVEL_GRID,
    LEVEL_BUILDING,
};

/* 10^18: every padded code is below it. */
#define REGCODE_SPACE 1000000000000000000LL

/* Significant digits of a level (2, 4, 6, 9, 12, 15, 18). */
int regcode_digits(enum region_level lv);

/*
 * Parse a written code (12, 15 or 18 digits). Returns the padded code, or -1
 * when the text is not a well-formed code (a lower segment set under a zero
 * higher segment, e.g. 110000001000). *level_r gets its level.
 */
int64_t regcode_parse(const char *s, enum region_level *level_r);

/* The level of a padded code, 0 if malformed. */
enum region_level regcode_level(int64_t code);

/* Write a padded code in its written form into out (19 bytes). */
void regcode_format(int64_t code, char out[19]);

/* The first code after the subtree of `code` (the exclusive upper bound). */
int64_t regcode_end(int64_t code);

/* Is `child` inside the subtree of `ancestor` (or equal to it)? */
bool regcode_within(int64_t child, int64_t ancestor);

/* The parent code one level up (0 for a province). */
int64_t regcode_parent(int64_t code);

/* The ancestor of `code` at level `lv` when code lies below it, else code
 * itself: the community of a building, a street stays a street. */
int64_t regcode_at_most(int64_t code, enum region_level lv);

/* Level names in Chinese and in the API ("province", …). */
const char *region_level_name(enum region_level lv);
const char *region_level_label(enum region_level lv);
enum region_level region_level_parse(const char *s);

#endif
