/*
 * Unit tests of base/xlsx. The writer's files read back by the reader (both
 * modes, from a file and from memory); files written by openpyxl and
 * checked by it (a mark's fill and comment, the validation lists); zips
 * built by hand the way LibreOffice and Excel write them (inline strings,
 * no shared strings, rich text, cached formula values, the 1904 date
 * system, Chinese date formats); dates at Excel's 1900 edges; and the bad
 * input of the issue: not a zip, no sheet, malformed XML, a DOCTYPE, a zip
 * bomb, a million rows against a lower cap, long cells, far columns.
 *
 * Files are made at test time in a temporary directory, by python3 (its
 * zipfile, and openpyxl: scripts/deps.sh installs python3-openpyxl). The
 * dates expected were worked out with python's datetime at UTC+8.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/csv.h"
#include "base/time.h"
#include "base/xlsx.h"

/* Debian's python, where python3-openpyxl installs (not a user's pyenv) */
#define PYTHON "/usr/bin/python3"

static char DIR_[256];

/* ---- helpers ------------------------------------------------------------- */

static const char *path_of(const char *name)
{
    static char p[512];
    snprintf(p, sizeof p, "%s/%s", DIR_, name);
    return p;
}

/* Run python3 on `script` in the test directory; fail the test if it fails. */
static void py(const char *script)
{
    char sp[512], cmd[1200];
    snprintf(sp, sizeof sp, "%s/script.py", DIR_);
    FILE *f = fopen(sp, "w");
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && " PYTHON " script.py", DIR_);
    assert_int_equal(system(cmd), 0);
}

