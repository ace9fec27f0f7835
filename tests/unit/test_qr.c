/*
 * Unit tests of base/qr.h: the SVG is a well-formed, self-contained
 * document, the same text always gives the same bytes, and drawing it back
 * (every run of the path filled in) gives exactly libqrencode's module
 * matrix for the text at level M, surrounded by a light quiet zone: a
 * decoder reading the picture reads what libqrencode encoded. The PNG is
 * checked chunk by chunk (CRC-32, stored deflate blocks, Adler-32) and
 * pixel by pixel against the same matrix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <qrencode.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/qr.h"

static arena *A;

static const char URI[] = "otpauth://totp/fangkong:admin?secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
                          "&issuer=fangkong&digits=6&period=30";

/* The SVG drawn back into a size x size matrix of 0/1; fails the test on
 * anything but the document qr_svg writes. */
static unsigned char *rasterise(const char *svg, int *size_r)
{
    int size = 0, size2 = 0;
    assert_int_equal(sscanf(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %d %d\"",
                            &size, &size2),
                     2);
    assert_int_equal(size, size2);
    assert_true(size > 2 * QR_QUIET);
    unsigned char *m = calloc((size_t)size * (size_t)size, 1);
    const char *d = strstr(svg, " d=\"");
    assert_non_null(d);
    d += 4;
    while (*d == 'M') {
        int x, y, h, back, used = 0;
        assert_int_equal(sscanf(d, "M%d %dh%dv1h-%dz%n", &x, &y, &h, &back, &used), 4);
        assert_true(used > 0);
        assert_int_equal(h, back); /* a closed one-module-high rectangle */
        assert_true(h > 0 && x >= 0 && y >= 0 && x + h <= size && y < size);
        for (int i = 0; i < h; i++) {
            assert_int_equal(m[y * size + x + i], 0); /* runs never overlap */
            m[y * size + x + i] = 1;
        }
        d += used;
    }
    assert_string_equal(d, "\"/></svg>");
    *size_r = size;
    return m;
}

/* Compare the drawing of `text` with libqrencode's own matrix. */
static void expect_matrix(const char *text)
{
    char *svg;
    size_t len;
    assert_int_equal(qr_svg(A, text, &svg, &len), E_OK);
    assert_int_equal(strlen(svg), len);
    int size;
    unsigned char *m = rasterise(svg, &size);

    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(q);
    int w = q->width;
    assert_int_equal(size, w + 2 * QR_QUIET);
    size_t dark = 0, drawn = 0;
    for (int y = 0; y < size; y++) {
        for (int x = 0; x < size; x++) {
            int qx = x - QR_QUIET, qy = y - QR_QUIET;
            bool inside = qx >= 0 && qy >= 0 && qx < w && qy < w;
            int want = inside ? q->data[qy * w + qx] & 1 : 0; /* the quiet zone is light */
            assert_int_equal(m[y * size + x], want);
            dark += (size_t)want;
            drawn += m[y * size + x];
        }
    }
    assert_int_equal(drawn, dark);
    assert_true(dark > 0);
    QRcode_free(q);
    free(m);
}

static void matrix_of_a_totp_uri(void **state)
{
    (void)state;
    expect_matrix(URI);
}

static void matrix_of_short_and_long_texts(void **state)
{
    (void)state;
    expect_matrix("a");
    expect_matrix("fangkong 防控 https://example.org/?q=1&r=<2>");
    char longest[QR_TEXT_MAX + 1];
    for (int i = 0; i < QR_TEXT_MAX; i++)
        longest[i] = (char)('!' + i % 90);
    longest[QR_TEXT_MAX] = '\0';
    expect_matrix(longest);
}

static void well_formed_and_self_contained(void **state)
{
    (void)state;
    char *svg;
    size_t len;
    assert_int_equal(qr_svg(A, URI, &svg, &len), E_OK);
    assert_true(!strncmp(svg, "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ", 52));
    assert_true(len > 6 && !strcmp(svg + len - 6, "</svg>"));
    /* one rectangle for the light background, one path for every dark module */
    assert_non_null(strstr(svg, "<rect "));
    const char *p = strstr(svg, "<path ");
    assert_non_null(p);
    assert_null(strstr(p + 1, "<path"));
    /* nothing fetched, nothing run: no links, scripts, styles or entities */
    assert_null(strstr(svg, "href"));
    assert_null(strstr(svg, "<script"));
    assert_null(strstr(svg, "url("));
    assert_null(strstr(svg, "<!"));
    assert_null(strchr(svg, '&'));
    /* the text itself is not in the picture's markup */
    assert_null(strstr(svg, "otpauth"));
    /* every element is closed: count '<' and '/>' or '</' */
    int open = 0, closed = 0;
    for (const char *c = svg; *c; c++) {
        if (c[0] == '<' && c[1] != '/')
            open++;
        if ((c[0] == '/' && c[1] == '>') || (c[0] == '<' && c[1] == '/'))
            closed++;
    }
    assert_int_equal(open, 3);
    assert_int_equal(closed, 3);
}

