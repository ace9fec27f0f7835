/*
 * What the files of publish/ share and nobody else needs: a text buffer
 * growing in a request's arena (SVG paths, the public page's HTML), bounded
 * so that no input can make it grow without limit.
 */
#ifndef FK_PUBLISH_INTERNAL_H
#define FK_PUBLISH_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "base/arena.h"

struct sbuf {
    arena *a;
    char *p;
    size_t n, cap, max;
    bool full; /* something did not fit under max: the text is cut, the caller refuses it */
};

/* A buffer in a of at most max bytes. */
void sbuf_init(struct sbuf *b, arena *a, size_t max);
void sbuf_add(struct sbuf *b, const char *s, size_t n);
void sbuf_puts(struct sbuf *b, const char *s);
void sbuf_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* s with & < > " ' written as HTML entities (text and attribute values). */
void sbuf_html(struct sbuf *b, const char *s);

/* The most bytes of HTML one page or preview may hold. */
#define PUBLISH_HTML_MAX (8u << 20)

/* The style sheet of rendered publications (every rule under .fkp), the
 * same for the public page and the console's preview. */
extern const char publish_css[];

/* One publication's snapshot (publish_render) as an <article>, every text
 * escaped: exactly what /public/ shows of it. */
void publish_html_article(struct sbuf *b, json_t *snapshot);

#endif
