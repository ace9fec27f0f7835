/*
 * The allow-list HTML sanitiser (html.h): one pass over the input, a stack
 * of the allowed elements open, an output buffer with a hard cap. It is
 * not an HTML5 parser and does not try to be: it only needs to decide, for
 * each byte, whether it becomes escaped text, an allowed tag it writes
 * itself, or nothing. Anything it does not understand becomes text or
 * nothing, never markup.
 */
#include "base/html.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

struct out {
    arena *a;
    char *p;
    size_t len, cap, max;
    bool full;  /* past max, or out of memory: nothing more is written */
    bool nomem; /* the arena could not grow */
};

static void put(struct out *o, const char *s, size_t n)
{
    if (o->full)
        return;
    if (o->len + n > o->max) {
        o->full = true;
        return;
    }
    if (o->len + n + 1 > o->cap) {
        size_t cap = o->cap ? o->cap * 2 : 256;
        while (cap < o->len + n + 1)
            cap *= 2;
        if (cap > o->max + 1)
            cap = o->max + 1;
        char *np = arena_alloc(o->a, cap);
        if (!np) {
            o->full = o->nomem = true;
            return;
        }
        if (o->len)
            memcpy(np, o->p, o->len);
        o->p = np;
        o->cap = cap;
    }
    memcpy(o->p + o->len, s, n);
    o->len += n;
}

static void puts_(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

/* one code point as UTF-8 */
static void put_cp(struct out *o, uint32_t cp)
{
    char b[4];
    if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        cp = 0xFFFD;
    if (cp < 0x20 && cp != '\t' && cp != '\n' && cp != '\r')
        return;
    if (cp == 0x7F)
        return;
    switch (cp) {
    case '&':
        puts_(o, "&amp;");
        return;
    case '<':
        puts_(o, "&lt;");
        return;
    case '>':
        puts_(o, "&gt;");
        return;
    case '"':
        puts_(o, "&quot;");
        return;
    case '\'':
        puts_(o, "&#39;");
        return;
    default:
        break;
    }
    if (cp < 0x80) {
        b[0] = (char)cp;
        put(o, b, 1);
    } else if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        put(o, b, 2);
    } else if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        put(o, b, 3);
    } else {
        b[0] = (char)(0xF0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[3] = (char)(0x80 | (cp & 0x3F));
        put(o, b, 4);
    }
}

/* Decode one UTF-8 sequence at s[i..n): its code point (U+FFFD and one
 * byte for an invalid one) and its length. */
