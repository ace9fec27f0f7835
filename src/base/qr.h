/*
 * QR codes as SVG documents (libqrencode does the encoding).
 *
 * Used where a page must show a code it cannot fetch from elsewhere: the
 * otpauth:// URI of a TOTP enrolment (the secret must never leave the
 * server in a URL another service would render), and later venue codes and
 * health codes. The SVG is self-contained (no external reference, no
 * script), scales with its container through its viewBox, and draws all
 * dark modules as one <path> of horizontal runs, so it stays small.
 */
#ifndef FK_BASE_QR_H
#define FK_BASE_QR_H

#include <stddef.h>

#include "base/arena.h"
#include "base/error.h"

/* Light modules kept around the symbol (ISO/IEC 18004 asks for 4). */
#define QR_QUIET 4

/* The longest text accepted: well inside version 40 at level M (2331
 * bytes), and far beyond any URI we encode. */
#define QR_TEXT_MAX 1024

/*
 * Encode `text` (bytes, 8-bit mode, case kept) at error-correction level M
 * with the smallest version that holds it, and write an SVG document:
 *
 *   <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 W W" ...>
 *   <rect width="W" height="W" fill="#fff"/><path fill="#000" d="M4 4h7v1h-7z..."/></svg>
 *
 * where W is the symbol's width plus 2 * QR_QUIET; one unit is one module.
 * The same text always gives the same document. Result NUL-terminated, in
 * `a`; *len_r (may be NULL) its length. Errors: E_INPUT "qr_too_long" for
 * an empty text or one longer than QR_TEXT_MAX, E_NOMEM.
 */
err qr_svg(arena *a, const char *text, char **svg_r, size_t *len_r);

#endif
