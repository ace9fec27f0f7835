/*
 * Unit tests of attach/attach.h: the content sniffer (every format, every
 * mismatch, truncated headers, scriptable files, the size limits to the
 * byte), and the storage on SQLite (and PostgreSQL when FK_DB names one):
 * an upload is stored encrypted and read back only by its uploader until a
 * record claims it; claims refuse someone else's upload, a taken one and
 * the tenth; reads follow the scope; the purge keeps what is claimed or
 * young; the hourly limits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "attach/attach.h"
#include "base/id.h"
#include "base/regcode.h"
#include "fixture.h"
#include "security/crypto.h"

static struct fixture_db F;
static db *D;

/* ---- sample files: the first bytes of each format, padded ------------------------------ */

static const uint8_t JPEG[] = {0xFF, 0xD8, 0xFF, 0xE0, 0, 16, 'J', 'F', 'I', 'F', 0, 1};
static const uint8_t PNG[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n', 0, 0, 0, 13, 'I', 'H'};
static const uint8_t WEBP[] = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'E', 'B', 'P', 'V', 'P'};
static const uint8_t WAV[] = {'R', 'I', 'F', 'F', 36, 0, 0, 0, 'W', 'A', 'V', 'E', 'f', 'm'};
static const uint8_t MP3_ID3[] = {'I', 'D', '3', 4, 0, 0, 0, 0, 0, 0};
static const uint8_t MP3_FRAME[] = {0xFF, 0xFB, 0x90, 0x64, 0, 0}; /* MPEG-1 layer III 128k */
static const uint8_t AMR[] = {'#', '!', 'A', 'M', 'R', '\n', 0x3C, 0x48};
static const uint8_t M4A[] = {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'M', '4', 'A', ' ', 0, 0, 0, 0};
static const uint8_t MP4_AVC1[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'a', 'v', 'c', '1', 0, 0};
static const uint8_t MP4_ISOM[] = {0, 0, 0, 0x20, 'f', 't', 'y', 'p', 'i', 's', 'o', 'm', 0, 0};
static const uint8_t WEBM[] = {0x1A, 0x45, 0xDF, 0xA3, 0x9F, 0x42, 0x86, 0x81, 0x01, 0x42,
                               0xF7, 0x81, 0x01, 0x42, 0xF2, 0x81, 0x04, 0x42, 0xF3, 0x81,
                               0x08, 0x42, 0x82, 0x84, 'w',  'e',  'b',  'm'};

static void sniff_ok(const void *b, size_t n, const char *claim, const char *want,
                     enum attach_class want_class)
{
    const char *mime = NULL;
    enum attach_class c = 0;
    assert_int_equal(attach_sniff(b, n, claim, &mime, &c), E_OK);
    assert_string_equal(mime, want);
    assert_int_equal(c, want_class);
}

static void sniff_bad(const void *b, size_t n, const char *claim, err want, const char *slug)
{
    const char *mime = "untouched";
    enum attach_class c = 0;
    assert_int_equal(attach_sniff(b, n, claim, &mime, &c), want);
    assert_string_equal(err_last()->slug, slug);
    assert_string_equal(err_last()->field, "file");
    assert_string_equal(mime, "untouched");
}

#define OK(arr, claim, want, cls) sniff_ok(arr, sizeof arr, claim, want, cls)
#define BAD(arr, claim, slug)     sniff_bad(arr, sizeof arr, claim, E_INPUT, slug)

