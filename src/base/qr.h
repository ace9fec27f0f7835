/*
 * QR codes as SVG documents and PNG images (libqrencode does the encoding).
 *
 * Used where a page must show a code it cannot fetch from elsewhere: the
 * otpauth:// URI of a TOTP enrolment (the secret must never leave the
 * server in a URL another service would render), venue codes and health
 * codes. The SVG is self-contained (no external reference, no script),
 * scales with its container through its viewBox, and draws all dark
 * modules as one <path> of horizontal runs, so it stays small. The PNG is a
 * 1-bit indexed image (light background, one foreground colour), so a
 * health code can be drawn green, yellow or red.
 *
 * Text is encoded at level M with libqrencode's mode optimisation: a token
 * made of digits, upper-case letters and '.' (security/token.h) goes in
 * alphanumeric mode, a smaller symbol than 8-bit mode would give.
 */
#ifndef FK_BASE_QR_H
#define FK_BASE_QR_H

#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"

/* Light modules kept around the symbol (ISO/IEC 18004 asks for 4). */
#define QR_QUIET 4

/* The longest text accepted: well inside version 40 at level M (2331
 * bytes), and far beyond any URI we encode. */
#define QR_TEXT_MAX 1024

/* Pixels per module of a PNG: default and bounds. */
#define QR_SCALE_DEFAULT 8
#define QR_SCALE_MAX     32

/* Foreground colours, 0xRRGGBB. The health-code colours are dark enough
 * for a phone camera to read against white. */
#define QR_BLACK  0x000000u
#define QR_GREEN  0x11804au
#define QR_YELLOW 0xc79100u
#define QR_RED    0xc8102eu
/* Inks offered for venue codes besides black (as dark as the code colours). */
#define QR_VENUE_GREEN 0x0b6e3au
#define QR_VENUE_BLUE  0x1f4e9cu

/*
 * Encode `text` (bytes, case kept) at error-correction level M with the
 * smallest version that holds it, and write an SVG document:
 *
 *   <svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 W W" ...>
 *   <rect width="W" height="W" fill="#fff"/><path fill="#000" d="M4 4h7v1h-7z..."/></svg>
 *
 * where W is the symbol's width plus 2 * QR_QUIET; one unit is one module.
 * The same text always gives the same document. Result NUL-terminated, in
 * `a`; *len_r (may be NULL) its length. Errors: E_INPUT "qr_too_long" for
 * an empty text or one longer than QR_TEXT_MAX, E_NOMEM.
 */
err qr_svg(arena *a, const char *text, char **svg_r, size_t *len_r) MUST_USE;

/* As qr_svg, with the dark modules filled in colour `fg` (0xRRGGBB). */
err qr_svg_color(arena *a, const char *text, uint32_t fg, char **svg_r, size_t *len_r) MUST_USE;

/*
 * The same symbol as a PNG: `scale` pixels per module (1..QR_SCALE_MAX,
 * else E_INPUT "invalid_parameter" field "scale"), the quiet zone included,
 * white background and `fg` (0xRRGGBB) modules; 1-bit indexed colour,
 * uncompressed (stored) deflate blocks. *png_r (from `a`) gets *len_r
 * bytes. Errors as qr_svg.
 */
err qr_png(arena *a, const char *text, int scale, uint32_t fg, uint8_t **png_r,
           size_t *len_r) MUST_USE;

/*
 * The bare module matrix of `text` (qr_svg's symbol, no quiet zone) for a
 * drawing of one's own (a PDF): *width_r modules a side, *dark_r row by row,
 * 1 for a dark module, 0 for light, from `a`. Errors as qr_svg.
 */
err qr_matrix(arena *a, const char *text, uint8_t **dark_r, int *width_r) MUST_USE;

#endif
