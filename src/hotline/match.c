/*
 * The extraction rules' matcher (hotline.h): every keyword and excluded
 * word of the enabled rules in one Aho-Corasick automaton over bytes
 * (UTF-8 text matches as bytes; ASCII letters folded to lower case), so a
 * ticket's texts are read once whatever the number of rules and words.
 * Also the rules' checks, which need no database.
 *
 * The trie keeps its children as sibling lists (the alphabet of Chinese
 * keywords is wide and the fan-out small); the failure links are computed
 * breadth first, and each node's `dict` link points to the nearest node
 * on its failure chain that ends a word, so reporting the words ending at
 * a byte walks only words.
 */
#include <stdlib.h>
#include <string.h>

#include "base/grow.h"
#include "base/json.h"
#include "base/validate.h"
#include "hotline/hotline.h"

struct node {
    int child, sibling; /* -1: none */
    int fail, dict;     /* dict: the nearest node on the failure chain with words, -1 none */
    int words;          /* the first word ending here (index into words), -1 none */
    unsigned char byte;
};

struct word {
    int rule;     /* index into the rules given */
    bool exclude; /* a must-not word */
    int next;     /* the next word ending at the same node, -1 none */
};

struct hotline_matcher {
    struct node *nodes;
    size_t nnodes, cap;
    struct word *words;
    size_t nwords;
    const struct hotline_rule *rules;
    size_t nrules;
    /* scratch of one hotline_match call: per rule, the call's stamp when a
     * keyword / an excluded word was seen */
    unsigned *hit, *excluded, stamp;
};

static unsigned char fold(unsigned char c)
{
    return c >= 'A' && c <= 'Z' ? (unsigned char)(c - 'A' + 'a') : c;
}

static int child_of(const hotline_matcher *m, int n, unsigned char c)
{
    for (int k = m->nodes[n].child; k >= 0; k = m->nodes[k].sibling)
        if (m->nodes[k].byte == c)
            return k;
    return -1;
}

static int node_new(hotline_matcher *m, unsigned char c)
{
    if (!GROW(&m->nodes, &m->cap, m->nnodes, 1, 256))
        return -1;
    m->nodes[m->nnodes] = (struct node){-1, -1, 0, -1, -1, c};
    return (int)m->nnodes++;
}

static err add_word(hotline_matcher *m, const char *w, int rule, bool exclude)
{
    if (!w || !*w)
        return err_set(E_INPUT, "invalid_rule", "keywords", "关键词不能为空");
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)w; *p; p++) {
        unsigned char c = fold(*p);
        int k = child_of(m, n, c);
        if (k < 0) {
            if ((k = node_new(m, c)) < 0)
                return E_NOMEM;
            m->nodes[k].sibling = m->nodes[n].child;
            m->nodes[n].child = k;
        }
        n = k;
    }
    m->words[m->nwords] = (struct word){rule, exclude, m->nodes[n].words};
    m->nodes[n].words = (int)m->nwords++;
    return E_OK;
}

/* The failure and dict links, breadth first. */
static err link(hotline_matcher *m)
{
    int *queue = malloc(m->nnodes * sizeof *queue);
    if (!queue)
        return E_NOMEM;
    size_t head = 0, tail = 0;
    for (int k = m->nodes[0].child; k >= 0; k = m->nodes[k].sibling) {
        m->nodes[k].fail = 0;
        queue[tail++] = k;
    }
    while (head < tail) {
        int n = queue[head++];
        for (int k = m->nodes[n].child; k >= 0; k = m->nodes[k].sibling) {
            int f = m->nodes[n].fail, g;
            while ((g = child_of(m, f, m->nodes[k].byte)) < 0 && f)
                f = m->nodes[f].fail;
            m->nodes[k].fail = g >= 0 && g != k ? g : 0;
            int fk = m->nodes[k].fail;
            m->nodes[k].dict = m->nodes[fk].words >= 0 ? fk : m->nodes[fk].dict;
            queue[tail++] = k;
        }
    }
    free(queue);
    return E_OK;
}

err hotline_matcher_new(const struct hotline_rule *rules, size_t n, hotline_matcher **m_r)
{
    hotline_matcher *m = calloc(1, sizeof *m);
    if (!m)
        return E_NOMEM;
    size_t nwords = 0;
    for (size_t i = 0; i < n; i++)
        if (rules[i].enabled)
            nwords += rules[i].nkeywords + rules[i].nexcludes;
    m->rules = rules;
    m->nrules = n;
    m->words = calloc(nwords ? nwords : 1, sizeof *m->words);
    m->hit = calloc(n ? n : 1, sizeof *m->hit);
    m->excluded = calloc(n ? n : 1, sizeof *m->excluded);
    err e = m->words && m->hit && m->excluded && node_new(m, 0) == 0 ? E_OK : E_NOMEM;
    for (size_t i = 0; i < n && !e; i++) {
        if (!rules[i].enabled)
            continue;
        for (size_t k = 0; k < rules[i].nkeywords && !e; k++)
            e = add_word(m, rules[i].keywords[k], (int)i, false);
        for (size_t k = 0; k < rules[i].nexcludes && !e; k++)
            e = add_word(m, rules[i].excludes[k], (int)i, true);
    }
    if (!e)
        e = link(m);
    if (e) {
        hotline_matcher_free(&m);
        return e;
    }
    *m_r = m;
    return E_OK;
}

