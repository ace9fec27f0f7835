/*
 * Unit tests of base/qr.h: the SVG is a well-formed, self-contained
 * document, the same text always gives the same bytes, and drawing it back
 * (every run of the path filled in) gives exactly libqrencode's module
 * matrix for the text at level M, surrounded by a light quiet zone: a
 * decoder reading the picture reads what libqrencode encoded.
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

int main(void)
{
    A = arena_new(0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(matrix_of_a_totp_uri),
        cmocka_unit_test(matrix_of_short_and_long_texts),
        cmocka_unit_test(well_formed_and_self_contained),
        cmocka_unit_test(deterministic),
        cmocka_unit_test(refused_inputs),
    };
    int failed = cmocka_run_group_tests_name("qr", tests, NULL, NULL);
    arena_free(&A);
    return failed;
}