static void deterministic(void **state)
{
    (void)state;
    char *a, *b;
    size_t na, nb;
    assert_int_equal(qr_svg(A, URI, &a, &na), E_OK);
    assert_int_equal(qr_svg(A, URI, &b, &nb), E_OK);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    /* a known text, a known symbol: version 1 (21 modules) plus the quiet zone */
    char *c;
    assert_int_equal(qr_svg(A, "fangkong", &c, NULL), E_OK);
    static const char want[] =
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 29 29\" "
        "shape-rendering=\"crispEdges\"><rect width=\"29\" height=\"29\" fill=\"#fff\"/>"
        "<path fill=\"#000\" d=\"M4 4h7v1h-7z"; /* the top-left finder's first row */
    assert_memory_equal(c, want, sizeof want - 1);
    /* a different text, a different picture */
    char *d;
    assert_int_equal(qr_svg(A, "fangkonG", &d, NULL), E_OK);
    assert_string_not_equal(c, d);
}

static void refused_inputs(void **state)
{
    (void)state;
    char *svg = NULL;
    assert_int_equal(qr_svg(A, "", &svg, NULL), E_INPUT);
    assert_string_equal(err_last()->slug, "qr_too_long");
    assert_int_equal(qr_svg(A, NULL, &svg, NULL), E_INPUT);
    char over[QR_TEXT_MAX + 2];
    memset(over, 'x', sizeof over - 1);
    over[sizeof over - 1] = '\0';
    assert_int_equal(qr_svg(A, over, &svg, NULL), E_INPUT);
    assert_string_equal(err_last()->slug, "qr_too_long");
    assert_null(svg);
}

/* ---- PNG ------------------------------------------------------------------------- */

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint32_t crc32_ref(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0xedb88320u : c >> 1;
    }
    return c ^ 0xffffffffu;
}

/* Walk the chunks (checking every length and CRC), inflate the stored
 * blocks (checking LEN/NLEN and Adler-32), and compare every pixel with
 * libqrencode's matrix scaled up, with the quiet zone light. */
