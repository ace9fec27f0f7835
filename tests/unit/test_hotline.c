/*
 * The hotline's rule matcher without a database (hotline/match.c): any of
 * the keywords, the must-not words, categories, disabled rules, several
 * rules at once, words that overlap or contain one another (the
 * automaton's failure and dict links), ASCII case, UTF-8 text, words never
 * spanning two texts, a rule set of many words, and the rule checks.
 * tests/api/hotline.test.mjs runs the rules end to end through imports.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "base/error.h"
#include "hotline/hotline.h"

#define WORDS(...) ((const char *const[]){__VA_ARGS__})
#define N(...)     (sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

/* The indexes a ticket matches, as "0,2" ("" none). */
static const char *match(hotline_matcher *m, const char *category, const char *content,
                         const char *address)
{
    static char out[256];
    const char *texts[2] = {content, address};
    size_t hits[64];
    size_t n = hotline_match(m, category, texts, 2, hits, 64);
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), sizeof out - strlen(out), "%s%zu", i ? "," : "", hits[i]);
    return out;
}

static struct hotline_rule rule(const char *name, const char *const *kw, size_t nkw)
{
    return (struct hotline_rule){.name = name, .keywords = kw, .nkeywords = nkw, .enabled = true};
}

static void any_keyword_and_excludes(void **state)
{
    (void)state;
    struct hotline_rule r[3] = {
        rule("核酸排队", WORDS("排队", "人太多"), 2),
        rule("核酸结果查询", WORDS("核酸结果", "检测结果"), 2),
        rule("隔离管控诉求", WORDS("隔离", "管控"), 2),
    };
    r[2].excludes = WORDS("解除隔离证明已收到");
    r[2].nexcludes = 1;
    hotline_matcher *m;
    assert_int_equal(hotline_matcher_new(r, 3, &m), E_OK);
    assert_string_equal(match(m, "疫情防控", "采样点排队的人太多", NULL), "0");
    assert_string_equal(match(m, "疫情防控", "核酸结果查不到，排队两小时", NULL), "0,1");
    assert_string_equal(match(m, "疫情防控", "小区垃圾没人清理", NULL), "");
    assert_string_equal(match(m, "", "要求解除居家隔离", NULL), "2");
    /* a must-not word anywhere in the texts drops the rule, only that rule */
    assert_string_equal(match(m, "", "解除隔离证明已收到，但核酸结果没出", NULL), "1");
    /* the address counts as text too */
    assert_string_equal(match(m, "", "咨询", "隔离酒店门口"), "2");
    /* empty and NULL texts */
    assert_string_equal(match(m, NULL, NULL, NULL), "");
    assert_string_equal(match(m, NULL, "", ""), "");
    hotline_matcher_free(&m);
    assert_null(m);
}

static void categories_and_disabled(void **state)
{
    (void)state;
    struct hotline_rule r[3] = {
        rule("设施报修", WORDS("灯坏"), 1),
        rule("停用的规则", WORDS("灯坏"), 1),
        rule("任意分类", WORDS("灯"), 1),
    };
    r[0].categories = WORDS("市容环境", "城市管理");
    r[0].ncategories = 2;
    r[1].enabled = false;
    hotline_matcher *m;
    assert_int_equal(hotline_matcher_new(r, 3, &m), E_OK);
    assert_string_equal(match(m, "市容环境", "路灯坏了", NULL), "0,2");
    assert_string_equal(match(m, "城市管理", "路灯坏了", NULL), "0,2");
    /* spaces around the hotline's category are not part of it */
    assert_string_equal(match(m, "  城市管理 ", "路灯坏了", NULL), "0,2");
    assert_string_equal(match(m, "疫情防控", "路灯坏了", NULL), "2");
    assert_string_equal(match(m, NULL, "路灯坏了", NULL), "2");
    /* a category is equal, not contained */
    assert_string_equal(match(m, "市容", "路灯坏了", NULL), "2");
    hotline_matcher_free(&m);
}

/* Words inside words and words overlapping: every one is found, which a
 * matcher that stops at the first word or skips the dict links misses. */
static void overlapping_words(void **state)
{
    (void)state;
    struct hotline_rule r[5] = {
        rule("a", WORDS("he"), 1),           rule("b", WORDS("she"), 1),
        rule("c", WORDS("his"), 1),          rule("d", WORDS("hers"), 1),
        rule("e", WORDS("核酸检测结果"), 1),
    };
    hotline_matcher *m;
    assert_int_equal(hotline_matcher_new(r, 5, &m), E_OK);
    assert_string_equal(match(m, NULL, "ushers", NULL), "0,1,3");
    assert_string_equal(match(m, NULL, "ahishers", NULL), "0,1,2,3");
    assert_string_equal(match(m, NULL, "h", NULL), "");
    /* a prefix of a longer word is not the word; the longer word is found
     * after a false start */
    assert_string_equal(match(m, NULL, "核酸检测报告", NULL), "");
    assert_string_equal(match(m, NULL, "核酸核酸检测结果", NULL), "4");
    hotline_matcher_free(&m);
}

