/*
 * QR codes as SVG and PNG: libqrencode makes the module matrix, this file
 * draws it.
 *
 * The PNG is written by hand (signature, IHDR, PLTE, IDAT, IEND, each with
 * its CRC-32) with the image data in stored (uncompressed) deflate blocks
 * inside a zlib wrapper (Adler-32). A 1-bit image of a QR code is a few
 * kilobytes (version 4 at 8 pixels a module: 14 KB), so compression would
 * buy little and would add a library to every build for it.
 */
#include "base/qr.h"

#include <errno.h>
#include <qrencode.h>
#include <stdio.h>
#include <string.h>

/* The longest run command: "M177 177h177v1h-177z" is 20 characters. */
#define RUN_MAX 24

/* The module matrix of `text`, or an error (qr_svg's). */
static err encode(const char *text, QRcode **q_r)
{
    size_t tn = text ? strlen(text) : 0;
    if (tn == 0 || tn > QR_TEXT_MAX)
        return err_set(E_INPUT, "qr_too_long", NULL, "二维码内容为空或过长");
    /* QR_MODE_8 only says how non-alphanumeric text is taken (as bytes);
     * runs of digits and of the alphanumeric set still get their modes */
    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    if (!q)
        return errno == ERANGE ? err_set(E_INPUT, "qr_too_long", NULL, "二维码内容过长")
                               : err_set(E_NOMEM, NULL, NULL, NULL);
    *q_r = q;
    return E_OK;
}

err qr_svg_color(arena *a, const char *text, uint32_t fg, char **svg_r, size_t *len_r)
{
    QRcode *q;
    err e = encode(text, &q);
    if (e)
        return e;
    int w = q->width, size = w + 2 * QR_QUIET;

    /* Count the runs of dark modules first, so the buffer is sized once. */
    size_t runs = 0;
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w; x++)
            if ((q->data[y * w + x] & 1) && (x == 0 || !(q->data[y * w + x - 1] & 1)))
                runs++;

    char colour[8] = "#000";
    if (fg & 0xffffff)
        snprintf(colour, sizeof colour, "#%06x", (unsigned)(fg & 0xffffff));
    size_t cap = 256 + runs * RUN_MAX, n = 0;
    char *out = arena_alloc(a, cap);
    n += (size_t)snprintf(out, cap,
                          "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\" "
                          "shape-rendering=\"crispEdges\"><rect width=\"%d\" height=\"%d\" "
                          "fill=\"#fff\"/><path fill=\"%s\" d=\"",
                          size, size, size, size, colour);
    for (int y = 0; y < w; y++) {
        for (int x = 0; x < w;) {
            if (!(q->data[y * w + x] & 1)) {
                x++;
                continue;
            }
            int x0 = x;
            while (x < w && (q->data[y * w + x] & 1))
                x++;
            n += (size_t)snprintf(out + n, cap - n, "M%d %dh%dv1h-%dz", x0 + QR_QUIET, y + QR_QUIET,
                                  x - x0, x - x0);
        }
    }
    n += (size_t)snprintf(out + n, cap - n, "\"/></svg>");
    QRcode_free(q);
    *svg_r = out;
    if (len_r)
        *len_r = n;
    return E_OK;
}

err qr_svg(arena *a, const char *text, char **svg_r, size_t *len_r)
{
    return qr_svg_color(a, text, QR_BLACK, svg_r, len_r);
}

err qr_matrix(arena *a, const char *text, uint8_t **dark_r, int *width_r)
{
    QRcode *q;
    err e = encode(text, &q);
    if (e)
        return e;
    int w = q->width;
    uint8_t *m = arena_alloc(a, (size_t)w * (size_t)w);
    for (int i = 0; i < w * w; i++)
        m[i] = q->data[i] & 1;
    QRcode_free(q);
    *dark_r = m;
    *width_r = w;
    return E_OK;
}

/* ---- PNG ---------------------------------------------------------------------------- */

static uint32_t crc32_update(uint32_t c, const uint8_t *p, size_t n)
{
    c = ~c;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xedb88320u & (0u - (c & 1)));
    }
    return ~c;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
    return p + 4;
}

