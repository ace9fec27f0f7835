/*
 * Unit tests of base/pdf.h: the file's cross-reference table points at its
 * objects, and what a reader gets back is what was drawn — poppler's
 * pdftotext extracts the Chinese text through the UniGB-UTF16-H CMap, and
 * the page rendered by pdftoppm and read by zbarimg gives back the QR's
 * text. Both tools are installed by scripts/deps.sh; their absence fails.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/pdf.h"

static const char TOKEN[] = "FK1.CERT.7Q2KX9M4PZ.3H8W";

static const uint8_t *make(arena *a, size_t *n_r)
{
    pdf *p = pdf_new(a);
    pdf_text_center(p, 40, 22, "解除隔离通知书");
    pdf_text(p, 25, 70, 12, "姓名：张*丰  编号 ABC123");
    pdf_line(p, 25, 60, 185, 60, 0.5);
    assert_int_equal(pdf_qr(p, 70, 150, 70, TOKEN), E_OK);
    pdf_page(p);
    pdf_text(p, 25, 30, 12, "第二页 \xff bad byte"); /* malformed UTF-8 drawn as U+FFFD */
    const uint8_t *b;
    assert_int_equal(pdf_finish(p, "解除隔离通知书", &b, n_r), E_OK);
    return b;
}

static void test_structure(void **state)
{
    (void)state;
    arena *a = arena_new(0); /* the test's own */
    size_t n;
    const char *b = (const char *)make(a, &n);
    assert_memory_equal(b, "%PDF-1.4\n", 9);
    assert_memory_equal(b + n - 6, "%%EOF\n", 6);
    /* startxref names the xref table; each entry names its object */
    const char *sx = strstr(b, "startxref\n");
    assert_non_null(sx);
    long xref = strtol(sx + 10, NULL, 10);
    assert_memory_equal(b + xref, "xref\n0 ", 7);
    int count = atoi(b + xref + 7);
    assert_int_equal(count, 1 + 6 + 2 * 2);
    const char *e = strchr(b + xref + 7, '\n') + 1 + 20; /* past the free entry */
    for (int i = 1; i < count; i++, e += 20) {
        long off = strtol(e, NULL, 10);
        char want[16];
        int wn = snprintf(want, sizeof want, "%d 0 obj\n", i);
        assert_memory_equal(b + off, want, (size_t)wn);
    }
    /* text is UTF-16 hex: 解 is U+89E3 */
    assert_non_null(strstr(b, "<89E3"));
    assert_non_null(strstr(b, "FFFD"));
    assert_true(pdf_text_width("AB", 10) * 2 < pdf_text_width("解除", 10) + 0.01);
    arena_free(&a);
}

static char *run(const char *cmd)
{
    FILE *f = popen(cmd, "r");
    assert_non_null(f);
    static char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, f);
    out[n] = 0;
    assert_int_equal(pclose(f), 0);
    return out;
}

static void test_readers_read_it_back(void **state)
{
    (void)state;
    arena *a = arena_new(0); /* the test's own */
    size_t n;
    const uint8_t *b = make(a, &n);
    char dir[] = "/tmp/fk-pdf-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[64], cmd[256];
    snprintf(path, sizeof path, "%s/doc.pdf", dir);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    assert_int_equal(fclose(f), 0);

    snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 -l 1 %s - 2>&1", path);
    char *text = run(cmd);
    assert_non_null(strstr(text, "解除隔离通知书"));
    assert_non_null(strstr(text, "ABC123"));
    snprintf(cmd, sizeof cmd, "pdfinfo %s 2>&1", path);
    text = run(cmd);
    assert_non_null(strstr(text, "Pages:"));
    assert_non_null(strstr(text, "2"));
    assert_non_null(strstr(text, "解除隔离通知书")); /* the title */

    snprintf(cmd, sizeof cmd,
             "pdftoppm -r 100 -f 1 -l 1 -png %s %s/page && zbarimg -q --raw %s/page-1.png", path,
             dir, dir);
    text = run(cmd);
    text[strcspn(text, "\n")] = 0;
    assert_string_equal(text, TOKEN);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
    arena_free(&a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_readers_read_it_back),
    };
    return cmocka_run_group_tests_name("pdf", tests, NULL, NULL);
}