static void test_formats(void **state)
{
    (void)state;
    OK(JPEG, "image/jpeg", "image/jpeg", ATTACH_IMAGE);
    OK(PNG, "image/png", "image/png", ATTACH_IMAGE);
    OK(WEBP, "image/webp", "image/webp", ATTACH_IMAGE);
    OK(MP3_ID3, "audio/mpeg", "audio/mpeg", ATTACH_AUDIO);
    OK(MP3_FRAME, "audio/mpeg", "audio/mpeg", ATTACH_AUDIO);
    OK(AMR, "audio/amr", "audio/amr", ATTACH_AUDIO);
    OK(WAV, "audio/wav", "audio/wav", ATTACH_AUDIO);
    OK(M4A, "audio/mp4", "audio/mp4", ATTACH_AUDIO);
    OK(MP4_AVC1, "video/mp4", "video/mp4", ATTACH_VIDEO);
    OK(WEBM, "video/webm", "video/webm", ATTACH_VIDEO);
    /* a generic brand fits both: the claim decides, video without one */
    OK(MP4_ISOM, "audio/mp4", "audio/mp4", ATTACH_AUDIO);
    OK(MP4_ISOM, "video/mp4", "video/mp4", ATTACH_VIDEO);
    OK(MP4_ISOM, NULL, "video/mp4", ATTACH_VIDEO);
    /* no claim: the content alone */
    OK(PNG, NULL, "image/png", ATTACH_IMAGE);
    /* parameters, case and the aliases phones send */
    OK(JPEG, "IMAGE/JPEG", "image/jpeg", ATTACH_IMAGE);
    OK(M4A, "audio/x-m4a", "audio/mp4", ATTACH_AUDIO);
    OK(WEBM, "video/webm; codecs=\"vp8, vorbis\"", "video/webm", ATTACH_VIDEO);
    OK(MP3_FRAME, "audio/mp3", "audio/mpeg", ATTACH_AUDIO);
    OK(WAV, "audio/x-wav", "audio/wav", ATTACH_AUDIO);
}