static uint32_t utf8_next(const unsigned char *s, size_t i, size_t n, size_t *len_r)
{
    unsigned c = s[i];
    size_t k;
    uint32_t cp, min;
    *len_r = 1;
    if (c < 0x80)
        return c;
    if ((c & 0xE0) == 0xC0)
        k = 1, cp = c & 0x1F, min = 0x80;
    else if ((c & 0xF0) == 0xE0)
        k = 2, cp = c & 0x0F, min = 0x800;
    else if ((c & 0xF8) == 0xF0)
        k = 3, cp = c & 0x07, min = 0x10000;
    else
        return 0xFFFD;
    for (size_t j = 1; j <= k; j++) {
        if (i + j >= n || (s[i + j] & 0xC0) != 0x80)
            return 0xFFFD;
        cp = (cp << 6) | (s[i + j] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0xFFFD;
    *len_r = k + 1;
    return cp;
}

static bool is_alpha(int c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_alnum(int c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

static bool is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f';
}

static int lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c + 32 : c;
}

/* the named references worth knowing; others stay literal text */
static const struct {
    const char *name;
    uint32_t cp;
} named[] = {{"amp", '&'},      {"lt", '<'},        {"gt", '>'},       {"quot", '"'},
             {"apos", '\''},    {"nbsp", 0xA0},     {"middot", 0xB7},  {"mdash", 0x2014},
             {"ndash", 0x2013}, {"hellip", 0x2026}, {"ldquo", 0x201C}, {"rdquo", 0x201D},
             {"lsquo", 0x2018}, {"rsquo", 0x2019},  {"times", 0xD7},   {"copy", 0xA9}};

/*
 * A character reference at s[i] == '&': its code point and length, or
 * false (the '&' is then a literal ampersand). The ';' is required for
 * names and optional for numbers, as browsers read them.
 */
static bool entity(const char *s, size_t i, size_t n, uint32_t *cp_r, size_t *len_r)
{
    size_t j = i + 1;
    if (j < n && s[j] == '#') {
        j++;
        bool hex = j < n && (s[j] == 'x' || s[j] == 'X');
        if (hex)
            j++;
        size_t start = j;
        uint32_t v = 0;
        while (j < n && (hex ? is_alnum((unsigned char)s[j]) : (s[j] >= '0' && s[j] <= '9'))) {
            int c = lower((unsigned char)s[j]), d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                break;
            if (v < 0x110000)
                v = v * (hex ? 16u : 10u) + (uint32_t)d;
            j++;
        }
        if (j == start)
            return false;
        if (j < n && s[j] == ';')
            j++;
        *cp_r = v;
        *len_r = j - i;
        return true;
    }
    for (size_t k = 0; k < sizeof named / sizeof named[0]; k++) {
        size_t l = strlen(named[k].name);
        if (j + l < n && !memcmp(s + j, named[k].name, l) && s[j + l] == ';') {
            *cp_r = named[k].cp;
            *len_r = l + 2;
            return true;
        }
    }
    return false;
}

/* Text s[0..n) decoded (references, UTF-8) and written escaped. */
static void put_text(struct out *o, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l;
        if (s[i] == '&' && entity(s, i, n, &cp, &l)) {
            put_cp(o, cp);
            i += l;
            continue;
        }
        cp = utf8_next((const unsigned char *)s, i, n, &l);
        put_cp(o, cp);
        i += l;
    }
}

/* Decode s[0..n) (references, UTF-8) into a NUL-terminated arena string
 * with raw characters (no escaping): an attribute's value to judge. */
static char *decode(arena *a, const char *s, size_t n)
{
    struct out o = {.a = a, .max = 4 * n + 16};
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t l;
        if (!(s[i] == '&' && entity(s, i, n, &cp, &l)))
            cp = utf8_next((const unsigned char *)s, i, n, &l);
        i += l;
        if (cp == 0 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            cp = 0xFFFD;
        char b[4];
        size_t k;
        if (cp < 0x80)
            b[0] = (char)cp, k = 1;
        else if (cp < 0x800)
            b[0] = (char)(0xC0 | (cp >> 6)), b[1] = (char)(0x80 | (cp & 0x3F)), k = 2;
        else if (cp < 0x10000)
            b[0] = (char)(0xE0 | (cp >> 12)), b[1] = (char)(0x80 | ((cp >> 6) & 0x3F)),
            b[2] = (char)(0x80 | (cp & 0x3F)), k = 3;
        else
            b[0] = (char)(0xF0 | (cp >> 18)), b[1] = (char)(0x80 | ((cp >> 12) & 0x3F)),
            b[2] = (char)(0x80 | ((cp >> 6) & 0x3F)), b[3] = (char)(0x80 | (cp & 0x3F)), k = 4;
        put(&o, b, k);
    }
    put(&o, "", 1);
    return o.full ? NULL : o.p;
}

enum tag {
    T_NONE = 0,
    T_P,
    T_BR,
    T_STRONG,
    T_EM,
    T_U,
    T_H3,
    T_H4,
    T_UL,
    T_OL,
    T_LI,
    T_BLOCKQUOTE,
    T_A,
    T_IMG,
};

static const char *const tag_names[] = {
    [T_P] = "p",
    [T_BR] = "br",
    [T_STRONG] = "strong",
    [T_EM] = "em",
    [T_U] = "u",
    [T_H3] = "h3",
    [T_H4] = "h4",
    [T_UL] = "ul",
    [T_OL] = "ol",
    [T_LI] = "li",
    [T_BLOCKQUOTE] = "blockquote",
    [T_A] = "a",
    [T_IMG] = "img",
};

static const struct {
    const char *name;
    enum tag t;
} synonyms[] = {{"b", T_STRONG}, {"i", T_EM}, {"div", T_P}};

/* elements dropped with everything inside them */
static const char *const dropped[] = {
    "script",   "style", "iframe", "object", "svg",     "math",     "template", "noscript",
    "textarea", "title", "select", "xmp",    "noembed", "noframes", "head",     "frameset"};

static bool name_is(const char *name, size_t n, const char *lit)
{
    return strlen(lit) == n && !memcmp(name, lit, n);
}

static enum tag tag_of(const char *name, size_t n)
{
    for (size_t t = 1; t < sizeof tag_names / sizeof tag_names[0]; t++)
        if (name_is(name, n, tag_names[t]))
            return (enum tag)t;
    for (size_t k = 0; k < sizeof synonyms / sizeof synonyms[0]; k++)
        if (name_is(name, n, synonyms[k].name))
            return synonyms[k].t;
    return T_NONE;
}

static bool is_dropped(const char *name, size_t n)
{
    for (size_t k = 0; k < sizeof dropped / sizeof dropped[0]; k++)
        if (name_is(name, n, dropped[k]))
            return true;
    return false;
}

/* a decoded href worth keeping: no control character, whitespace only
 * inside (never in the scheme), an allowed scheme */
static bool href_ok(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7F)
            return false;
    static const char *const schemes[] = {"http://", "https://", "mailto:"};
    for (size_t k = 0; k < 3; k++) {
        size_t l = strlen(schemes[k]), i;
        for (i = 0; i < l && v[i] && lower((unsigned char)v[i]) == schemes[k][i]; i++)
            ;
        if (i == l && v[l])
            return true;
    }
    return false;
}