/* The output of python3 on `script`, stripped of its final newline. */
static const char *py_out(const char *script)
{
    static char out[8192];
    char sp[512], cmd[1200];
    snprintf(sp, sizeof sp, "%s/script.py", DIR_);
    FILE *f = fopen(sp, "w");
    assert_non_null(f);
    fputs(script, f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cd '%s' && " PYTHON " script.py", DIR_);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    assert_int_equal(pclose(p), 0);
    while (n && out[n - 1] == '\n')
        out[--n] = '\0';
    return out;
}

/*
 * Rows rendered as "row:[cell|cell]" joined by spaces; a cell is its type
 * (s string, n number, b bool, d date, e error, _ empty), '=' for a
 * formula, ':' and its text. Dates add their ms after '@'.
 */
struct sink {
    char out[16384];
    size_t o;
    long rows;
    bool quiet; /* count only */
    long stop_at;
};

static err on_row(void *ctx, long row, const struct xlsx_cell *c, size_t n)
{
    struct sink *s = ctx;
    s->rows++;
    if (s->stop_at && s->rows == s->stop_at)
        return err_set(E_CONFLICT, "stop_here", NULL, "stop");
    if (s->quiet)
        return E_OK;
    size_t cap = sizeof s->out;
    s->o += (size_t)snprintf(s->out + s->o, cap - s->o, "%s%ld:[", s->o ? " " : "", row);
    for (size_t i = 0; i < n && s->o < cap; i++) {
        static const char types[] = "_snbde";
        assert_int_equal(c[i].col, (int)i);
        assert_int_equal(strlen(c[i].text), c[i].len);
        s->o += (size_t)snprintf(s->out + s->o, cap - s->o, "%s%c%s:%s", i ? "|" : "",
                                 types[c[i].type], c[i].formula ? "=" : "", c[i].text);
        if (c[i].type == XLSX_DATE)
            s->o += (size_t)snprintf(s->out + s->o, cap - s->o, "@%lld", (long long)c[i].ms);
    }
    if (s->o < cap)
        s->o += (size_t)snprintf(s->out + s->o, cap - s->o, "]");
    return E_OK;
}

/* The slug of a failed read ("E_IO" and the like for errors without one). */
static const char *slug_of(err e)
{
    static const char *const names[E__COUNT] = {
        [E_IO] = "E_IO", [E_NOMEM] = "E_NOMEM", [E_INTERNAL] = "E_INTERNAL"};
    if (err_last()->code == e)
        return err_last()->slug;
    return names[e] ? names[e] : "unexpected";
}

static const char *read_path(const char *name, const char *sheet, const struct xlsx_limits *lim)
{
    static struct sink s;
    memset(&s, 0, sizeof s);
    err_clear();
    err e = xlsx_read_file(path_of(name), sheet, lim, on_row, &s);
    if (e != E_OK)
        return slug_of(e);
    return s.out;
}

static char *slurp(const char *name, size_t *n_r)
{
    FILE *f = fopen(path_of(name), "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *n_r = (size_t)n;
    return p;
}

/* Read from memory, and check that the file gives the same. */
static const char *read_both(const char *name, const char *sheet)
{
    static struct sink s;
    memset(&s, 0, sizeof s);
    size_t n;
    char *data = slurp(name, &n);
    err_clear();
    err e = xlsx_read_buffer(data, n, sheet, NULL, on_row, &s);
    free(data);
    const char *mem = e != E_OK ? slug_of(e) : s.out;
    static char copy[16384];
    snprintf(copy, sizeof copy, "%s", mem);
    assert_string_equal(read_path(name, sheet, NULL), copy);
    return copy;
}

static const char *read_mem(const void *data, size_t n, const struct xlsx_limits *lim)
{
    static struct sink s;
    memset(&s, 0, sizeof s);
    err_clear();
    err e = xlsx_read_buffer(data, n, NULL, lim, on_row, &s);
    return e != E_OK ? slug_of(e) : s.out;
}

/* Epoch ms of a China time. */
static int64_t china(int y, int mo, int d, int h, int mi, int s)
{
    struct tm tm = {.tm_year = y - 1900,
                    .tm_mon = mo - 1,
                    .tm_mday = d,
                    .tm_hour = h,
                    .tm_min = mi,
                    .tm_sec = s};
    return (int64_t)timegm(&tm) * 1000 - CHINA_OFFSET_MS;
}

/* A zip written by python's zipfile from (name, text) pairs given as a
 * python literal list. */
static void zip_parts(const char *name, const char *parts_py)
{
    char script[16384];
    snprintf(script, sizeof script,
             "import zipfile\n"
             "parts = %s\n"
             "with zipfile.ZipFile('%s', 'w', zipfile.ZIP_DEFLATED) as z:\n"
             "    for n, t in parts:\n"
             "        z.writestr(n, t)\n",
             parts_py, name);
    py(script);
}

/* The minimum package around one sheet and optional shared strings/styles. */
#define PKG_HEAD                                                                                   \
    "CT = '<?xml version=\"1.0\"?><Types xmlns=\"http://schemas.openxmlformats.org/package/2006/"  \
    "content-types\"/>'\n"                                                                         \
    "RELS = '<?xml version=\"1.0\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/"     \
    "package/2006/relationships\"><Relationship Id=\"rId1\" "                                      \
    "Type=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument\" " \
    "Target=\"xl/workbook.xml\"/></Relationships>'\n"                                              \
    "WB = '<?xml version=\"1.0\"?><workbook "                                                      \
    "xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\" "                         \
    "xmlns:r=\"http://schemas.openxmlformats.org/officeDocument/2006/relationships\">%s<sheets>"   \
    "<sheet name=\"Sheet1\" sheetId=\"1\" r:id=\"rId1\"/></sheets></workbook>'\n"                  \
    "R = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships/'\n"                 \
    "WBRELS = ('<?xml version=\"1.0\"?><Relationships "                                            \
    "xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\">'\n"                   \
    "  '<Relationship Id=\"rId1\" Type=\"' + R + 'worksheet\" "                                    \
    "Target=\"worksheets/sheet1.xml\"/>'\n"                                                        \
    "  '<Relationship Id=\"rId2\" Type=\"' + R + 'sharedStrings\" "                                \
    "Target=\"sharedStrings.xml\"/>'\n"                                                            \
    "  '<Relationship Id=\"rId3\" Type=\"' + R + 'styles\" Target=\"/xl/styles.xml\"/>'\n"         \
    "  '</Relationships>')\n"                                                                      \
    "NS = 'xmlns=\"http://schemas.openxmlformats.org/spreadsheetml/2006/main\"'\n"

/* A package whose sheet data is `rows_xml`, with optional parts. */
static void package(const char *name, const char *wbpr, const char *rows_xml,
                    const char *strings_xml, const char *styles_xml)
{
    char script[32768];
    snprintf(script, sizeof script,
             "import zipfile\n" PKG_HEAD "SHEET = '<?xml version=\"1.0\"?><worksheet ' + NS + "
             "'><sheetData>%s</sheetData></worksheet>'\n"
             "parts = [('[Content_Types].xml', CT), ('_rels/.rels', RELS), ('xl/workbook.xml', WB),"
             " ('xl/_rels/workbook.xml.rels', WBRELS), ('xl/worksheets/sheet1.xml', SHEET)]\n"
             "ss = '%s'\nst = '%s'\n"
             "if ss: parts.append(('xl/sharedStrings.xml', '<?xml version=\"1.0\"?><sst ' + NS + "
             "'>' + ss + '</sst>'))\n"
             "if st: parts.append(('xl/styles.xml', '<?xml version=\"1.0\"?><styleSheet ' + NS + "
             "'>' + st + '</styleSheet>'))\n"
             "with zipfile.ZipFile('%s', 'w', zipfile.ZIP_DEFLATED) as z:\n"
             "    for n, t in parts:\n"
             "        z.writestr(n, t)\n",
             wbpr, rows_xml, strings_xml ? strings_xml : "", styles_xml ? styles_xml : "", name);
    py(script);
}

static int setup(void **state)
{
    (void)state;
    snprintf(DIR_, sizeof DIR_, "%s/fk-test-xlsx-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    assert_non_null(mkdtemp(DIR_));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", DIR_);
    return system(cmd) == 0 ? 0 : -1;
}

/* ---- writer, read back --------------------------------------------------- */

static void write_sample_opts(const char *name, const struct xlsx_write_opts *o_in)
{
    xlsx_writer *w;
    struct xlsx_write_opts o = *o_in;
    assert_int_equal(xlsx_writer_open(path_of(name), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "名单"), E_OK);
    static const char *const head[] = {"姓名", "数量", "日期", "时间", "号码"};
    static const char *const hint[] = {"必填", NULL, "如 2024-05-01", "", "18 位"};
    xlsx_row_header(w, head, 5);
    xlsx_row_hints(w, hint, 5);
    xlsx_col_width(w, 0, 20);
    xlsx_cell_text(w, "张三");
    xlsx_cell_num(w, -3.5);
    xlsx_cell_date(w, china(2024, 5, 1, 23, 59, 0));
    xlsx_cell_datetime(w, china(2024, 5, 1, 8, 30, 15));
    xlsx_cell_int(w, 110101199001011234LL);
    xlsx_row_end(w);
    /* gaps: an empty cell, a NULL text, then a value; and a row of nothing */
    xlsx_cell_empty(w);
    xlsx_cell_text(w, NULL);
    xlsx_cell_int(w, 42);
    xlsx_row_end(w);
    xlsx_row_end(w);
    xlsx_cell_date(w, china(1960, 2, 29, 0, 0, 0)); /* before 1970 */
    xlsx_cell_num(w, NAN);
    xlsx_cell_text(w, "a\"b<c>&d");
    xlsx_row_end(w);
    static const char *const plain[] = {"x", "y"};
    xlsx_row_strings(w, plain, 2);
    if (o.fast_rows) {
        /* one sheet only, no marks, no lists: refused, the workbook stays good */
        static const char *const kinds[] = {"a", "b"};
        assert_int_equal(xlsx_mark(w, 0, "x"), E_INTERNAL);
        assert_int_equal(xlsx_validation_list(w, 0, 1, 2, kinds, 2), E_INTERNAL);
    } else {
        assert_int_equal(xlsx_sheet_add(w, "第二页"), E_OK);
        xlsx_cell_text(w, "second");
        xlsx_row_end(w);
    }
    assert_int_equal(xlsx_close(&w), E_OK);
    assert_null(w);
}

static void write_sample(const char *name, bool constant_memory)
{
    struct xlsx_write_opts o = {.constant_memory = constant_memory};
    write_sample_opts(name, &o);
}

static const char SAMPLE[] =
    "1:[s:姓名|s:数量|s:日期|s:时间|s:号码] 2:[s:必填|_:|s:如 2024-05-01|_:|s:18 位] "
    "3:[s:张三|n:-3.5|d:2024-05-01@1714492800000|d:2024-05-01 08:30:15@1714523415000|"
    "s:110101199001011234] "
    "4:[_:|_:|n:42] 6:[d:1960-02-29@-310550400000|_:|s:a\"b<c>&d] 7:[s:x|s:y]";

static void round_trip(void **state)
{
    (void)state;
    write_sample("rt.xlsx", false);
    assert_string_equal(read_both("rt.xlsx", NULL), SAMPLE);
    assert_string_equal(read_both("rt.xlsx", "第二页"), "1:[s:second]");
    assert_string_equal(read_both("rt.xlsx", "第三页"), "xlsx_sheet_not_found");
    /* the ms given back are the instants written */
    assert_int_equal(china(2024, 5, 1, 0, 0, 0), 1714492800000LL);
}

static void round_trip_constant_memory(void **state)
{
    (void)state;
    write_sample("cm.xlsx", true);
    assert_string_equal(read_both("cm.xlsx", NULL), SAMPLE);
    /* constant memory writes inline strings: no shared strings part */
    assert_string_equal(py_out("import zipfile\n"
                               "print('xl/sharedStrings.xml' in "
                               "zipfile.ZipFile('cm.xlsx').namelist())\n"),
                        "False");
}

/* fast_rows: the same cells read back, by us and by openpyxl (bold header,
 * the date formats, the column width); a second sheet is refused. */
static void round_trip_fast_rows(void **state)
{
    (void)state;
    struct xlsx_write_opts o = {.fast_rows = true};
    write_sample_opts("fast.xlsx", &o);
    assert_string_equal(read_both("fast.xlsx", NULL), SAMPLE);
    py("import openpyxl\n"
       "ws = openpyxl.load_workbook('fast.xlsx').active\n"
       "assert ws.title == '名单', ws.title\n"
       "assert ws['A1'].value == '姓名' and ws['A1'].font.b\n"
       "assert ws['B2'].value is None and ws['A2'].font.i\n"
       "assert ws['C3'].number_format == 'yyyy-mm-dd', ws['C3'].number_format\n"
       "assert str(ws['D3'].value) == '2024-05-01 08:30:15', ws['D3'].value\n"
       "assert ws['E3'].value == '110101199001011234'\n"
       "assert ws['C6'].value == 'a\"b<c>&d'\n"
       "assert abs(ws.column_dimensions['A'].width - 20.7109375) < 0.01\n");
    xlsx_writer *w;
    assert_int_equal(xlsx_writer_open(path_of("fast2.xlsx"), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "一"), E_OK);
    xlsx_cell_text(w, " 前后空格 ");
    xlsx_cell_text(w, "a\x01"
                      "b");
    xlsx_cell_num(w, 0.1);
    xlsx_row_end(w);
    assert_int_equal(xlsx_sheet_add(w, "二"), E_INTERNAL);
    assert_int_equal(xlsx_close(&w), E_INTERNAL);
    assert_int_equal(access(path_of("fast2.xlsx"), F_OK), -1);
    assert_int_equal(xlsx_writer_open(path_of("fast3.xlsx"), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "一"), E_OK);
    xlsx_cell_text(w, "尾空格 ");
    xlsx_cell_num(w, 0.1);
    xlsx_cell_text(w, "a\x01"
                      "b");
    xlsx_row_end(w);
    assert_int_equal(xlsx_close(&w), E_OK);
    assert_string_equal(read_both("fast3.xlsx", NULL), "1:[s:尾空格 |n:0.1|s:a\x01"
                                                       "b]");
    assert_string_equal(
        py_out("import zipfile\n"
               "x = zipfile.ZipFile('fast3.xlsx').read('xl/worksheets/sheet1.xml')\n"
               "print(b'a_x0001_b' in x and b'xml:space' in x)\n"),
        "True");
}

/* fast_rows writes date-times with its own formatter: every one of 100,000
 * seconds spread over 1900..2099 (midnight, the last second of a day)
 * reads back to the same second, by us and by openpyxl. */
struct dt_sink {
    int64_t want[100000];
    long rows, bad;
};

static int64_t dt_sample(long i)
{
    static const int64_t first = -2177481600000LL; /* 1901-01-01 00:00 China time */
    return first + (int64_t)i * 63115199 * 1000 + (i % 3 == 0 ? 0 : i % 3 == 1 ? 86399000 : 0);
}

static err on_dt_row(void *ctx, long row, const struct xlsx_cell *c, size_t n)
{
    struct dt_sink *s = ctx;
    (void)row;
    if (n != 1 || c[0].type != XLSX_DATE || c[0].ms != s->want[s->rows])
        s->bad++;
    s->rows++;
    return E_OK;
}

static void fast_rows_datetimes(void **state)
{
    (void)state;
    struct xlsx_write_opts o = {.fast_rows = true};
    xlsx_writer *w;
    static struct dt_sink s;
    memset(&s, 0, sizeof s);
    assert_int_equal(xlsx_writer_open(path_of("dt.xlsx"), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "时间"), E_OK);
    for (long i = 0; i < 100000; i++) {
        s.want[i] = dt_sample(i % 100) + (i / 100) * 86401000LL;
        xlsx_cell_datetime(w, s.want[i]);
        xlsx_row_end(w);
    }
    assert_int_equal(xlsx_close(&w), E_OK);
    struct xlsx_limits lim = {.max_rows = 200000};
    assert_int_equal(xlsx_read_file(path_of("dt.xlsx"), NULL, &lim, on_dt_row, &s), E_OK);
    assert_int_equal(s.rows, 100000);
    assert_int_equal(s.bad, 0);
    char want[64];
    struct tm tm;
    time_t t = (time_t)(s.want[99999] / 1000 + 8 * 3600);
    gmtime_r(&t, &tm);
    strftime(want, sizeof want, "%Y-%m-%d %H:%M:%S", &tm);
    assert_string_equal(py_out("import openpyxl\n"
                               "ws = openpyxl.load_workbook('dt.xlsx', read_only=True).active\n"
                               "print([r[0] for r in ws.iter_rows(values_only=True)][-1])\n"),
                        want);
}

/* fast_rows past the first megabyte: the rows are zipped by the writer's
 * thread while the next ones are written; all of them read back in order,
 * a zip that Python checks; a column width after that point is refused and
 * nothing is kept. */
static void fast_rows_streamed(void **state)
{
    (void)state;
    struct xlsx_write_opts o = {.fast_rows = true};
    xlsx_writer *w;
    assert_int_equal(xlsx_writer_open(path_of("stream.xlsx"), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "流"), E_OK);
    static const char *const head[] = {"编号", "姓名"};
    xlsx_row_header(w, head, 2);
    xlsx_col_width(w, 1, 30);
    for (int i = 0; i < 200000; i++) { /* about 15 MB of XML: many chunks, a full queue */
        char b[32];
        snprintf(b, sizeof b, "姓名%d", i);
        xlsx_cell_int(w, i);
        xlsx_cell_text(w, b);
        xlsx_row_end(w);
    }
    assert_int_equal(xlsx_close(&w), E_OK);
    static struct sink s;
    memset(&s, 0, sizeof s);
    s.quiet = true;
    struct xlsx_limits lim = {.max_rows = 300000};
    assert_int_equal(xlsx_read_file(path_of("stream.xlsx"), NULL, &lim, on_row, &s), E_OK);
    assert_int_equal(s.rows, 200001);
    assert_string_equal(
        py_out(
            "import zipfile, re\n"
            "z = zipfile.ZipFile('stream.xlsx')\n"
            "assert z.testzip() is None\n"
            "x = z.read('xl/worksheets/sheet1.xml')\n"
            "r = [int(m) for m in re.findall(rb'<row r=\"(\\d+)\"', x)]\n"
            "print(r == list(range(1, 200002)), b'<col min=\"2\" max=\"2\" width=\"30.71' in x,\n"
            "      x.endswith(b'</worksheet>'), '姓名199999'.encode() in x)\n"),
        "True True True True");
    /* a width once the rows are being zipped: refused, no file */
    assert_int_equal(xlsx_writer_open(path_of("late.xlsx"), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "流"), E_OK);
    for (int i = 0; i < 100000; i++) {
        xlsx_cell_int(w, i);
        xlsx_cell_text(w, "名字");
        xlsx_row_end(w);
    }
    xlsx_col_width(w, 0, 20);
    assert_int_equal(xlsx_close(&w), E_INTERNAL);
    assert_int_equal(access(path_of("late.xlsx"), F_OK), -1);
}

static void to_temp_fd(void **state)
{
    (void)state;
    xlsx_writer *w;
    struct xlsx_write_opts o = {.tmpdir = DIR_};
    assert_int_equal(xlsx_writer_open_temp(&o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "s"), E_OK);
    xlsx_cell_text(w, "hello");
    xlsx_row_end(w);
    int fd;
    int64_t size;
    assert_int_equal(xlsx_close_fd(&w, &fd, &size), E_OK);
    assert_true(size > 1000);
    char *buf = malloc((size_t)size);
    assert_int_equal(read(fd, buf, (size_t)size), size);
    close(fd);
    assert_string_equal(read_mem(buf, (size_t)size, NULL), "1:[s:hello]");
    free(buf);
    /* the temporary file is gone */
    assert_string_equal(py_out("import os\nprint([f for f in os.listdir('.') if "
                               "f.startswith('fk-xlsx')])\n"),
                        "[]");
}

/* An upload given back cell by cell (an error report) reads as the upload. */
static err copy_row(void *ctx, long row, const struct xlsx_cell *c, size_t n)
{
    xlsx_writer *w = ctx;
    (void)row;
    for (size_t i = 0; i < n; i++)
        xlsx_cell_from(w, &c[i]);
    xlsx_row_end(w);
    return E_OK;
}

static void give_back(void **state)
{
    (void)state;
    package(
        "up.xlsx", "",
        "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>王五</t></is></c><c r=\"C1\"><v>2.5</v>"
        "</c><c r=\"D1\" t=\"b\"><v>0</v></c><c r=\"E1\" t=\"e\"><v>#N/A</v></c>"
        "<c r=\"F1\" t=\"d\"><v>2024-05-01</v></c><c r=\"G1\" t=\"d\"><v>2024-05-01T08:30:00</v>"
        "</c></row>",
        NULL, NULL);
    xlsx_writer *w;
    assert_int_equal(xlsx_writer_open(path_of("back.xlsx"), NULL, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "s"), E_OK);
    assert_int_equal(xlsx_read_file(path_of("up.xlsx"), NULL, NULL, copy_row, w), E_OK);
    assert_int_equal(xlsx_close(&w), E_OK);
    assert_string_equal(read_both("back.xlsx", NULL),
                        "1:[s:王五|_:|n:2.5|s:FALSE|s:#N/A|d:2024-05-01@1714492800000|"
                        "d:2024-05-01 08:30:00@1714523400000]");
}

static void formula_guard(void **state)
{
    (void)state;
    static const char *const risky[] = {"=1+2", "+86 138", "-3", "@SUM(A1)", "\tx", "＝1", "ok"};
    xlsx_writer *w;
    assert_int_equal(xlsx_writer_open(path_of("guard.xlsx"), NULL, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "s"), E_OK);
    xlsx_row_strings(w, risky, 7);
    assert_int_equal(xlsx_close(&w), E_OK);
    assert_string_equal(read_both("guard.xlsx", NULL),
                        "1:[s:'=1+2|s:'+86 138|s:'-3|s:'@SUM(A1)|s:'\tx|s:'＝1|s:ok]");
    /* one rule for CSV and xlsx */
    for (size_t i = 0; i < 6; i++)
        assert_true(csv_formula_risk(risky[i]));
    assert_false(csv_formula_risk("ok"));
}

static void writer_errors(void **state)
{
    (void)state;
    xlsx_writer *w;
    assert_int_equal(xlsx_writer_open("/nonexistent-dir/x.xlsx", NULL, &w), E_IO);
    /* a cell before any sheet: kept, reported at close, no file left */
    assert_int_equal(xlsx_writer_open(path_of("bad.xlsx"), NULL, &w), E_OK);
    xlsx_cell_text(w, "x");
    xlsx_row_end(w);
    assert_int_equal(xlsx_close(&w), E_INTERNAL);
    assert_int_equal(access(path_of("bad.xlsx"), F_OK), -1);
    /* a sheet name Excel refuses */
    assert_int_equal(xlsx_writer_open(path_of("bad.xlsx"), NULL, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "a/b"), E_INTERNAL);
    assert_int_equal(xlsx_close(&w), E_INTERNAL);
    /* a list value with a comma */
    assert_int_equal(xlsx_writer_open(path_of("bad.xlsx"), NULL, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "s"), E_OK);
    static const char *const comma[] = {"a,b"};
    assert_int_equal(xlsx_validation_list(w, 0, 1, 10, comma, 1), E_INTERNAL);
    assert_int_equal(xlsx_close(&w), E_OK);
}

/* Marks and lists, checked by openpyxl (another reader's view). */
static void marks_and_lists(void **state)
{
    (void)state;
    for (int cm = 0; cm < 2; cm++) {
        const char *name = cm ? "mark_cm.xlsx" : "mark.xlsx";
        xlsx_writer *w;
        struct xlsx_write_opts o = {.constant_memory = cm};
        assert_int_equal(xlsx_writer_open(path_of(name), &o, &w), E_OK);
        assert_int_equal(xlsx_sheet_add(w, "s"), E_OK);
        static const char *const kinds[] = {"居家隔离", "居家医学观察", "集中隔离"};
        assert_int_equal(xlsx_validation_list(w, 2, 2, 1001, kinds, 3), E_OK);
        static const char *const head[] = {"姓名", "证件号码", "管控措施"};
        xlsx_row_header(w, head, 3);
        xlsx_cell_text(w, "李四");
        assert_int_equal(xlsx_mark(w, 1, "证件号码校验位不正确"), E_OK); /* before writing it */
        xlsx_cell_text(w, "110101199001011235");
        xlsx_cell_text(w, "在家");
        assert_int_equal(xlsx_mark(w, 2, "不在列表中"), E_OK); /* after */
        assert_int_equal(xlsx_mark(w, 4, "缺少"), E_OK);       /* never written */
        xlsx_row_end(w);
        if (!cm) {
            /* a list past 255 characters goes to a hidden sheet */
            const char *many[40];
            for (int i = 0; i < 40; i++)
                many[i] = "一个很长的选项名称";
            assert_int_equal(xlsx_validation_list(w, 3, 2, 100, many, 40), E_OK);
        } else {
            const char *many[40];
            for (int i = 0; i < 40; i++)
                many[i] = "一个很长的选项名称";
            assert_int_equal(xlsx_validation_list(w, 3, 2, 100, many, 40), E_INTERNAL);
        }
        assert_int_equal(xlsx_close(&w), E_OK);

        char script[2048];
        snprintf(script, sizeof script,
                 "import openpyxl\n"
                 "wb = openpyxl.load_workbook('%s')\n"
                 "ws = wb['s']\n"
                 "for ref in ('A2', 'B2', 'C2', 'E2'):\n"
                 "    c = ws[ref]\n"
                 "    print(ref, c.value, c.fill.fgColor.rgb if c.fill.fill_type else None,"
                 " c.comment.text if c.comment else None)\n"
                 "print(ws['A1'].font.b)\n"
                 "for dv in ws.data_validations.dataValidation:\n"
                 "    print(dv.type, dv.formula1, dv.sqref)\n"
                 "print([s.title + ':' + s.sheet_state for s in wb.worksheets])\n",
                 name);
        const char *out = py_out(script);
        const char *want_cm = "A2 李四 None None\n"
                              "B2 110101199001011235 FFFFC7CE 证件号码校验位不正确\n"
                              "C2 在家 FFFFC7CE 不在列表中\n"
                              "E2 None FFFFC7CE 缺少\n"
                              "True\n"
                              "list \"居家隔离,居家医学观察,集中隔离\" C3:C1002\n"
                              "['s:visible']";
        const char *want = "A2 李四 None None\n"
                           "B2 110101199001011235 FFFFC7CE 证件号码校验位不正确\n"
                           "C2 在家 FFFFC7CE 不在列表中\n"
                           "E2 None FFFFC7CE 缺少\n"
                           "True\n"
                           "list \"居家隔离,居家医学观察,集中隔离\" C3:C1002\n"
                           "list '_lists'!$A$1:$A$40 D3:D101\n"
                           "['s:visible', '_lists:hidden']";
        assert_string_equal(out, cm ? want_cm : want);
    }
}

/* ---- files of other writers ---------------------------------------------- */

static void openpyxl_files(void **state)
{
    (void)state;
    py("import openpyxl, datetime\n"
       "wb = openpyxl.Workbook()\n"
       "ws = wb.active\n"
       "ws.title = '数据'\n"
       "ws['A1'] = '文本'; ws['C1'] = 7; ws['D1'] = True; ws['E1'] = 2.25\n"
       "ws['A2'] = datetime.date(2024, 5, 1)\n"
       "ws['B2'] = datetime.datetime(2024, 5, 1, 8, 30, 0)\n"
       "ws['C2'] = 45413; ws['C2'].number_format = 'yyyy\"年\"m\"月\"d\"日\"'\n"
       "ws['D2'] = 45413; ws['D2'].number_format = '0.00'\n"
       "ws['E2'] = 45413.75; ws['E2'].number_format = 'h:mm'\n"
       "ws['F2'] = 3; ws['F2'].number_format = '[Red]0;\"d\"0'\n"
       "ws['A5'] = '=C1*2'\n"
       "ws['B5'] = '第五行'\n"
       "ws['C7'] = '  带空格  '\n"
       "ws2 = wb.create_sheet('其他')\n"
       "ws2['B3'] = 'x'\n"
       "wb.save('opx.xlsx')\n");
    assert_string_equal(read_both("opx.xlsx", NULL),
                        "1:[s:文本|_:|n:7|b:TRUE|n:2.25] "
                        "2:[d:2024-05-01@1714492800000|d:2024-05-01 08:30:00@1714523400000|"
                        "d:2024-05-01@1714492800000|n:45413|d:2024-05-01 18:00:00@1714557600000|"
                        "n:3] "
                        "5:[_=:|s:第五行] 7:[_:|_:|s:  带空格  ]");
    assert_string_equal(read_both("opx.xlsx", "其他"), "3:[_:|s:x]");
}

/* LibreOffice's way: inline strings, no shared strings part, no styles;
 * formulas with cached values of every type; cells without references. */
static void inline_strings_and_formulas(void **state)
{
    (void)state;
    package("lo.xlsx", "",
            "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>内联</t></is></c>"
            "<c r=\"C1\" t=\"inlineStr\"><is><r><t>富</t></r><r><rPr><b/></rPr><t "
            "xml:space=\"preserve\">文本 </t></r></is></c></row>"
            "<row r=\"2\"><c r=\"A2\"><f>1+1</f><v>2</v></c><c r=\"B2\" t=\"str\"><f>A1</f>"
            "<v>内联</v></c><c r=\"C2\" t=\"b\"><f>TRUE()</f><v>1</v></c>"
            "<c r=\"D2\" t=\"e\"><f>1/0</f><v>#DIV/0!</v></c><c r=\"E2\"><f>X</f></c></row>"
            "<row><c><v>1</v></c><c t=\"inlineStr\"><is><t>a_x000D_b_x005F_x000D_</t></is></c>"
            "<c t=\"inlineStr\"><is><t></t></is></c></row>"
            "<row r=\"9\" spans=\"1:3\"><c r=\"B9\" s=\"0\"/></row>",
            NULL, NULL);
    assert_string_equal(read_both("lo.xlsx", NULL), "1:[s:内联|_:|s:富文本 ] "
                                                    "2:[n=:2|s=:内联|b=:TRUE|e=:#DIV/0!|_=:] "
                                                    "3:[n:1|s:a\rb_x000D_]");
}

/* Excel's way: shared strings with rich runs and phonetic guides, built-in
 * date formats (14, and 31: Chinese Excel's yyyy"年"m"月"d"日"), a custom
 * one, t="d" cells, and the 1904 date system. */
static void shared_strings_and_dates(void **state)
{
    (void)state;
    const char *ss = "<si><t>甲</t></si><si><r><t>乙</t></r><r><t>丙</t></r>"
                     "<rPh sb=\"0\" eb=\"1\"><t>YI</t></rPh></si><si><t/></si>";
    const char *st = "<numFmts count=\"1\"><numFmt numFmtId=\"164\" "
                     "formatCode=\"yyyy/mm/dd hh:mm\"/><numFmt numFmtId=\"165\" "
                     "formatCode=\"&quot;date&quot;0.0\"/></numFmts>"
                     "<cellStyleXfs count=\"1\"><xf numFmtId=\"14\"/></cellStyleXfs>"
                     "<cellXfs count=\"5\"><xf numFmtId=\"0\"/><xf numFmtId=\"14\"/>"
                     "<xf numFmtId=\"31\"/><xf numFmtId=\"164\"/><xf numFmtId=\"165\"/></cellXfs>";
    const char *rows = "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c><c r=\"B1\" t=\"s\"><v>1</v>"
                       "</c><c r=\"C1\" t=\"s\"><v>2</v></c></row>"
                       "<row r=\"2\"><c r=\"A2\" s=\"1\"><v>1</v></c><c r=\"B2\" s=\"1\"><v>59</v>"
                       "</c><c r=\"C2\" s=\"1\"><v>60</v></c><c r=\"D2\" s=\"1\"><v>61</v></c>"
                       "<c r=\"E2\" s=\"2\"><v>25569</v></c><c r=\"F2\" s=\"3\"><v>45413.5</v></c>"
                       "<c r=\"G2\" s=\"4\"><v>45413.5</v></c><c r=\"H2\" s=\"0\"><v>45413</v></c>"
                       "<c r=\"I2\" s=\"1\"><v>-1</v></c><c r=\"J2\" s=\"99\"><v>5</v></c></row>"
                       "<row r=\"3\"><c r=\"A3\" t=\"d\"><v>2024-05-01T08:30:00</v></c>"
                       "<c r=\"B3\" t=\"d\"><v>1950-10-01</v></c></row>";
    package("ex.xlsx", "", rows, ss, st);
    assert_string_equal(read_both("ex.xlsx", NULL),
                        "1:[s:甲|s:乙丙] "
                        "2:[d:1900-01-01@-2209017600000|d:1900-02-28@-2204006400000|"
                        "d:1900-03-01@-2203920000000|d:1900-03-01@-2203920000000|"
                        "d:1970-01-01@-28800000|d:2024-05-01 12:00:00@1714536000000|"
                        "n:45413.5|n:45413|n:-1|n:5] "
                        "3:[d:2024-05-01 08:30:00@1714523400000|d:1950-10-01@-607593600000]");
    /* the 1904 date system: serial 0 is 1904-01-01 */
    package(
        "ex1904.xlsx", "<workbookPr date1904=\"1\"/>",
        "<row r=\"1\"><c r=\"A1\" s=\"1\"><v>0</v></c><c r=\"B1\" s=\"1\"><v>43951</v></c></row>",
        NULL, st);
    assert_string_equal(read_both("ex1904.xlsx", NULL),
                        "1:[d:1904-01-01@-2082873600000|d:2024-05-01@1714492800000]");
}

static void serials(void **state)
{
    (void)state;
    int64_t ms;
    assert_true(xlsx_serial_ms(25569, &ms));
    assert_int_equal(ms, -CHINA_OFFSET_MS);
    assert_true(xlsx_serial_ms(45413.75, &ms));
    assert_int_equal(ms, china(2024, 5, 1, 18, 0, 0));
    assert_true(xlsx_serial_ms(61, &ms));
    assert_int_equal(ms, china(1900, 3, 1, 0, 0, 0));
    assert_true(xlsx_serial_ms(59, &ms));
    assert_int_equal(ms, china(1900, 2, 28, 0, 0, 0));
    assert_false(xlsx_serial_ms(-0.5, &ms));
    assert_false(xlsx_serial_ms(2958466, &ms));
    assert_false(xlsx_serial_ms(NAN, &ms));
    char c[XLSX_COL_NAME];
    xlsx_col_name(0, c);
    assert_string_equal(c, "A");
    xlsx_col_name(25, c);
    assert_string_equal(c, "Z");
    xlsx_col_name(26, c);
    assert_string_equal(c, "AA");
    xlsx_col_name(16383, c);
    assert_string_equal(c, "XFD");
    /* the inverse, either side of the bug */
    assert_true(xlsx_serial(china(1900, 2, 28, 0, 0, 0)) == 59);
    assert_true(xlsx_serial(china(1900, 3, 1, 0, 0, 0)) == 61);
    assert_true(xlsx_serial(china(2024, 5, 1, 18, 0, 0)) == 45413.75);
}

/* ---- bad input ----------------------------------------------------------- */

static void not_a_workbook(void **state)
{
    (void)state;
    assert_string_equal(read_mem("hello, world", 12, NULL), "invalid_xlsx");
    assert_string_equal(read_mem("", 0, NULL), "invalid_xlsx");
    assert_string_equal(read_mem("PK\x03\x04garbage", 11, NULL), "invalid_xlsx");
    /* a CSV renamed .xlsx */
    FILE *f = fopen(path_of("fake.xlsx"), "w");
    fputs("a,b\n1,2\n", f);
    fclose(f);
    assert_string_equal(read_path("fake.xlsx", NULL, NULL), "invalid_xlsx");
    assert_string_equal(read_path("missing.xlsx", NULL, NULL), "E_IO");
    /* an old .xls, or an encrypted .xlsx: an OLE compound file, told apart */
    static const char ole[16] = "\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 rest";
    assert_string_equal(read_mem(ole, sizeof ole, NULL), "invalid_xlsx");
    assert_non_null(strstr(err_last()->message, "旧版 .xls"));
    f = fopen(path_of("old.xls"), "wb");
    fwrite(ole, 1, sizeof ole, f);
    fclose(f);
    assert_string_equal(read_path("old.xls", NULL, NULL), "invalid_xlsx");
    assert_non_null(strstr(err_last()->message, "旧版 .xls"));
    assert_string_equal(read_mem("hello, world", 12, NULL), "invalid_xlsx");
    assert_null(strstr(err_last()->message, "旧版 .xls"));
    /* a zip, but no workbook */
    zip_parts("nowb.xlsx", "[('a.txt', 'x')]");
    assert_string_equal(read_both("nowb.xlsx", NULL), "invalid_xlsx");
    /* a workbook without sheets */
    py("import zipfile\n" PKG_HEAD "with zipfile.ZipFile('nosheet.xlsx', 'w') as z:\n"
       "    z.writestr('_rels/.rels', RELS)\n"
       "    z.writestr('xl/workbook.xml', WB.replace('%s', '').replace('<sheet name=\"Sheet1\" "
       "sheetId=\"1\" r:id=\"rId1\"/>', ''))\n");
    assert_string_equal(read_both("nosheet.xlsx", NULL), "invalid_xlsx");
    /* a sheet named but its part missing */
    py("import zipfile\n" PKG_HEAD "with zipfile.ZipFile('nopart.xlsx', 'w') as z:\n"
       "    z.writestr('_rels/.rels', RELS)\n"
       "    z.writestr('xl/workbook.xml', WB.replace('%s', ''))\n"
       "    z.writestr('xl/_rels/workbook.xml.rels', WBRELS)\n");
    assert_string_equal(read_both("nopart.xlsx", NULL), "invalid_xlsx");
    assert_string_equal(err_last()->message,
                        "文件不是有效的 Excel（.xlsx）文件：缺少 xl/worksheets/sheet1.xml");
}

static void malformed_xml(void **state)
{
    (void)state;
    package("mal.xlsx", "", "<row r=\"1\"><c r=\"A1\"><v>1</v></row>", NULL, NULL);
    assert_string_equal(read_both("mal.xlsx", NULL), "invalid_xlsx");
    /* rows out of order, a bad reference, an unknown shared string */
    package("order.xlsx", "", "<row r=\"2\"/><row r=\"1\"/>", NULL, NULL);
    assert_string_equal(read_both("order.xlsx", NULL), "invalid_xlsx");
    package("ref.xlsx", "", "<row r=\"1\"><c r=\"1A\"><v>1</v></c></row>", NULL, NULL);
    assert_string_equal(read_both("ref.xlsx", NULL), "invalid_xlsx");
    package("cols.xlsx", "", "<row r=\"1\"><c r=\"B1\"><v>1</v></c><c r=\"A1\"><v>1</v></c></row>",
            NULL, NULL);
    assert_string_equal(read_both("cols.xlsx", NULL), "invalid_xlsx");
    package("ssidx.xlsx", "", "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>3</v></c></row>",
            "<si><t>a</t></si>", NULL);
    assert_string_equal(read_both("ssidx.xlsx", NULL), "invalid_xlsx");
    package("num.xlsx", "", "<row r=\"1\"><c r=\"A1\"><v>12abc</v></c></row>", NULL, NULL);
    assert_string_equal(read_both("num.xlsx", NULL), "invalid_xlsx");
}

/* Billion laughs, and an external entity: refused at the DOCTYPE. */
static void no_entities(void **state)
{
    (void)state;
    py("import zipfile\n" PKG_HEAD "lol = '<!DOCTYPE lolz [<!ENTITY lol \"lol\">' + ''.join("
       "'<!ENTITY lol%d \"%s\">' % (i, ('&lol%d;' % (i - 1) if i else '&lol;') * 10) "
       "for i in range(10)) + ']>'\n"
       "SHEET = '<?xml version=\"1.0\"?>' + lol + '<worksheet ' + NS + '><sheetData><row "
       "r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&lol9;</t></is></c></row></sheetData>"
       "</worksheet>'\n"
       "XXE = '<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]>"
       "<worksheet ' + NS + '><sheetData><row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>&e;</t>"
       "</is></c></row></sheetData></worksheet>'\n"
       "for name, sheet in (('lol.xlsx', SHEET), ('xxe.xlsx', XXE)):\n"
       "    with zipfile.ZipFile(name, 'w', zipfile.ZIP_DEFLATED) as z:\n"
       "        z.writestr('_rels/.rels', RELS)\n"
       "        z.writestr('xl/workbook.xml', WB.replace('%s', ''))\n"
       "        z.writestr('xl/_rels/workbook.xml.rels', WBRELS)\n"
       "        z.writestr('xl/worksheets/sheet1.xml', sheet)\n");
    assert_string_equal(read_both("lol.xlsx", NULL), "invalid_xlsx");
    assert_non_null(strstr(err_last()->message, "文档类型声明"));
    assert_string_equal(read_both("xxe.xlsx", NULL), "invalid_xlsx");
}

/* A sheet part of `mb` MiB of blanks inside sheetData: a few KiB zipped. */
static void bomb(const char *name, int mb)
{
    char script[4096];
    snprintf(script, sizeof script,
             "import zipfile\n" PKG_HEAD
             "with zipfile.ZipFile('%s', 'w', zipfile.ZIP_DEFLATED) as z:\n"
             "    z.writestr('_rels/.rels', RELS)\n"
             "    z.writestr('xl/workbook.xml', WB)\n"
             "    z.writestr('xl/_rels/workbook.xml.rels', WBRELS)\n"
             "    with z.open('xl/worksheets/sheet1.xml', 'w', force_zip64=True) as f:\n"
             "        f.write(('<worksheet ' + NS + '><sheetData>').encode())\n"
             "        blk = b' ' * (1 << 20)\n"
             "        for i in range(%d): f.write(blk)\n"
             "        f.write(b'</sheetData></worksheet>')\n",
             "", name, mb); /* "": the workbook's properties (PKG_HEAD) */
    py(script);
}

static void zip_bomb(void **state)
{
    (void)state;
    bomb("bomb.xlsx", 300); /* 300 MiB out of about 300 KiB */
    struct stat st;
    assert_int_equal(stat(path_of("bomb.xlsx"), &st), 0);
    assert_true(st.st_size < 1024 * 1024);
    /* the default ratio stops it after a MiB or two */
    clock_t t0 = clock();
    assert_string_equal(read_both("bomb.xlsx", NULL), "xlsx_too_large");
    assert_non_null(strstr(err_last()->message, "压缩比"));
    assert_true((double)(clock() - t0) / CLOCKS_PER_SEC < 2.0);
    /* past the total, with the ratio out of the way */
    bomb("big.xlsx", 9);
    struct xlsx_limits lim = {.max_bytes = 8 << 20, .max_ratio = 1u << 30};
    assert_string_equal(read_path("big.xlsx", NULL, &lim), "xlsx_too_large");
    assert_non_null(strstr(err_last()->message, "8 MB"));
    lim.max_bytes = 16 << 20;
    assert_string_equal(read_path("big.xlsx", NULL, &lim), "");
}

static void million_rows(void **state)
{
    (void)state;
    py("import zipfile\n" PKG_HEAD
       "with zipfile.ZipFile('rows.xlsx', 'w', zipfile.ZIP_DEFLATED) as z:\n"
       "    z.writestr('_rels/.rels', RELS)\n"
       "    z.writestr('xl/workbook.xml', WB.replace('%s', ''))\n"
       "    z.writestr('xl/_rels/workbook.xml.rels', WBRELS)\n"
       "    with z.open('xl/worksheets/sheet1.xml', 'w', force_zip64=True) as f:\n"
       "        f.write(('<worksheet ' + NS + '><sheetData>').encode())\n"
       "        for i in range(1, 1048577, 1024):\n"
       "            f.write(''.join('<row r=\"%d\"><c r=\"A%d\"><v>%d</v></c></row>' % (j, j, j)"
       " for j in range(i, i + 1024)).encode())\n"
       "        f.write(b'</sheetData></worksheet>')\n");
    static struct sink s;
    memset(&s, 0, sizeof s);
    s.quiet = true;
    struct xlsx_limits lim = {.max_rows = 100000};
    clock_t t0 = clock();
    assert_int_equal(xlsx_read_file(path_of("rows.xlsx"), NULL, &lim, on_row, &s), E_INPUT);
    double first = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_string_equal(err_last()->slug, "too_many_rows");
    assert_int_equal(s.rows, 100000);
    /* all of it, for comparison: the cap stopped the read early */
    memset(&s, 0, sizeof s);
    s.quiet = true;
    lim.max_rows = 2000000;
    lim.max_ratio = 1000;
    t0 = clock();
    assert_int_equal(xlsx_read_file(path_of("rows.xlsx"), NULL, &lim, on_row, &s), E_OK);
    double all = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_int_equal(s.rows, 1048576);
    assert_true(first * 4 < all);
}

static void limits(void **state)
{
    (void)state;
    package("long.xlsx", "",
            "<row r=\"1\"><c r=\"A1\" t=\"inlineStr\"><is><t>0123456789</t></is></c></row>", NULL,
            NULL);
    struct xlsx_limits lim = {.max_cell = 9};
    assert_string_equal(read_path("long.xlsx", NULL, &lim), "xlsx_cell_too_long");
    lim.max_cell = 10;
    assert_string_equal(read_path("long.xlsx", NULL, &lim), "1:[s:0123456789]");
    /* a long shared string */
    package("longss.xlsx", "", "<row r=\"1\"><c r=\"A1\" t=\"s\"><v>0</v></c></row>",
            "<si><r><t>01234</t></r><r><t>56789</t></r></si>", NULL);
    lim.max_cell = 9;
    assert_string_equal(read_path("longss.xlsx", NULL, &lim), "xlsx_cell_too_long");
    /* columns: a value past the cap is refused, a styled blank is not */
    package("wide.xlsx", "",
            "<row r=\"1\"><c r=\"A1\"><v>1</v></c><c r=\"XFD1\" s=\"0\"/></row>"
            "<row r=\"2\"><c r=\"IW2\"><v>1</v></c></row>",
            NULL, NULL);
    assert_string_equal(read_both("wide.xlsx", NULL), "too_many_columns");
    assert_non_null(strstr(err_last()->message, "IW"));
    struct xlsx_limits wide = {.max_cols = 257};
    assert_true(strncmp(read_path("wide.xlsx", NULL, &wide), "1:[n:1] 2:[", 11) == 0);
}

static void callback_stops(void **state)
{
    (void)state;
    package("three.xlsx", "",
            "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row><row r=\"2\"><c r=\"A2\"><v>2</v></c></row>"
            "<row r=\"3\"><c r=\"A3\"><v>3</v></c></row>",
            NULL, NULL);
    struct sink s = {.stop_at = 2};
    assert_int_equal(xlsx_read_file(path_of("three.xlsx"), NULL, NULL, on_row, &s), E_CONFLICT);
    assert_string_equal(err_last()->slug, "stop_here");
    assert_int_equal(s.rows, 2);
}

/* xlsx_peek_buffer: the first rows only, and the size the sheet declares
 * (libxlsxwriter writes <dimension>; a package without it declares 0). */
static void peek(void **state)
{
    (void)state;
    write_sample("peek.xlsx", false);
    size_t n;
    char *data = slurp("peek.xlsx", &n);
    struct sink s = {.quiet = true};
    struct xlsx_peek pk = {.rows = 2};
    assert_int_equal(xlsx_peek_buffer(data, n, NULL, NULL, &pk, on_row, &s), E_OK);
    assert_int_equal(s.rows, 2);
    struct sink all = {.quiet = true};
    assert_int_equal(xlsx_read_buffer(data, n, NULL, NULL, on_row, &all), E_OK);
    assert_true(all.rows > 2);
    assert_true(pk.declared >= all.rows);
    free(data);
    package("nodim.xlsx", "", "<row r=\"1\"><c r=\"A1\"><v>1</v></c></row>", NULL, NULL);
    data = slurp("nodim.xlsx", &n);
    memset(&s, 0, sizeof s);
    pk = (struct xlsx_peek){.rows = 5, .declared = 7};
    assert_int_equal(xlsx_peek_buffer(data, n, NULL, NULL, &pk, on_row, &s), E_OK);
    assert_int_equal(s.rows, 1);
    assert_int_equal(pk.declared, 0);
    free(data);
}

/* A million rows in constant_memory mode: the resident set does not grow
 * with the rows (it would by about 100 MB without the mode). */
static void big_export_flat_memory(void **state)
{
    (void)state;
    xlsx_writer *w;
    struct xlsx_write_opts o = {.constant_memory = true, .tmpdir = DIR_};
    assert_int_equal(xlsx_writer_open(path_of("big.xlsx"), &o, &w), E_OK);
    assert_int_equal(xlsx_sheet_add(w, "s"), E_OK);
    struct rusage ru;
    long at_100k = 0;
    for (int i = 0; i < 1000000; i++) {
        char b[32];
        snprintf(b, sizeof b, "姓名%d", i);
        xlsx_cell_text(w, b);
        xlsx_cell_int(w, i);
        xlsx_cell_date(w, china(2024, 5, 1, 0, 0, 0));
        xlsx_row_end(w);
        if (i == 100000) {
            getrusage(RUSAGE_SELF, &ru);
            at_100k = ru.ru_maxrss;
        }
    }
    getrusage(RUSAGE_SELF, &ru);
    long at_1m = ru.ru_maxrss;
    assert_int_equal(xlsx_close(&w), E_OK);
    print_message("maxrss at 100k rows %ld KiB, at 1M %ld KiB\n", at_100k, at_1m);
#if !defined(__SANITIZE_ADDRESS__)
    /* (under AddressSanitizer the resident set is the sanitizer's quarantine) */
    assert_true(at_1m - at_100k < 8 * 1024);
#endif
    /* and it reads back: the last row is there */
    static struct sink s;
    memset(&s, 0, sizeof s);
    s.quiet = true;
    struct xlsx_limits lim = {.max_rows = 1000000};
    assert_int_equal(xlsx_read_file(path_of("big.xlsx"), NULL, &lim, on_row, &s), E_OK);
    assert_int_equal(s.rows, 1000000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip),
        cmocka_unit_test(round_trip_constant_memory),
        cmocka_unit_test(round_trip_fast_rows),
        cmocka_unit_test(fast_rows_streamed),
        cmocka_unit_test(fast_rows_datetimes),
        cmocka_unit_test(to_temp_fd),
        cmocka_unit_test(give_back),
        cmocka_unit_test(formula_guard),
        cmocka_unit_test(writer_errors),
        cmocka_unit_test(marks_and_lists),
        cmocka_unit_test(openpyxl_files),
        cmocka_unit_test(inline_strings_and_formulas),
        cmocka_unit_test(shared_strings_and_dates),
        cmocka_unit_test(serials),
        cmocka_unit_test(not_a_workbook),
        cmocka_unit_test(malformed_xml),
        cmocka_unit_test(no_entities),
        cmocka_unit_test(zip_bomb),
        cmocka_unit_test(million_rows),
        cmocka_unit_test(limits),
        cmocka_unit_test(callback_stops),
        cmocka_unit_test(peek),
        cmocka_unit_test(big_export_flat_memory),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