static void test_mismatches(void **state)
{
    (void)state;
    BAD(PNG, "image/jpeg", "type_mismatch");
    BAD(JPEG, "image/png", "type_mismatch");
    BAD(WEBP, "audio/wav", "type_mismatch"); /* both RIFF */
    BAD(WAV, "image/webp", "type_mismatch");
    BAD(MP3_ID3, "audio/mp4", "type_mismatch");
    BAD(AMR, "audio/mpeg", "type_mismatch");
    BAD(M4A, "video/mp4", "type_mismatch"); /* the brand decides */
    BAD(MP4_AVC1, "audio/mp4", "type_mismatch");
    BAD(WEBM, "video/mp4", "type_mismatch");
    BAD(JPEG, "", "type_mismatch");
    BAD(JPEG, "application/octet-stream", "type_mismatch");
    BAD(JPEG, "image/gif", "type_mismatch");
    BAD(PNG, "image/pngx", "type_mismatch");
    /* scriptable or unknown content, whatever it claims */
    static const char html[] = "<!DOCTYPE html><html><script>alert(1)</script></html>";
    sniff_bad(html, sizeof html - 1, "image/png", E_INPUT, "unsupported_type");
    static const char svg[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>";
    sniff_bad(svg, sizeof svg - 1, "image/svg+xml", E_INPUT, "unsupported_type");
    sniff_bad(svg, sizeof svg - 1, "image/png", E_INPUT, "unsupported_type");
    static const uint8_t gif[] = {'G', 'I', 'F', '8', '9', 'a', 1, 0, 1, 0};
    BAD(gif, "image/gif", "unsupported_type");
    static const uint8_t pdf[] = {'%', 'P', 'D', 'F', '-', '1', '.', '4'};
    BAD(pdf, "image/jpeg", "unsupported_type");
    /* RIFF of another kind (AVI), an MP4 brand of no known kind, Matroska */
    static const uint8_t avi[] = {'R', 'I', 'F', 'F', 0, 0, 0, 0, 'A', 'V', 'I', ' '};
    BAD(avi, "video/mp4", "unsupported_type");
    static const uint8_t heic[] = {0, 0, 0, 0x18, 'f', 't', 'y', 'p', 'h', 'e', 'i', 'c'};
    BAD(heic, "video/mp4", "unsupported_type");
    uint8_t mkv[sizeof WEBM];
    memcpy(mkv, WEBM, sizeof mkv);
    memcpy(mkv + sizeof mkv - 4, "mtrs", 4);
    BAD(mkv, "video/webm", "unsupported_type");
    /* ADTS AAC (layer 00) is not an MP3 frame; a reserved bitrate neither */
    static const uint8_t adts[] = {0xFF, 0xF1, 0x50, 0x80, 0, 0};
    BAD(adts, "audio/mpeg", "unsupported_type");
    static const uint8_t badrate[] = {0xFF, 0xFB, 0xF0, 0x64};
    BAD(badrate, "audio/mpeg", "unsupported_type");
    static const uint8_t amrwb[] = {'#', '!', 'A', 'M', 'R', '-', 'W', 'B', '\n'};
    BAD(amrwb, "audio/amr", "unsupported_type");
}

static void test_truncated(void **state)
{
    (void)state;
    sniff_bad(JPEG, 0, "image/jpeg", E_INPUT, "empty");
    sniff_bad(NULL, 0, "image/jpeg", E_INPUT, "empty");
    sniff_bad(JPEG, 2, "image/jpeg", E_INPUT, "unsupported_type");
    sniff_bad(PNG, 7, "image/png", E_INPUT, "unsupported_type");
    sniff_bad(WEBP, 11, "image/webp", E_INPUT, "unsupported_type");
    sniff_bad(WAV, 11, "audio/wav", E_INPUT, "unsupported_type");
    sniff_bad(MP3_ID3, 2, "audio/mpeg", E_INPUT, "unsupported_type");
    sniff_bad(MP3_FRAME, 2, "audio/mpeg", E_INPUT, "unsupported_type");
    sniff_bad(AMR, 5, "audio/amr", E_INPUT, "unsupported_type");
    sniff_bad(M4A, 11, "audio/mp4", E_INPUT, "unsupported_type");
    sniff_bad(WEBM, 3, "video/webm", E_INPUT, "unsupported_type");
    sniff_bad(WEBM, 22, "video/webm", E_INPUT, "unsupported_type"); /* DocType cut */
    /* the smallest headers that are whole pass */
    sniff_ok(JPEG, 3, "image/jpeg", "image/jpeg", ATTACH_IMAGE);
    sniff_ok(PNG, 8, "image/png", "image/png", ATTACH_IMAGE);
    sniff_ok(M4A, 12, "audio/mp4", "audio/mp4", ATTACH_AUDIO);
}

/* A file of n bytes starting with `head`: exactly at a class's limit it
 * passes, one byte more is too large (413). */
static void limit(const uint8_t *head, size_t hn, const char *claim, size_t max)
{
    uint8_t *b = calloc(1, max + 1);
    assert_non_null(b);
    memcpy(b, head, hn);
    const char *mime;
    enum attach_class c;
    assert_int_equal(attach_sniff(b, max, claim, &mime, &c), E_OK);
    assert_int_equal(attach_sniff(b, max + 1, claim, &mime, &c), E_TOO_LARGE);
    assert_string_equal(err_last()->slug, "too_large");
    assert_string_equal(err_last()->field, "file");
    free(b);
}

static void test_limits(void **state)
{
    (void)state;
    limit(JPEG, sizeof JPEG, "image/jpeg", ATTACH_IMAGE_MAX);
    limit(PNG, sizeof PNG, "image/png", ATTACH_IMAGE_MAX);
    limit(AMR, sizeof AMR, "audio/amr", ATTACH_AUDIO_MAX);
    limit(M4A, sizeof M4A, "audio/mp4", ATTACH_AUDIO_MAX);
    limit(MP4_AVC1, sizeof MP4_AVC1, "video/mp4", ATTACH_VIDEO_MAX);
    limit(WEBM, sizeof WEBM, "video/webm", ATTACH_VIDEO_MAX);
    /* an image the size of a video is still too large for an image */
    uint8_t *b = calloc(1, ATTACH_IMAGE_MAX + 1);
    assert_non_null(b);
    memcpy(b, JPEG, sizeof JPEG);
    const char *mime;
    enum attach_class c;
    assert_int_equal(attach_sniff(b, ATTACH_IMAGE_MAX + 1, "image/jpeg", &mime, &c), E_TOO_LARGE);
    free(b);
}

/* ---- storage ------------------------------------------------------------------------------ */

#define GRID  "110101001001001"
#define OTHER "110102001001001"

/* A resident (self) or a staff member (case.read) of a region. */
static struct principal person(int64_t user_id, const char *region, bool resident)
{
    enum region_level lv;
    int64_t code = regcode_parse(region, &lv);
    struct principal p = {.user_id = user_id, .region_code = code, .resident = resident};
    p.scope = scope_of(code);
    p.perms = resident ? PERMS(PERM_SELF) : PERMS(PERM_CASE_READ);
    return p;
}

static int64_t code_of(const char *region)
{
    enum region_level lv;
    return regcode_parse(region, &lv);
}

static int reset(void **state)
{
    (void)state;
    return db_exec(D, "DELETE FROM attachments") || db_exec(D, "DELETE FROM rate_limits") ? -1 : 0;
}

static int64_t put(const struct principal *who, const uint8_t *b, size_t n, const char *claim)
{
    int64_t id = 0;
    assert_int_equal(attach_put(D, who, claim, b, n, &id), E_OK);
    assert_true(id > 0);
    return id;
}

static void get_fails(const struct principal *who, int64_t id)
{
    arena *a = arena_new(8192); /* a test's own */
    const char *mime;
    const void *bytes;
    size_t n;
    assert_int_equal(attach_get(D, a, who, id, &mime, &bytes, &n), E_NOT_FOUND);
    arena_free(&a);
}

static void get_same(const struct principal *who, int64_t id, const void *want, size_t wn,
                     const char *want_mime)
{
    arena *a = arena_new(8192); /* a test's own */
    const char *mime;
    const void *bytes;
    size_t n;
    assert_int_equal(attach_get(D, a, who, id, &mime, &bytes, &n), E_OK);
    assert_string_equal(mime, want_mime);
    assert_int_equal(n, wn);
    assert_memory_equal(bytes, want, wn);
    arena_free(&a);
}

static void test_put_get(void **state)
{
    (void)state;
    struct principal me = person(101, GRID, true), neighbour = person(102, GRID, true);
    struct principal staff = person(201, GRID, false), far = person(202, OTHER, false);
    uint8_t file[4096];
    memset(file, 'x', sizeof file);
    memcpy(file, PNG, sizeof PNG);
    memcpy(file + 100, "MARKER-attach-0042", 18);
    int64_t id = put(&me, file, sizeof file, "image/png");
    /* stored encrypted: the marker is not in the row */
    db_stmt *s;
    bool row;
    assert_int_equal(db_prepare(D,
                                "SELECT data_enc, size, class, mime FROM attachments "
                                "WHERE id = ?",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    assert_int_equal(db_row(s, &row), E_OK);
    assert_true(row);
    size_t cn;
    const uint8_t *ct = db_col_blob(s, 0, &cn);
    assert_int_equal(cn, sizeof file + SEAL_OVERHEAD);
    assert_null(memmem(ct, cn, "MARKER-attach", 13));
    assert_null(memmem(ct, cn, "PNG", 3));
    assert_int_equal(db_col_int64(s, 1), sizeof file);
    assert_int_equal(db_col_int64(s, 2), ATTACH_IMAGE);
    assert_string_equal(db_col_text(s, 3), "image/png");
    db_done(s);

    /* unclaimed: its uploader alone */
    get_same(&me, id, file, sizeof file, "image/png");
    get_fails(&neighbour, id);
    get_fails(&staff, id);
    get_fails(&me, id + 1);

    /* claimed in the grid: staff of the grid, not of another district,
     * nor a neighbour whose home is in it */
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(attach_claim(D, &me, id, "incident", 9001, code_of(GRID), "attachments[0]"),
                     E_OK);
    assert_int_equal(db_commit(D), E_OK);
    get_same(&me, id, file, sizeof file, "image/png");
    get_same(&staff, id, file, sizeof file, "image/png");
    get_fails(&far, id);
    get_fails(&neighbour, id);
    /* staff of the grid who see no reports or checks (an enterprise
     * account, an auditor) */
    struct principal ent = staff;
    ent.user_id = 203;
    ent.perms = PERMS(PERM_SELF, PERM_ENTERPRISE_READ, PERM_AUDIT_READ);
    get_fails(&ent, id);
    ent.perms = PERMS(PERM_CHECK_WRITE);
    get_same(&ent, id, file, sizeof file, "image/png");
    struct attach_meta m;
    assert_int_equal(attach_meta(D, &staff, id, &m), E_OK);
    assert_string_equal(m.owner_kind, "incident");
    assert_int_equal(m.owner_id, 9001);
    uint8_t h[SM3_LEN];
    sm3(file, sizeof file, h);
    assert_memory_equal(m.sm3, h, SM3_LEN);

    /* a ciphertext copied onto another row does not open there */
    int64_t other = put(&me, file, sizeof file, "image/png");
    assert_int_equal(db_prepare(D,
                                "UPDATE attachments SET data_enc = (SELECT data_enc FROM "
                                "attachments WHERE id = ?) WHERE id = ?",
                                &s),
                     E_OK);
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, other);
    assert_int_equal(db_run(s, NULL), E_OK);
    arena *a = arena_new(8192); /* a test's own */
    const char *mime;
    const void *bytes;
    size_t n;
    assert_int_equal(attach_get(D, a, &me, other, &mime, &bytes, &n), E_CRYPTO);
    arena_free(&a);
}

static void test_claims(void **state)
{
    (void)state;
    struct principal me = person(101, GRID, true), other = person(102, GRID, true);
    int64_t mine = put(&me, JPEG, sizeof JPEG, "image/jpeg");
    int64_t theirs = put(&other, JPEG, sizeof JPEG, "image/jpeg");
    int64_t g = code_of(GRID);
    /* someone else's upload: refused on its field, nothing taken */
    assert_int_equal(attach_claim(D, &me, theirs, "incident", 1, g, "attachments[1]"), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_attachment");
    assert_string_equal(err_last()->field, "attachments[1]");
    assert_int_equal(attach_claim(D, &me, 424242, "incident", 1, g, "x"), E_INPUT);
    assert_int_equal(attach_claim(D, &me, mine, "", 1, g, "x"), E_INPUT);
    /* mine: taken once, not twice (nor by another record) */
    assert_int_equal(attach_claim(D, &me, mine, "incident", 1, g, "a"), E_OK);
    assert_int_equal(attach_claim(D, &me, mine, "incident", 2, g, "a"), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_attachment");
    json_t *items;
    assert_int_equal(attach_list(D, "incident", 1, &items), E_OK);
    assert_int_equal(json_array_size(items), 1);
    json_t *o = json_array_get(items, 0);
    assert_string_equal(json_string_value(json_object_get(o, "mime")), "image/jpeg");
    assert_string_equal(json_string_value(json_object_get(o, "class")), "image");
    assert_int_equal(json_integer_value(json_object_get(o, "size")), sizeof JPEG);
    assert_null(json_object_get(o, "data_enc"));
    json_decref(items);
    assert_int_equal(attach_list(D, "incident", 2, &items), E_OK);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
    assert_int_equal(attach_list(D, "check", 1, &items), E_OK); /* the kind counts */
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);
}

static json_t *ids_of(const int64_t *ids, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_sprintf("%lld", (long long)ids[i]));
    return a;
}

static void test_claim_all(void **state)
{
    (void)state;
    struct principal me = person(101, GRID, true), other = person(102, GRID, true);
    int64_t g = code_of(GRID), ids[ATTACH_PER_OWNER_MAX + 1];
    for (size_t i = 0; i < ATTACH_PER_OWNER_MAX + 1; i++)
        ids[i] = put(&me, AMR, sizeof AMR, "audio/amr");
    int64_t theirs = put(&other, AMR, sizeof AMR, "audio/amr");
    json_t *items;

    /* none */
    assert_int_equal(attach_claim_all(D, &me, NULL, "check", 7, g), E_OK);
    json_t *empty = json_array();
    assert_int_equal(attach_claim_all(D, &me, empty, "check", 7, g), E_OK);
    json_decref(empty);

    /* one bad id in a transaction: the whole record is refused and none
     * is taken (the caller rolls back) */
    int64_t mixed[] = {ids[0], theirs};
    json_t *arr = ids_of(mixed, 2);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(attach_claim_all(D, &me, arr, "check", 7, g), E_INPUT);
    assert_string_equal(err_last()->slug, "invalid_attachment");
    assert_string_equal(err_last()->field, "attachments[1]");
    db_rollback(D);
    json_decref(arr);
    assert_int_equal(attach_list(D, "check", 7, &items), E_OK);
    assert_int_equal(json_array_size(items), 0);
    json_decref(items);

    /* not an array, not strings */
    json_t *bad = json_string("1");
    assert_int_equal(attach_claim_all(D, &me, bad, "check", 7, g), E_INPUT);
    assert_string_equal(err_last()->field, "attachments");
    json_decref(bad);
    bad = json_pack("[I]", (json_int_t)ids[0]);
    assert_int_equal(attach_claim_all(D, &me, bad, "check", 7, g), E_INPUT);
    assert_string_equal(err_last()->field, "attachments[0]");
    json_decref(bad);

    /* the same upload named twice: the second is taken already */
    int64_t twice[] = {ids[0], ids[0]};
    arr = ids_of(twice, 2);
    assert_int_equal(db_begin(D), E_OK);
    assert_int_equal(attach_claim_all(D, &me, arr, "check", 7, g), E_INPUT);
    assert_string_equal(err_last()->field, "attachments[1]");
    db_rollback(D);
    json_decref(arr);

    /* ten at once: too many */
    arr = ids_of(ids, ATTACH_PER_OWNER_MAX + 1);
    assert_int_equal(attach_claim_all(D, &me, arr, "check", 7, g), E_INPUT);
    assert_string_equal(err_last()->slug, "too_many_attachments");
    assert_string_equal(err_last()->field, "attachments");
    json_decref(arr);

    /* nine: all taken, in order; a tenth later is refused */
    arr = ids_of(ids, ATTACH_PER_OWNER_MAX);
    assert_int_equal(attach_claim_all(D, &me, arr, "check", 7, g), E_OK);
    json_decref(arr);
    assert_int_equal(attach_list(D, "check", 7, &items), E_OK);
    assert_int_equal(json_array_size(items), ATTACH_PER_OWNER_MAX);
    char want[24];
    snprintf(want, sizeof want, "%lld", (long long)ids[0]);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "id")), want);
    assert_string_equal(json_string_value(json_object_get(json_array_get(items, 0), "class")),
                        "audio");
    json_decref(items);
    assert_int_equal(
        attach_claim(D, &me, ids[ATTACH_PER_OWNER_MAX], "check", 7, g, "attachments[0]"), E_INPUT);
    assert_string_equal(err_last()->slug, "too_many_attachments");
}