static bool src_ok(const char *v)
{
    static const char prefix[] = "/api/v1/attachments/";
    size_t l = sizeof prefix - 1, d = 0;
    if (strncmp(v, prefix, l))
        return false;
    for (const char *p = v + l; *p; p++, d++)
        if (*p < '0' || *p > '9')
            return false;
    return d >= 1 && d <= 20;
}

struct attrs {
    const char *href, *src, *alt; /* decoded, or NULL */
};

/* the attribute value, trimmed of ASCII whitespace (the URL's) */
static const char *trimmed(arena *a, const char *v)
{
    while (*v && is_space((unsigned char)*v))
        v++;
    size_t n = strlen(v);
    while (n && is_space((unsigned char)v[n - 1]))
        n--;
    return arena_strndup(a, v, n);
}

/*
 * Parse a tag's attributes from s[*ip] up to its '>': those of interest to
 * tag t into *at. Returns false when the input ends before the '>' (the
 * rest is then dropped); *ip past the '>'.
 */
static bool parse_attrs(arena *a, const char *s, size_t n, size_t *ip, enum tag t, struct attrs *at)
{
    size_t i = *ip;
    for (;;) {
        while (i < n && (is_space((unsigned char)s[i]) || s[i] == '/'))
            i++;
        if (i >= n)
            return false;
        if (s[i] == '>') {
            *ip = i + 1;
            return true;
        }
        size_t ns = i;
        while (i < n && !is_space((unsigned char)s[i]) && s[i] != '>' && s[i] != '/' && s[i] != '=')
            i++;
        if (i == ns) /* a lone '=' */
            i++;
        size_t nn = i - ns;
        while (i < n && is_space((unsigned char)s[i]))
            i++;
        const char *val = NULL;
        size_t vl = 0;
        if (i < n && s[i] == '=') {
            i++;
            while (i < n && is_space((unsigned char)s[i]))
                i++;
            if (i >= n)
                return false;
            if (s[i] == '"' || s[i] == '\'') {
                char q = s[i++];
                val = s + i;
                while (i < n && s[i] != q)
                    i++;
                if (i >= n)
                    return false;
                vl = (size_t)(s + i - val);
                i++;
            } else {
                val = s + i;
                while (i < n && !is_space((unsigned char)s[i]) && s[i] != '>')
                    i++;
                vl = (size_t)(s + i - val);
            }
        }
        if (!val || nn > 8)
            continue;
        char name[9];
        for (size_t k = 0; k < nn; k++)
            name[k] = (char)lower((unsigned char)s[ns + k]);
        name[nn] = '\0';
        const char **slot = NULL;
        if (t == T_A && !strcmp(name, "href"))
            slot = &at->href;
        else if (t == T_IMG && !strcmp(name, "src"))
            slot = &at->src;
        else if (t == T_IMG && !strcmp(name, "alt"))
            slot = &at->alt;
        if (slot && !*slot) { /* the first one counts, as in browsers */
            const char *d = decode(a, val, vl);
            *slot = d ? d : "";
        }
    }
}