void hotline_matcher_free(hotline_matcher **mp)
{
    hotline_matcher *m = *mp;
    if (!m)
        return;
    free(m->nodes);
    free(m->words);
    free(m->hit);
    free(m->excluded);
    free(m);
    *mp = NULL;
}

static void report(hotline_matcher *m, int n)
{
    for (int w = m->nodes[n].words; w >= 0; w = m->words[w].next) {
        const struct word *x = &m->words[w];
        (x->exclude ? m->excluded : m->hit)[x->rule] = m->stamp;
    }
}

static void scan(hotline_matcher *m, const char *text)
{
    int n = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned char c = fold(*p);
        int k;
        while ((k = child_of(m, n, c)) < 0 && n)
            n = m->nodes[n].fail;
        n = k >= 0 ? k : 0;
        for (int d = m->nodes[n].words >= 0 ? n : m->nodes[n].dict; d > 0; d = m->nodes[d].dict)
            report(m, d);
    }
}

/* Does the rule apply to a ticket of `category` (leading and trailing
 * spaces aside)? */
static bool category_applies(const struct hotline_rule *r, const char *category)
{
    if (!r->ncategories)
        return true;
    if (!category)
        return false;
    while (*category == ' ')
        category++;
    size_t len = strlen(category);
    while (len && category[len - 1] == ' ')
        len--;
    for (size_t i = 0; i < r->ncategories; i++)
        if (strlen(r->categories[i]) == len && !memcmp(r->categories[i], category, len))
            return true;
    return false;
}

size_t hotline_match(hotline_matcher *m, const char *category, const char *const *texts,
                     size_t ntexts, size_t *out, size_t max)
{
    if (++m->stamp == 0) { /* wrapped: old stamps could read as this call's */
        memset(m->hit, 0, m->nrules * sizeof *m->hit);
        memset(m->excluded, 0, m->nrules * sizeof *m->excluded);
        m->stamp = 1;
    }
    for (size_t i = 0; i < ntexts; i++)
        if (texts[i])
            scan(m, texts[i]); /* separately: a word never spans two texts */
    size_t n = 0;
    for (size_t i = 0; i < m->nrules && n < max; i++)
        if (m->rules[i].enabled && m->hit[i] == m->stamp && m->excluded[i] != m->stamp &&
            category_applies(&m->rules[i], category))
            out[n++] = i;
    return n;
}

/* ---- checks -------------------------------------------------------------------------------- */

static err words_check(const char *const *w, size_t n, size_t min, size_t maxlen, const char *field,
                       const char *label)
{
    if (n < min)
        return err_set(E_INPUT, "required", field, "请至少填写一个%s", label);
    if (n > HOTLINE_WORDS_MAX)
        return err_set(E_INPUT, "too_many_words", field, "%s最多 %d 个", label, HOTLINE_WORDS_MAX);
    for (size_t i = 0; i < n; i++) {
        if (!w[i] || !*w[i] || !utf8_valid_text(w[i]) || utf8_len(w[i]) > maxlen ||
            strpbrk(w[i], "\t\r\n"))
            return err_set(E_INPUT, "invalid_value", field, "%s应为 1 到 %zu 个字符的一行文字",
                           label, maxlen);
        for (size_t k = 0; k < i; k++)
            if (!strcmp(w[k], w[i]))
                return err_set(E_INPUT, "invalid_value", field, "%s“%s”重复", label, w[i]);
    }
    return E_OK;
}

err hotline_rule_check(const struct hotline_rule *r)
{
    if (!r->name || !*r->name || !utf8_valid_text(r->name) ||
        utf8_len(r->name) > HOTLINE_RULE_NAME_MAX || strpbrk(r->name, "\t\r\n"))
        return err_set(E_INPUT, "invalid_value", "name", "规则名称应为 1 到 %d 个字符的一行文字",
                       HOTLINE_RULE_NAME_MAX);
    err e = words_check(r->keywords, r->nkeywords, 1, HOTLINE_WORD_MAX, "keywords", "关键词");
    if (!e)
        e = words_check(r->excludes, r->nexcludes, 0, HOTLINE_WORD_MAX, "excludes", "排除词");
    if (!e)
        e = words_check(r->categories, r->ncategories, 0, HOTLINE_CATEGORY_MAX, "categories",
                        "问题分类");
    for (size_t i = 0; i < r->nexcludes && !e; i++)
        for (size_t k = 0; k < r->nkeywords; k++)
            if (!strcmp(r->excludes[i], r->keywords[k]))
                return err_set(E_INPUT, "invalid_value", "excludes", "“%s”不能既是关键词又是排除词",
                               r->excludes[i]);
    return e;
}