static void set_created(int64_t id, int64_t at)
{
    db_stmt *s;
    assert_int_equal(db_prepare(D, "UPDATE attachments SET created_at = ? WHERE id = ?", &s), E_OK);
    db_bind_int64(s, 1, at);
    db_bind_int64(s, 2, id);
    assert_int_equal(db_run(s, NULL), E_OK);
}

static void test_purge(void **state)
{
    (void)state;
    struct principal me = person(101, GRID, true);
    int64_t now = now_ms();
    int64_t old = put(&me, JPEG, sizeof JPEG, "image/jpeg");
    int64_t edge = put(&me, JPEG, sizeof JPEG, "image/jpeg");
    int64_t young = put(&me, JPEG, sizeof JPEG, "image/jpeg");
    int64_t claimed = put(&me, JPEG, sizeof JPEG, "image/jpeg");
    set_created(old, now - ATTACH_UNCLAIMED_MS - 1);
    set_created(edge, now - ATTACH_UNCLAIMED_MS);
    set_created(claimed, now - 10 * ATTACH_UNCLAIMED_MS);
    assert_int_equal(attach_claim(D, &me, claimed, "incident", 5, code_of(GRID), "a"), E_OK);
    int64_t n = -1;
    assert_int_equal(attach_purge(D, now, &n), E_OK);
    assert_int_equal(n, 1);
    get_fails(&me, old);
    get_same(&me, edge, JPEG, sizeof JPEG, "image/jpeg");
    get_same(&me, young, JPEG, sizeof JPEG, "image/jpeg");
    get_same(&me, claimed, JPEG, sizeof JPEG, "image/jpeg");
    assert_int_equal(attach_purge(D, now, &n), E_OK);
    assert_int_equal(n, 0);
}