/* An attribute's decoded value written escaped: character by character,
 * never decoded a second time (an "&amp;quot;" must stay what it says). */
static void put_attr(struct out *o, const char *name, const char *v)
{
    size_t n = strlen(v);
    puts_(o, " ");
    puts_(o, name);
    puts_(o, "=\"");
    for (size_t i = 0; i < n;) {
        size_t l;
        put_cp(o, utf8_next((const unsigned char *)v, i, n, &l));
        i += l;
    }
    puts_(o, "\"");
}

/* case-insensitive search of "</name" followed by a space, '/' or '>' */
static size_t find_close(const char *s, size_t i, size_t n, const char *name, size_t nl)
{
    for (; i + 2 + nl <= n; i++) {
        if (s[i] != '<' || s[i + 1] != '/')
            continue;
        size_t k = 0;
        while (k < nl && lower((unsigned char)s[i + 2 + k]) == name[k])
            k++;
        if (k < nl)
            continue;
        if (i + 2 + nl == n || is_space((unsigned char)s[i + 2 + nl]) || s[i + 2 + nl] == '/' ||
            s[i + 2 + nl] == '>')
            return i;
    }
    return n;
}

static size_t skip_past(const char *s, size_t i, size_t n, const char *end)
{
    size_t el = strlen(end);
    for (; i + el <= n; i++)
        if (!memcmp(s + i, end, el))
            return i + el;
    return n;
}

