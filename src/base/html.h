/*
 * A strict allow-list HTML sanitiser for the rich text staff write
 * (notices, knowledge articles, news: docs/community.md). It knows no
 * epidemic; it turns any bytes into a small, well-formed HTML fragment
 * that a browser can insert with v-html without running anything.
 *
 * What survives (everything else is dropped, its text kept):
 *   p br strong em u h3 h4 ul ol li blockquote  (no attributes)
 *   a    href only when http:, https: or mailto: (after entities are
 *        decoded; any control character or whitespace inside the scheme
 *        refuses it); rel="noopener" is always written, target never
 *   img  src only as /api/v1/attachments/<digits> (this instance's
 *        attachments), alt; an img without such a src is dropped
 * The editors' synonyms are mapped: b -> strong, i -> em, div -> p.
 * Dropped with their content: script style iframe object svg math
 * template noscript textarea title select xmp noembed noframes head (embed,
 * a void element, is simply dropped);
 * comments, <!...> (doctype, CDATA) and <?...?> are dropped too.
 *
 * Output: every tag it opens is closed (a close tag closes the open
 * elements above it; close tags with nothing to close are dropped;
 * nesting deeper than HTML_DEPTH_MAX drops the deeper tags); text has
 * entities decoded and re-encoded (& < > " ' as entities, everything
 * else as UTF-8; invalid UTF-8, NUL and numeric references to nothing
 * become U+FFFD; C0 controls other than tab and newlines are dropped).
 * So the output sanitised again is itself (the fuzz harness checks it).
 */
#ifndef FK_BASE_HTML_H
#define FK_BASE_HTML_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

#define HTML_DEPTH_MAX 32

/*
 * Sanitise in[0..n) into a NUL-terminated fragment allocated from a, in
 * *out_r (its length in *len_r, may be NULL). The output is refused past
 * max_out bytes: E_INPUT "too_long" on `field` (Chinese message), *out_r
 * untouched. E_NOMEM when the arena cannot grow.
 */
err html_sanitize(arena *a, const char *in, size_t n, size_t max_out, const char *field,
                  const char **out_r, size_t *len_r) MUST_USE;

/*
 * The text of a sanitised fragment without its tags, entities decoded,
 * block ends as spaces, at most max_chars characters (an ellipsis added
 * when cut): a list's summary. Never fails (an empty string at worst).
 */
char *html_text(arena *a, const char *html, size_t max_chars);

#endif
