/*
 * A4 PDF writer (pdf.h): pages of drawing operators collected in memory
 * streams, then objects, cross-reference table and trailer written in one
 * pass with their byte offsets.
 */
#include "base/pdf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/qr.h"

#define PT_PER_MM (72.0 / 25.4)

struct page {
    char *ops;
    size_t n;
    FILE *f; /* open while the page is drawn on */
};

struct pdf {
    arena *a;
    struct page pages[PDF_PAGES_MAX];
    int n_pages;
    bool failed; /* a memory stream could not be opened or grown */
};

static void page_close(pdf *p)
{
    struct page *pg = &p->pages[p->n_pages - 1];
    if (pg->f) {
        if (fclose(pg->f))
            p->failed = true;
        pg->f = NULL;
    }
}

static void page_open(pdf *p)
{
    struct page *pg = &p->pages[p->n_pages++];
    pg->f = open_memstream(&pg->ops, &pg->n);
    if (!pg->f)
        p->failed = true;
}

/* open_memstream's buffers are malloc'd: released with the arena. */
static void pdf_release(void *arg)
{
    pdf *p = arg;
    for (int i = 0; i < p->n_pages; i++) {
        if (p->pages[i].f)
            fclose(p->pages[i].f);
        free(p->pages[i].ops);
    }
}

pdf *pdf_new(arena *a)
{
    pdf *p = arena_zalloc(a, sizeof *p);
    p->a = a;
    arena_on_free(a, pdf_release, p);
    page_open(p);
    return p;
}

void pdf_page(pdf *p)
{
    if (p->n_pages >= PDF_PAGES_MAX)
        return;
    page_close(p);
    page_open(p);
}

static FILE *ops(pdf *p)
{
    return p->pages[p->n_pages - 1].f;
}