err html_sanitize(arena *a, const char *in, size_t n, size_t max_out, const char *field,
                  const char **out_r, size_t *len_r)
{
    struct out o = {.a = a, .max = max_out};
    enum tag stack[HTML_DEPTH_MAX];
    int depth = 0;
    size_t i = 0, text = 0;
    while (i < n && !o.full) {
        if (in[i] != '<') {
            i++;
            continue;
        }
        /* markup or a literal '<'? */
        size_t j = i + 1;
        bool closing = j < n && in[j] == '/';
        if (closing)
            j++;
        bool tag = j < n && is_alpha((unsigned char)in[j]);
        bool bang = !closing && j < n && (in[j] == '!' || in[j] == '?');
        if (!tag && !bang) {
            i++;
            continue;
        }
        put_text(&o, in + text, i - text);
        if (bang) {
            if (n - j >= 3 && !memcmp(in + j, "!--", 3))
                i = skip_past(in, j + 3, n, "-->");
            else if (n - j >= 8 && !memcmp(in + j, "![CDATA[", 8))
                i = skip_past(in, j + 8, n, "]]>");
            else
                i = skip_past(in, j, n, ">");
            text = i;
            continue;
        }
        char name[16];
        size_t nl = 0, ns = j;
        while (j < n && is_alnum((unsigned char)in[j])) {
            if (nl < sizeof name - 1)
                name[nl] = (char)lower((unsigned char)in[j]);
            nl++;
            j++;
        }
        if (nl >= sizeof name) /* no tag of ours is that long */
            nl = sizeof name - 1, name[0] = '\0';
        (void)ns;
        enum tag t = tag_of(name, nl);
        struct attrs at = {0};
        bool ended = parse_attrs(a, in, n, &j, closing ? T_NONE : t, &at);
        i = text = ended ? j : n;
        if (!ended)
            break;
        if (!closing && is_dropped(name, nl)) {
            size_t c = find_close(in, i, n, name, nl);
            i = c < n ? skip_past(in, c, n, ">") : n;
            text = i;
            continue;
        }
        if (t == T_NONE)
            continue;
        if (closing) {
            int k = depth - 1;
            while (k >= 0 && stack[k] != t)
                k--;
            if (k < 0)
                continue;
            while (depth > k) {
                depth--;
                puts_(&o, "</");
                puts_(&o, tag_names[stack[depth]]);
                puts_(&o, ">");
            }
            continue;
        }
        if (t == T_BR) {
            puts_(&o, "<br>");
            continue;
        }
        if (t == T_IMG) {
            if (at.src && src_ok(at.src)) {
                puts_(&o, "<img");
                put_attr(&o, "src", at.src);
                if (at.alt)
                    put_attr(&o, "alt", at.alt);
                puts_(&o, ">");
            }
            continue;
        }
        if (depth == HTML_DEPTH_MAX)
            continue;
        stack[depth++] = t;
        puts_(&o, "<");
        puts_(&o, tag_names[t]);
        if (t == T_A) {
            const char *h = at.href ? trimmed(a, at.href) : NULL;
            if (h && href_ok(h))
                put_attr(&o, "href", h);
            puts_(&o, " rel=\"noopener\"");
        }
        puts_(&o, ">");
    }
    if (text < i)
        put_text(&o, in + text, i - text);
    while (depth > 0) {
        depth--;
        puts_(&o, "</");
        puts_(&o, tag_names[stack[depth]]);
        puts_(&o, ">");
    }
    o.max++; /* room for the terminating NUL */
    put(&o, "", 1);
    if (o.nomem)
        return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
    if (o.full)
        return err_set(E_INPUT, "too_long", field, "内容过长");
    o.len--;
    *out_r = o.p;
    if (len_r)
        *len_r = o.len;
    return E_OK;
}

char *html_text(arena *a, const char *html, size_t max_chars)
{
    size_t hn = strlen(html);
    const char *end = html + hn;
    struct out o = {.a = a, .max = hn + 8};
    size_t chars = 0;
    bool cut = false;
    for (const char *p = html; *p && !cut;) {
        if (*p == '<') {
            const char *e = strchr(p, '>');
            if (!e)
                break;
            /* block ends and line breaks separate words; inline tags do not */
            static const char *const breaks[] = {"</p>",  "</li>",         "</h3>",
                                                 "</h4>", "</blockquote>", "<br>"};
            bool brk = false;
            for (size_t k = 0; k < sizeof breaks / sizeof breaks[0]; k++)
                brk = brk || !strncmp(p, breaks[k], strlen(breaks[k]));
            if (o.len && o.p[o.len - 1] != ' ' && brk)
                put(&o, " ", 1);
            p = e + 1;
            continue;
        }
        uint32_t cp;
        size_t l;
        if (*p == '&' && entity(p, 0, (size_t)(end - p), &cp, &l)) {
            char b[2] = {(char)cp, 0};
            if (cp < 0x80)
                put(&o, b, 1);
            p += l;
        } else {
            (void)utf8_next((const unsigned char *)p, 0, (size_t)(end - p), &l);
            put(&o, p, l);
            p += l;
        }
        if (++chars >= max_chars && *p) {
            put(&o, "…", strlen("…"));
            cut = true;
        }
    }
    while (o.len && o.p[o.len - 1] == ' ')
        o.len--;
    put(&o, "", 1);
    return o.full ? arena_strdup(a, "") : o.p;
}