static void expect_png(const char *text, int scale, uint32_t fg)
{
    uint8_t *png;
    size_t n;
    assert_int_equal(qr_png(A, text, scale, fg, &png, &n), E_OK);
    assert_true(n > 8);
    assert_memory_equal(png, "\x89PNG\r\n\x1a\n", 8);
    const char *order[] = {"IHDR", "PLTE", "IDAT", "IEND"};
    size_t off = 8, idx = 0;
    uint32_t width = 0, height = 0;
    const uint8_t *idat = NULL;
    size_t idat_n = 0;
    while (off < n) {
        assert_true(off + 12 <= n);
        uint32_t len = be32(png + off);
        assert_true(off + 12 + len <= n);
        assert_true(idx < 4);
        assert_memory_equal(png + off + 4, order[idx], 4);
        assert_int_equal(be32(png + off + 8 + len), crc32_ref(png + off + 4, len + 4));
        const uint8_t *d = png + off + 8;
        if (idx == 0) {
            assert_int_equal(len, 13);
            width = be32(d);
            height = be32(d + 4);
            assert_memory_equal(d + 8, "\x01\x03\x00\x00\x00", 5); /* 1-bit indexed */
        } else if (idx == 1) {
            assert_int_equal(len, 6);
            const uint8_t want[6] = {
                0xff, 0xff, 0xff, (uint8_t)(fg >> 16), (uint8_t)(fg >> 8), (uint8_t)fg};
            assert_memory_equal(d, want, 6);
        } else if (idx == 2) {
            idat = d;
            idat_n = len;
        } else {
            assert_int_equal(len, 0);
        }
        off += 12 + len;
        idx++;
    }
    assert_int_equal(off, n);
    assert_int_equal(idx, 4);

    QRcode *q = QRcode_encodeString(text, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_non_null(q);
    int w = q->width;
    assert_int_equal(width, (uint32_t)((w + 2 * QR_QUIET) * scale));
    assert_int_equal(height, width);

    /* zlib: header, stored blocks, Adler-32 */
    assert_true(idat_n >= 2 + 5 + 4);
    assert_int_equal((idat[0] << 8 | idat[1]) % 31, 0);
    assert_int_equal(idat[0] & 0x0f, 8);
    size_t row = 1 + (width + 7) / 8, raw_n = row * height;
    uint8_t *raw = malloc(raw_n);
    size_t got = 0, p = 2;
    for (bool last = false; !last;) {
        assert_true(p + 5 <= idat_n);
        last = idat[p] & 1;
        assert_int_equal(idat[p] & 6, 0); /* stored */
        unsigned len = idat[p + 1] | idat[p + 2] << 8, nlen = idat[p + 3] | idat[p + 4] << 8;
        assert_int_equal(len ^ 0xffff, nlen);
        p += 5;
        assert_true(p + len <= idat_n && got + len <= raw_n);
        memcpy(raw + got, idat + p, len);
        got += len;
        p += len;
    }
    assert_int_equal(got, raw_n);
    assert_int_equal(p + 4, idat_n);
    uint32_t s1 = 1, s2 = 0;
    for (size_t i = 0; i < raw_n; i++) {
        s1 = (s1 + raw[i]) % 65521;
        s2 = (s2 + s1) % 65521;
    }
    assert_int_equal(be32(idat + p), s2 << 16 | s1);

    for (uint32_t y = 0; y < height; y++) {
        assert_int_equal(raw[y * row], 0); /* filter: none */
        for (uint32_t x = 0; x < width; x++) {
            int bit = raw[y * row + 1 + x / 8] >> (7 - x % 8) & 1;
            int qx = (int)x / scale - QR_QUIET, qy = (int)y / scale - QR_QUIET;
            bool inside = qx >= 0 && qy >= 0 && qx < w && qy < w;
            assert_int_equal(bit, inside ? q->data[qy * w + qx] & 1 : 0);
        }
    }
    free(raw);
    QRcode_free(q);
}

static void png_structure_and_pixels(void **state)
{
    (void)state;
    expect_png("FK1.ABCDEFGHIJKLMNOPQRSTUVWXYZ234567.ABCDEFGHIJKLMNOP", 8, QR_BLACK);
    expect_png(URI, 1, QR_GREEN);
    expect_png("a", 3, QR_RED);
    /* large enough for several stored blocks */
    char longest[QR_TEXT_MAX + 1];
    for (int i = 0; i < QR_TEXT_MAX; i++)
        longest[i] = (char)('!' + i % 90);
    longest[QR_TEXT_MAX] = '\0';
    expect_png(longest, 4, QR_YELLOW);
}

static void png_refused_inputs(void **state)
{
    (void)state;
    uint8_t *png = NULL;
    size_t n = 0;
    assert_int_equal(qr_png(A, "x", 0, QR_BLACK, &png, &n), E_INPUT);
    assert_string_equal(err_last()->field, "scale");
    assert_int_equal(qr_png(A, "x", QR_SCALE_MAX + 1, QR_BLACK, &png, &n), E_INPUT);
    assert_int_equal(qr_png(A, "", 8, QR_BLACK, &png, &n), E_INPUT);
    assert_string_equal(err_last()->slug, "qr_too_long");
    assert_null(png);
}

/* An upper-case token is encoded in alphanumeric mode: a smaller symbol
 * than the same length of lower-case (8-bit) text. */
static void alphanumeric_tokens_are_smaller(void **state)
{
    (void)state;
    static const char up[] = "FK1.GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQGE.MFRGGZDFMZTWQ2LK";
    char low[sizeof up];
    for (size_t i = 0; i < sizeof up; i++)
        low[i] = (char)(up[i] >= 'A' && up[i] <= 'Z' ? up[i] - 'A' + 'a' : up[i]);
    QRcode *a = QRcode_encodeString(up, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    QRcode *b = QRcode_encodeString(low, 0, QR_ECLEVEL_M, QR_MODE_8, 1);
    assert_true(a->version < b->version);
    QRcode_free(a);
    QRcode_free(b);
}

static void svg_colour(void **state)
{
    (void)state;
    char *svg;
    assert_int_equal(qr_svg_color(A, "fangkong", QR_GREEN, &svg, NULL), E_OK);
    assert_non_null(strstr(svg, "<path fill=\"#11804a\" d=\"M4 4h7v1h-7z"));
    assert_int_equal(qr_svg_color(A, "fangkong", QR_BLACK, &svg, NULL), E_OK);
    assert_non_null(strstr(svg, "<path fill=\"#000\""));
}

int main(void)
{
    A = arena_new(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_of_a_totp_uri),
        cmocka_unit_test(matrix_of_short_and_long_texts),
        cmocka_unit_test(well_formed_and_self_contained),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(refused_inputs),
        cmocka_unit_test(png_structure_and_pixels),
        cmocka_unit_test(png_refused_inputs),
        cmocka_unit_test(alphanumeric_tokens_are_smaller),
        cmocka_unit_test(svg_colour),
    };
    int failed = cmocka_run_group_tests_name("qr", tests, NULL, NULL);
    arena_free(&A);
    return failed;
}