/* The next code point of UTF-8 text, U+FFFD for a malformed sequence. */
static unsigned next_cp(const unsigned char **sp)
{
    const unsigned char *s = *sp;
    unsigned c = s[0], cp, need;
    if (c < 0x80) {
        *sp = s + 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf)
        cp = c & 0x1f, need = 1;
    else if (c >= 0xe0 && c <= 0xef)
        cp = c & 0x0f, need = 2;
    else if (c >= 0xf0 && c <= 0xf4)
        cp = c & 0x07, need = 3;
    else {
        *sp = s + 1;
        return 0xfffd;
    }
    for (unsigned i = 1; i <= need; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            *sp = s + i;
            return 0xfffd;
        }
        cp = cp << 6 | (s[i] & 0x3f);
    }
    *sp = s + need + 1;
    /* overlong forms, surrogates and values past U+10FFFF are malformed */
    if ((need == 2 && cp < 0x800) || (need == 3 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0xfffd;
    return cp;
}

/* Text as a hex string of UTF-16BE units, the encoding UniGB-UTF16-H reads. */
static void put_utf16(FILE *f, const char *utf8, bool bom)
{
    const unsigned char *s = (const unsigned char *)(utf8 ? utf8 : "");
    fputc('<', f);
    if (bom)
        fputs("FEFF", f);
    while (*s) {
        unsigned cp = next_cp(&s);
        if (cp < 0x20 && cp != '\t')
            continue; /* control characters have no glyph */
        if (cp >= 0x10000) {
            cp -= 0x10000;
            fprintf(f, "%04X%04X", 0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
        } else
            fprintf(f, "%04X", cp);
    }
    fputc('>', f);
}

double pdf_text_width(const char *utf8, double pt)
{
    const unsigned char *s = (const unsigned char *)(utf8 ? utf8 : "");
    double em = 0;
    while (*s) {
        unsigned cp = next_cp(&s);
        em += cp < 0x80 ? 0.5 : 1.0; /* the widths the font dictionary declares */
    }
    return em * pt / PT_PER_MM;
}

void pdf_text(pdf *p, double x_mm, double y_mm, double pt, const char *utf8)
{
    FILE *f = ops(p);
    if (!f)
        return;
    fprintf(f, "BT /F1 %.2f Tf %.2f %.2f Td ", pt, x_mm * PT_PER_MM,
            (PDF_PAGE_H_MM - y_mm) * PT_PER_MM);
    put_utf16(f, utf8, false);
    fputs(" Tj ET\n", f);
}

void pdf_text_center(pdf *p, double y_mm, double pt, const char *utf8)
{
    pdf_text(p, (PDF_PAGE_W_MM - pdf_text_width(utf8, pt)) / 2, y_mm, pt, utf8);
}

void pdf_line(pdf *p, double x1, double y1, double x2, double y2, double width_pt)
{
    FILE *f = ops(p);
    if (!f)
        return;
    fprintf(f, "%.2f w %.2f %.2f m %.2f %.2f l S\n", width_pt, x1 * PT_PER_MM,
            (PDF_PAGE_H_MM - y1) * PT_PER_MM, x2 * PT_PER_MM, (PDF_PAGE_H_MM - y2) * PT_PER_MM);
}

err pdf_qr(pdf *p, double x_mm, double y_mm, double size_mm, const char *text)
{
    uint8_t *m;
    int w;
    err e = qr_matrix(p->a, text, &m, &w);
    if (e)
        return e;
    FILE *f = ops(p);
    if (!f)
        return E_OK; /* pdf_finish reports the failed stream */
    double mod = size_mm / (w + 2 * QR_QUIET) * PT_PER_MM;
    double x0 = x_mm * PT_PER_MM + QR_QUIET * mod;
    double top = (PDF_PAGE_H_MM - y_mm) * PT_PER_MM - QR_QUIET * mod;
    fputs("q 0 g\n", f);
    for (int y = 0; y < w; y++)
        for (int x = 0; x < w;) {
            if (!m[y * w + x]) {
                x++;
                continue;
            }
            int start = x;
            while (x < w && m[y * w + x])
                x++;
            fprintf(f, "%.3f %.3f %.3f %.3f re\n", x0 + start * mod, top - (y + 1) * mod,
                    (x - start) * mod, mod);
        }
    fputs("f Q\n", f);
    return E_OK;
}

err pdf_finish(pdf *p, const char *title, const uint8_t **bytes_r, size_t *n_r)
{
    page_close(p);
    if (p->failed)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    char *doc = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&doc, &n);
    if (!f)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    int objs = 6 + 2 * p->n_pages;
    long off[6 + 2 * PDF_PAGES_MAX + 1];
    /* a binary comment tells transfer tools the file is not text */
    fputs("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n", f);
    off[1] = ftell(f);
    fputs("1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n", f);
    off[2] = ftell(f);
    fputs("2 0 obj\n<< /Type /Pages /Kids [", f);
    for (int i = 0; i < p->n_pages; i++)
        fprintf(f, " %d 0 R", 7 + 2 * i);
    fprintf(f, " ] /Count %d >>\nendobj\n", p->n_pages);
    off[3] = ftell(f);
    fputs("3 0 obj\n<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light "
          "/Encoding /UniGB-UTF16-H /DescendantFonts [4 0 R] >>\nendobj\n",
          f);
    off[4] = ftell(f);
    /* CIDs 1-95 are Adobe-GB1's proportional Latin: declared half-width */
    fputs("4 0 obj\n<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
          "/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> "
          "/FontDescriptor 5 0 R /DW 1000 /W [1 95 500] >>\nendobj\n",
          f);
    off[5] = ftell(f);
    fputs("5 0 obj\n<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
          "/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
          "/CapHeight 880 /StemV 93 >>\nendobj\n",
          f);
    off[6] = ftell(f);
    fputs("6 0 obj\n<< /Producer (fangkong) /Title ", f);
    put_utf16(f, title, true);
    fputs(" >>\nendobj\n", f);
    for (int i = 0; i < p->n_pages; i++) {
        int po = 7 + 2 * i;
        off[po] = ftell(f);
        fprintf(f,
                "%d 0 obj\n<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595.28 841.89] "
                "/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>\nendobj\n",
                po, po + 1);
        off[po + 1] = ftell(f);
        fprintf(f, "%d 0 obj\n<< /Length %zu >>\nstream\n", po + 1, p->pages[i].n);
        fwrite(p->pages[i].ops, 1, p->pages[i].n, f);
        fputs("\nendstream\nendobj\n", f);
    }
    long xref = ftell(f);
    fprintf(f, "xref\n0 %d\n0000000000 65535 f \n", objs + 1);
    for (int i = 1; i <= objs; i++)
        fprintf(f, "%010ld 00000 n \n", off[i]);
    fprintf(f, "trailer\n<< /Size %d /Root 1 0 R /Info 6 0 R >>\nstartxref\n%ld\n%%%%EOF\n",
            objs + 1, xref);
    if (fclose(f)) {
        free(doc);
        return err_set(E_NOMEM, NULL, NULL, NULL);
    }
    *bytes_r = arena_memdup(p->a, doc, n);
    *n_r = n;
    free(doc);
    return E_OK;
}