static void ascii_case_and_spans(void **state)
{
    (void)state;
    struct hotline_rule r[2] = {rule("app", WORDS("APP"), 1), rule("qr", WORDS("健康码弹窗"), 1)};
    hotline_matcher *m;
    assert_int_equal(hotline_matcher_new(r, 2, &m), E_OK);
    assert_string_equal(match(m, NULL, "北京健康宝app打不开", NULL), "0");
    assert_string_equal(match(m, NULL, "App", NULL), "0");
    assert_string_equal(match(m, NULL, "健康码弹窗了", NULL), "1");
    /* a word never spans the content and the address */
    assert_string_equal(match(m, NULL, "健康码", "弹窗"), "");
    /* a partial UTF-8 character does not match the whole one */
    assert_string_equal(match(m, NULL, "健康\xe7\xa0", NULL), "");
    hotline_matcher_free(&m);
}

/* Many rules of many words, each found, and a ticket matched many times
 * (the scratch stamps reset between calls). */
static void many_rules(void **state)
{
    (void)state;
    enum { RULES = HOTLINE_RULES_MAX, WORDS_PER = 5 };
    static char words[RULES][WORDS_PER][16];
    static const char *ptr[RULES][WORDS_PER];
    static struct hotline_rule r[RULES];
    for (int i = 0; i < RULES; i++) {
        for (int k = 0; k < WORDS_PER; k++) {
            snprintf(words[i][k], sizeof words[i][k], "w%d_%d;", i, k);
            ptr[i][k] = words[i][k];
        }
        r[i] = rule("r", ptr[i], WORDS_PER);
    }
    hotline_matcher *m;
    assert_int_equal(hotline_matcher_new(r, RULES, &m), E_OK);
    for (int round = 0; round < 3; round++)
        for (int i = 0; i < RULES; i += 37) {
            char text[64], want[16];
            snprintf(text, sizeof text, "xx w%d_%d; yy", i, (i + round) % WORDS_PER);
            snprintf(want, sizeof want, "%d", i);
            assert_string_equal(match(m, NULL, text, NULL), want);
        }
    /* "w1_0;" must not match inside "w11_0;" */
    assert_string_equal(match(m, NULL, "w11_0;", NULL), "11");
    hotline_matcher_free(&m);
}

static void empty_keyword_refused(void **state)
{
    (void)state;
    struct hotline_rule r = rule("x", WORDS(""), 1);
    hotline_matcher *m = NULL;
    assert_int_equal(hotline_matcher_new(&r, 1, &m), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_rule");
    assert_null(m);
    /* no rules at all: nothing matches */
    assert_int_equal(hotline_matcher_new(NULL, 0, &m), E_OK);
    assert_string_equal(match(m, "x", "排队", NULL), "");
    hotline_matcher_free(&m);
}

static void rule_expect(struct hotline_rule r, const char *slug, const char *field)
{
    err e = hotline_rule_check(&r);
    if (!slug) {
        assert_int_equal(e, E_OK);
        return;
    }
    assert_int_equal(e, E_INPUT);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, field);
}

static void rule_checks(void **state)
{
    (void)state;
    struct hotline_rule ok = rule("核酸排队", WORDS("排队"), 1);
    rule_expect(ok, NULL, NULL);
    struct hotline_rule r = ok;
    r.name = "";
    rule_expect(r, "invalid_value", "name");
    r.name = "一行\n两行";
    rule_expect(r, "invalid_value", "name");
    r = ok;
    r.nkeywords = 0;
    rule_expect(r, "required", "keywords");
    r = ok;
    r.keywords = WORDS("排队", "排队");
    r.nkeywords = 2;
    rule_expect(r, "invalid_value", "keywords");
    r = ok;
    /* 30 characters pass, 31 do not (characters, not bytes) */
    r.keywords = WORDS("一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十");
    rule_expect(r, NULL, NULL);
    r.keywords = WORDS("一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一");
    rule_expect(r, "invalid_value", "keywords");
    r = ok;
    r.excludes = WORDS("排队");
    r.nexcludes = 1;
    rule_expect(r, "invalid_value", "excludes");
    r = ok;
    r.categories = WORDS("");
    r.ncategories = 1;
    rule_expect(r, "invalid_value", "categories");
    r = ok;
    r.nkeywords = HOTLINE_WORDS_MAX + 1;
    rule_expect(r, "too_many_words", "keywords");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(any_keyword_and_excludes),
        cmocka_unit_test(categories_and_disabled),
        cmocka_unit_test(overlapping_words),
        cmocka_unit_test(ascii_case_and_spans),
        cmocka_unit_test(many_rules),
        cmocka_unit_test(empty_keyword_refused),
        cmocka_unit_test(rule_checks),
    };
    return cmocka_run_group_tests_name("hotline/match", tests, NULL, NULL);
}