/* Write a chunk of `n` data bytes already at p + 8; returns its end. */
static uint8_t *chunk(uint8_t *p, const char type[4], size_t n)
{
    put32(p, (uint32_t)n);
    memcpy(p + 4, type, 4);
    return put32(p + 8 + n, crc32_update(0, p + 4, n + 4));
}

#define STORED_MAX 65535

err qr_png(arena *a, const char *text, int scale, uint32_t fg, uint8_t **png_r, size_t *len_r)
{
    if (scale < 1 || scale > QR_SCALE_MAX)
        return err_set(E_INPUT, "invalid_parameter", "scale", "二维码像素倍数应在1到%d之间",
                       QR_SCALE_MAX);
    QRcode *q;
    err e = encode(text, &q);
    if (e)
        return e;
    int w = q->width, px = (w + 2 * QR_QUIET) * scale;
    size_t row = 1 + ((size_t)px + 7) / 8, raw_n = row * (size_t)px;
    size_t blocks = (raw_n + STORED_MAX - 1) / STORED_MAX;
    size_t idat_n = 2 + blocks * 5 + raw_n + 4;
    size_t cap = 8 + (12 + 13) + (12 + 6) + (12 + idat_n) + 12;
    uint8_t *out = arena_alloc(a, cap), *p = out;

    memcpy(p, "\x89PNG\r\n\x1a\n", 8);
    p += 8;
    uint8_t *d = p + 8; /* IHDR: 1-bit indexed, no interlace */
    d = put32(d, (uint32_t)px);
    d = put32(d, (uint32_t)px);
    memcpy(d, "\x01\x03\x00\x00\x00", 5);
    p = chunk(p, "IHDR", 13);
    d = p + 8; /* PLTE: 0 light, 1 dark */
    const uint8_t plte[6] = {0xff,       0xff, 0xff, (uint8_t)(fg >> 16), (uint8_t)(fg >> 8),
                             (uint8_t)fg};
    memcpy(d, plte, 6);
    p = chunk(p, "PLTE", 6);

    /* The scanlines, filter type 0, one bit a pixel, most significant first. */
    uint8_t *raw = arena_alloc(a, raw_n);
    memset(raw, 0, raw_n);
    for (int y = 0; y < px; y++) {
        uint8_t *r = raw + (size_t)y * row + 1;
        int my = y / scale - QR_QUIET;
        if (my < 0 || my >= w)
            continue;
        for (int x = 0; x < px; x++) {
            int mx = x / scale - QR_QUIET;
            if (mx >= 0 && mx < w && (q->data[my * w + mx] & 1))
                r[x / 8] |= (uint8_t)(0x80 >> (x % 8));
        }
    }
    QRcode_free(q);

    /* IDAT: zlib header (deflate, 32 KB window, no preset dictionary, the
     * check bits making it a multiple of 31), stored blocks, Adler-32. */
    d = p + 8;
    *d++ = 0x78;
    *d++ = 0x01;
    uint32_t s1 = 1, s2 = 0;
    for (size_t off = 0; off < raw_n; off += STORED_MAX) {
        size_t n = raw_n - off < STORED_MAX ? raw_n - off : STORED_MAX;
        *d++ = off + n == raw_n ? 1 : 0; /* BFINAL, BTYPE 00 */
        *d++ = (uint8_t)n;
        *d++ = (uint8_t)(n >> 8);
        *d++ = (uint8_t)~n;
        *d++ = (uint8_t)(~n >> 8);
        memcpy(d, raw + off, n);
        d += n;
        for (size_t i = 0; i < n; i++) {
            s1 = (s1 + raw[off + i]) % 65521;
            s2 = (s2 + s1) % 65521;
        }
    }
    put32(d, s2 << 16 | s1);
    p = chunk(p, "IDAT", idat_n);
    p = chunk(p, "IEND", 0);
    *png_r = out;
    *len_r = (size_t)(p - out);
    return E_OK;
}