static void test_rate(void **state)
{
    (void)state;
    struct principal me = person(101, GRID, true), other = person(102, GRID, true);
    int64_t now = now_ms();
    attach_limits_set(3, 1 << 20);
    for (int i = 0; i < 3; i++)
        assert_int_equal(attach_rate_check(D, &me, 10, now), E_OK);
    assert_int_equal(attach_rate_check(D, &me, 10, now), E_RATE);
    assert_string_equal(err_last()->slug, "upload_rate_limited");
    assert_int_equal(attach_rate_check(D, &other, 10, now), E_OK); /* per user */

    /* bytes: what was stored this hour plus this upload */
    attach_limits_set(1000, 8192);
    uint8_t file[4096] = {0};
    memcpy(file, JPEG, sizeof JPEG);
    put(&other, file, sizeof file, "image/jpeg");
    assert_int_equal(attach_rate_check(D, &other, 4096, now), E_OK); /* 8192: at the limit */
    assert_int_equal(attach_rate_check(D, &other, 4097, now), E_RATE);
    assert_string_equal(err_last()->slug, "upload_rate_limited");
    /* an hour later the stored bytes no longer count */
    assert_int_equal(attach_rate_check(D, &other, 4097, now + 3600 * 1000LL + 60000), E_OK);
    attach_limits_set(0, 0);
}

