/*
 * xlsx reader (base/xlsx.h) over an upload in memory: any bytes are refused
 * with an error or read row by row; nothing crashes, leaks or reads past a
 * buffer. Odd lengths run with small limits so the limit paths run too.
 *
 * Input that begins with "PK" is read as the upload itself (the seeds in
 * tests/fuzz/corpus/fuzz_xlsx are small workbooks). Anything else is the XML
 * of the parts, packed here into a workbook: the sheet, then after a NUL
 * the shared strings, then after another the styles. A mutated part of a
 * real zip fails its CRC, so without this the XML handlers would mostly
 * see what the seeds already hold.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zip.h>

#include "base/xlsx.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

#define R "http://schemas.openxmlformats.org/officeDocument/2006/relationships/"

static const char RELS[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"" R "officeDocument\" Target=\"xl/workbook.xml\"/>"
    "</Relationships>";
static const char WB[] = "<workbook xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/"
                         "main\" xmlns:r=\"" R "\"><sheets><sheet name=\"Sheet1\" sheetId=\"1\" "
                         "r:id=\"rId1\"/></sheets></workbook>";
static const char WBRELS[] =
    "<Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">"
    "<Relationship Id=\"rId1\" Type=\"" R "worksheet\" Target=\"worksheets/sheet1.xml\"/>"
    "<Relationship Id=\"rId2\" Type=\"" R "sharedStrings\" Target=\"sharedStrings.xml\"/>"
    "<Relationship Id=\"rId3\" Type=\"" R "styles\" Target=\"styles.xml\"/></Relationships>";

static err on_row(void *ctx, long row, const struct xlsx_cell *c, size_t nc)
{
    size_t *sum = ctx;
    *sum += (size_t)row;
    for (size_t i = 0; i < nc; i++)
        *sum += strlen(c[i].text) + c[i].len + (size_t)c[i].type + (size_t)c[i].col;
    return *sum > ((size_t)1 << 40) ? E_CONFLICT : E_OK;
}

static void add(zip_t *z, const char *name, const void *p, size_t n)
{
    zip_source_t *s = zip_source_buffer(z, p, n, 0);
    zip_int64_t i = s ? zip_file_add(z, name, s, 0) : -1;
    if (i < 0)
        zip_source_free(s);
    else /* stored: deflating would spend the run's time in zlib */
        zip_set_file_compression(z, (zip_uint64_t)i, ZIP_CM_STORE, 0);
}

/* The parts in `data` packed into a zip in memory; NULL on failure. */
static void *pack(const uint8_t *data, size_t n, size_t *len_r)
{
    const uint8_t *part[3] = {data, NULL, NULL};
    size_t len[3] = {n, 0, 0};
    for (int i = 0; i < 2; i++) {
        const uint8_t *nul = len[i] ? memchr(part[i], 0, len[i]) : NULL;
        if (!nul)
            break;
        part[i + 1] = nul + 1;
        len[i + 1] = len[i] - (size_t)(nul + 1 - part[i]);
        len[i] = (size_t)(nul - part[i]);
    }
    zip_error_t ze;
    zip_error_init(&ze);
    zip_source_t *src = zip_source_buffer_create(NULL, 0, 0, &ze);
    zip_t *z = src ? zip_open_from_source(src, ZIP_TRUNCATE, &ze) : NULL;
    void *out = NULL;
    if (z) {
        zip_source_keep(src);
        add(z, "_rels/.rels", RELS, sizeof RELS - 1);
        add(z, "xl/workbook.xml", WB, sizeof WB - 1);
        add(z, "xl/_rels/workbook.xml.rels", WBRELS, sizeof WBRELS - 1);
        add(z, "xl/worksheets/sheet1.xml", part[0], len[0]);
        if (part[1])
            add(z, "xl/sharedStrings.xml", part[1], len[1]);
        if (part[2])
            add(z, "xl/styles.xml", part[2], len[2]);
        zip_stat_t st;
        if (zip_close(z) == 0 && zip_source_open(src) == 0) {
            if (zip_source_stat(src, &st) == 0 && (out = malloc(st.size + 1)) &&
                zip_source_read(src, out, st.size) != (zip_int64_t)st.size) {
                free(out);
                out = NULL;
            }
            *len_r = out ? st.size : 0;
            zip_source_close(src);
        } else {
            zip_discard(z);
        }
    }
    if (src)
        zip_source_free(src);
    zip_error_fini(&ze);
    return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    struct xlsx_limits small = {
        .max_bytes = 64 * 1024, .max_rows = 8, .max_cols = 4, .max_cell = 16, .max_strings = 256};
    const struct xlsx_limits *lim = n % 2 ? &small : NULL;
    size_t sum = 0;
    err e;
    if (n >= 2 && data[0] == 'P' && data[1] == 'K') {
        e = xlsx_read_buffer(data, n, n % 3 == 1 ? "Sheet1" : NULL, lim, on_row, &sum);
    } else {
        size_t len;
        void *zipped = pack(data, n, &len);
        if (!zipped)
            return 0;
        e = xlsx_read_buffer(zipped, len, NULL, lim, on_row, &sum);
        free(zipped);
    }
    (void)e;
    return 0;
}