static int open_sqlite(void **state)
{
    (void)state;
    return fixture_sqlite_open(&F, "attach", &D) || db_migrate(D) != E_OK ? -1 : 0;
}

static int close_sqlite(void **state)
{
    (void)state;
    fixture_sqlite_close(&F, &D);
    return 0;
}

static int open_pg(void **state)
{
    (void)state;
    return fixture_pg_open(&D) || db_migrate(D) != E_OK ? -1 : 0;
}

static int close_pg(void **state)
{
    (void)state;
    db_close(&D);
    return 0;
}

int main(void)
{
    uint8_t master[32];
    for (int i = 0; i < 32; i++)
        master[i] = (uint8_t)(0x40 + i);
    keys_set_master(master);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_formats),
        cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_limits),
    };
    int failed = cmocka_run_group_tests(tests, NULL, NULL);
    const struct CMUnitTest db_tests[] = {
        cmocka_unit_test_setup(test_put_get, reset),   cmocka_unit_test_setup(test_claims, reset),
        cmocka_unit_test_setup(test_claim_all, reset), cmocka_unit_test_setup(test_purge, reset),
        cmocka_unit_test_setup(test_rate, reset),
    };
    failed += cmocka_run_group_tests_name("attach/sqlite", db_tests, open_sqlite, close_sqlite);
    if (fixture_pg_wanted())
        failed += cmocka_run_group_tests_name("attach/postgres", db_tests, open_pg, close_pg);
    return failed ? 1 : 0;
}
