/*
 * Attachments (attach.h): the content sniffer, storage SM4-encrypted in
 * the database, claims by the records that use them, reads under scope,
 * the upload limits and the purge of what nobody claimed.
 */
#include "attach/attach.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "security/crypto.h"
#include "security/ratelimit.h"

/* ---- the sniffer ------------------------------------------------------------------------- */

static const struct {
    const char *mime;
    enum attach_class class;
} types[] = {
    {"image/jpeg", ATTACH_IMAGE}, {"image/png", ATTACH_IMAGE}, {"image/webp", ATTACH_IMAGE},
    {"audio/mpeg", ATTACH_AUDIO}, {"audio/mp4", ATTACH_AUDIO}, {"audio/amr", ATTACH_AUDIO},
    {"audio/wav", ATTACH_AUDIO},  {"video/mp4", ATTACH_VIDEO}, {"video/webm", ATTACH_VIDEO},
};

/* Other names phones and browsers give the same types (iOS says
 * audio/x-m4a, older Android audio/mp3, some browsers audio/x-wav). */
static const struct {
    const char *alias, *mime;
} aliases[] = {
    {"image/jpg", "image/jpeg"},  {"image/pjpeg", "image/jpeg"}, {"audio/mp3", "audio/mpeg"},
    {"audio/x-m4a", "audio/mp4"}, {"audio/m4a", "audio/mp4"},    {"audio/aac", "audio/mp4"},
    {"audio/x-wav", "audio/wav"}, {"audio/wave", "audio/wav"},   {"audio/vnd.wave", "audio/wav"},
};

static size_t class_max(enum attach_class c)
{
    return c == ATTACH_IMAGE   ? ATTACH_IMAGE_MAX
           : c == ATTACH_AUDIO ? ATTACH_AUDIO_MAX
                               : ATTACH_VIDEO_MAX;
}

const char *attach_class_name(enum attach_class c)
{
    return c == ATTACH_IMAGE ? "image" : c == ATTACH_AUDIO ? "audio" : "video";
}

/* The claimed type without its parameters (";codecs=…"), lower-cased, an
 * alias mapped to its name; "" when it is none of ours. */
static const char *claim_mime(const char *claimed, char *buf, size_t n)
{
    size_t i = 0;
    while (claimed && claimed[i] && claimed[i] != ';' && claimed[i] != ' ' && i + 1 < n) {
        char c = claimed[i];
        buf[i++] = c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
    }
    buf[i] = '\0';
    for (size_t k = 0; k < sizeof aliases / sizeof *aliases; k++)
        if (!strcmp(buf, aliases[k].alias))
            return aliases[k].mime;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++)
        if (!strcmp(buf, types[k].mime))
            return types[k].mime;
    return "";
}

static bool has(const uint8_t *b, size_t n, size_t at, const char *magic, size_t len)
{
    return n >= at + len && !memcmp(b + at, magic, len);
}

/* An MPEG audio frame header: the 11-bit sync, a version and layer that
 * exist (layer 00 is AAC's ADTS, not MP3), a bitrate and sample rate that
 * are not the reserved values. */
static bool mpeg_frame(const uint8_t *b, size_t n)
{
    return n >= 3 && b[0] == 0xFF && (b[1] & 0xE0) == 0xE0 && ((b[1] >> 3) & 3) != 1 &&
           ((b[1] >> 1) & 3) != 0 && (b[2] >> 4) != 15 && ((b[2] >> 2) & 3) != 3;
}

/* MP4 brands that say what the file holds, and those that fit both. */
static const char *const audio_brands[] = {"M4A ", "M4B ", "F4A "};
static const char *const video_brands[] = {"M4V ", "avc1", "F4V ", "M4VP"};
static const char *const either_brands[] = {"isom", "iso2", "iso3", "iso4", "iso5",
                                            "iso6", "mp41", "mp42", "mp71", "3gp4",
                                            "3gp5", "3gp6", "3g2a", "MSNV", "dash"};

static bool brand_in(const uint8_t *brand, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!memcmp(brand, list[i], 4))
            return true;
    return false;
}

#define BRANDS(list, b) brand_in(b, list, sizeof list / sizeof *list)

/* The ISO base media file (ftyp box first): by its major brand, else the
 * claim, else video. NULL: not one of ours. */
static const char *mp4_type(const uint8_t *b, size_t n, const char *claim)
{
    if (!has(b, n, 4, "ftyp", 4) || n < 12)
        return NULL;
    const uint8_t *major = b + 8;
    if (BRANDS(audio_brands, major))
        return "audio/mp4";
    if (BRANDS(video_brands, major))
        return "video/mp4";
    if (!BRANDS(either_brands, major))
        return NULL;
    return !strcmp(claim, "audio/mp4") ? "audio/mp4" : "video/mp4";
}

/* What the bytes are, by their first bytes only; NULL when none of ours. */
static const char *sniff_type(const uint8_t *b, size_t n, const char *claim)
{
    if (has(b, n, 0, "\xFF\xD8\xFF", 3))
        return "image/jpeg";
    if (has(b, n, 0, "\x89PNG\r\n\x1A\n", 8))
        return "image/png";
    if (has(b, n, 0, "RIFF", 4) && has(b, n, 8, "WEBP", 4))
        return "image/webp";
    if (has(b, n, 0, "RIFF", 4) && has(b, n, 8, "WAVE", 4))
        return "audio/wav";
    if (has(b, n, 0, "ID3", 3) || mpeg_frame(b, n))
        return "audio/mpeg";
    if (has(b, n, 0, "#!AMR\n", 6))
        return "audio/amr";
    /* EBML, and its DocType "webm" in the header (Matroska files, which
     * browsers do not all play, are refused) */
    if (has(b, n, 0, "\x1A\x45\xDF\xA3", 4) && memmem(b, n < 64 ? n : 64, "\x42\x82", 2) &&
        memmem(b, n < 64 ? n : 64, "webm", 4))
        return "video/webm";
    return mp4_type(b, n, claim);
}

err attach_sniff(const void *bytes, size_t n, const char *claimed, const char **mime_r,
                 enum attach_class *class_r)
{
    if (!bytes || !n)
        return err_set(E_INPUT, "empty", "file", "文件为空");
    char buf[64];
    const char *claim = claim_mime(claimed, buf, sizeof buf);
    const char *mime = sniff_type(bytes, n, claim);
    if (!mime)
        return err_set(E_INPUT, "unsupported_type", "file",
                       "不支持的文件格式：图片请用 JPEG、PNG 或 WebP，音频请用 MP3、M4A、AMR "
                       "或 WAV，视频请用 MP4 或 WebM");
    if (claimed && strcmp(claim, mime))
        return err_set(E_INPUT, "type_mismatch", "file", "文件内容与声明的类型（%s）不符",
                       *claim ? claim : "未知类型");
    enum attach_class c = ATTACH_IMAGE;
    for (size_t k = 0; k < sizeof types / sizeof *types; k++)
        if (!strcmp(types[k].mime, mime))
            c = types[k].class;
    if (n > class_max(c))
        return err_set(E_TOO_LARGE, "too_large", "file", "%s文件不能超过 %zu MB",
                       c == ATTACH_IMAGE   ? "图片"
                       : c == ATTACH_AUDIO ? "音频"
                                           : "视频",
                       class_max(c) >> 20);
    *mime_r = mime;
    *class_r = c;
    return E_OK;
}

/* ---- storage ------------------------------------------------------------------------------ */

/* The field name sealed into each ciphertext's tag: the row's id is part of
 * it, so the bytes of one attachment copied onto another row do not open. */
static void seal_field(int64_t id, char out[48])
{
    snprintf(out, 48, "attachments.data_enc#%lld", (long long)id);
}

err attach_put(db *d, const struct principal *who, const char *claimed, const void *bytes, size_t n,
               int64_t *id_r)
{
    const char *mime;
    enum attach_class c;
    err e = attach_sniff(bytes, n, claimed, &mime, &c);
    if (e)
        return e;
    int64_t id = id_new();
    char field[48];
    seal_field(id, field);
    uint8_t *ct = malloc(n + SEAL_OVERHEAD), hash[SM3_LEN];
    if (!ct)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    sm3(bytes, n, hash);
    db_stmt *s = NULL;
    if (!(e = seal_buf(field, bytes, n, ct)) &&
        !(e = db_prepare(d,
                         "INSERT INTO attachments (id, uploader_id, mime, class, size, sm3, "
                         "data_enc, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                         &s))) {
        db_bind_int64(s, 1, id);
        db_bind_int64(s, 2, who->user_id);
        db_bind_text(s, 3, mime);
        db_bind_int64(s, 4, c);
        db_bind_int64(s, 5, (int64_t)n);
        db_bind_blob(s, 6, hash, sizeof hash);
        db_bind_blob(s, 7, ct, n + SEAL_OVERHEAD);
        db_bind_int64(s, 8, now_ms());
        e = db_run(s, NULL);
    }
    free(ct);
    if (!e)
        *id_r = id;
    return e;
}

static err invalid(const char *field)
{
    return err_set(E_INPUT, "invalid_attachment", field,
                   "附件不存在、已被使用或不是您上传的，请重新上传");
}

err attach_claim(db *d, const struct principal *who, int64_t id, const char *owner_kind,
                 int64_t owner_id, int64_t region_code, const char *field)
{
    if (id <= 0 || !owner_kind || !*owner_kind || owner_id <= 0)
        return invalid(field);
    db_stmt *s;
    int64_t held = 0, changed = 0;
    bool row = false;
    err e =
        db_prepare(d, "SELECT COUNT(*) FROM attachments WHERE owner_kind = ? AND owner_id = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, owner_kind);
    db_bind_int64(s, 2, owner_id);
    if (!(e = db_row(s, &row)) && row)
        held = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (held >= ATTACH_PER_OWNER_MAX)
        return err_set(E_INPUT, "too_many_attachments", field, "每条记录最多 %d 个附件",
                       ATTACH_PER_OWNER_MAX);
    /* own and unclaimed, in the statement itself: two records racing for
     * one upload cannot both take it */
    if ((e = db_prepare(d,
                        "UPDATE attachments SET owner_kind = ?, owner_id = ?, region_code = ?, "
                        "claimed_at = ? WHERE id = ? AND uploader_id = ? AND owner_kind = ''",
                        &s)))
        return e;
    db_bind_text(s, 1, owner_kind);
    db_bind_int64(s, 2, owner_id);
    db_bind_int64(s, 3, region_code);
    db_bind_int64(s, 4, now_ms());
    db_bind_int64(s, 5, id);
    db_bind_int64(s, 6, who->user_id);
    if ((e = db_run(s, &changed)))
        return e;
    return changed == 1 ? E_OK : invalid(field);
}

err attach_claim_all(db *d, const struct principal *who, json_t *ids, const char *owner_kind,
                     int64_t owner_id, int64_t region_code)
{
    if (!ids || json_is_null(ids))
        return E_OK;
    if (!json_is_array(ids))
        return err_set(E_INPUT, "invalid_attachment", "attachments", "附件应为附件编号的列表");
    if (json_array_size(ids) > ATTACH_PER_OWNER_MAX)
        return err_set(E_INPUT, "too_many_attachments", "attachments", "每条记录最多 %d 个附件",
                       ATTACH_PER_OWNER_MAX);
    size_t i;
    json_t *v;
    json_array_foreach(ids, i, v)
    {
        char field[48];
        snprintf(field, sizeof field, "attachments[%zu]", i);
        err e = attach_claim(d, who, json_is_string(v) ? id_parse(json_string_value(v)) : 0,
                             owner_kind, owner_id, region_code, field);
        if (e)
            return e;
    }
    return E_OK;
}

err attach_list(db *d, const char *owner_kind, int64_t owner_id, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, mime, class, size, created_at FROM attachments "
                       "WHERE owner_kind = ? AND owner_id = ? ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_text(s, 1, owner_kind);
    db_bind_int64(s, 2, owner_id);
    json_t *arr = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o = json_object();
        json_set_id(o, "id", db_col_int64(s, 0));
        json_object_set_new(o, "mime", json_string(db_col_text(s, 1)));
        json_object_set_new(o, "class",
                            json_string(attach_class_name((enum attach_class)db_col_int64(s, 2))));
        json_object_set_new(o, "size", json_integer(db_col_int64(s, 3)));
        json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 4)));
        json_array_append_new(arr, o);
    }
    db_done(s);
    if (e) {
        json_decref(arr);
        return e;
    }
    *items_r = arr;
    return E_OK;
}

/* May `who` read an attachment with these owner columns? Its uploader
 * always; staff whose scope holds the region of a claimed one and who see
 * the records that hold attachments (reports and checks). A resident's
 * scope is the region they live in, not a licence to read the neighbours'
 * reports; nor is an enterprise account's, nor an auditor's. */
static bool may_read(const struct principal *who, int64_t uploader, const char *owner_kind,
                     int64_t region_code)
{
    if (who->user_id == uploader)
        return true;
    bool sees_records = principal_can(who, PERM_CASE_READ) ||
                        principal_can(who, PERM_CASE_REPORT) ||
                        principal_can(who, PERM_CHECK_WRITE);
    return !who->resident && sees_records && *owner_kind && scope_has(&who->scope, region_code);
}

err attach_meta(db *d, const struct principal *who, int64_t id, struct attach_meta *m)
{
    db_stmt *s;
    bool row = false;
    err e = db_prepare(d,
                       "SELECT uploader_id, owner_kind, owner_id, region_code, mime, class, size, "
                       "sm3, created_at, claimed_at FROM attachments WHERE id = ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if (!(e = db_row(s, &row)) && row) {
        m->id = id;
        m->uploader_id = db_col_int64(s, 0);
        snprintf(m->owner_kind, sizeof m->owner_kind, "%s", db_col_text(s, 1));
        m->owner_id = db_col_int64(s, 2);
        m->region_code = db_col_int64(s, 3);
        snprintf(m->mime, sizeof m->mime, "%s", db_col_text(s, 4));
        m->class = (enum attach_class)db_col_int64(s, 5);
        m->size = db_col_int64(s, 6);
        size_t hn;
        const void *h = db_col_blob(s, 7, &hn);
        memset(m->sm3, 0, sizeof m->sm3);
        if (h && hn == sizeof m->sm3)
            memcpy(m->sm3, h, hn);
        m->created_at = db_col_int64(s, 8);
        m->claimed_at = db_col_int64(s, 9);
    }
    db_done(s);
    if (e)
        return e;
    if (!row || !may_read(who, m->uploader_id, m->owner_kind, m->region_code))
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    return E_OK;
}

err attach_get(db *d, arena *a, const struct principal *who, int64_t id, const char **mime_r,
               const void **bytes_r, size_t *n_r)
{
    struct attach_meta m;
    err e = attach_meta(d, who, id, &m);
    if (e)
        return e;
    db_stmt *s;
    bool row = false;
    if ((e = db_prepare(d, "SELECT data_enc FROM attachments WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, id);
    char field[48], *plain = NULL;
    size_t n = 0;
    seal_field(id, field);
    if (!(e = db_row(s, &row)) && row) {
        size_t cn;
        const void *ct = db_col_blob(s, 0, &cn);
        e = unseal(a, field, ct, cn, &plain, &n);
    }
    db_done(s);
    if (e)
        return e;
    if (!row) /* purged between the two statements */
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    *mime_r = arena_strdup(a, m.mime);
    *bytes_r = plain;
    *n_r = n;
    return E_OK;
}

err attach_purge(db *d, int64_t now, int64_t *n_r)
{
    db_stmt *s;
    int64_t n = 0;
    err e = db_prepare(d, "DELETE FROM attachments WHERE owner_kind = '' AND created_at < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now - ATTACH_UNCLAIMED_MS);
    if ((e = db_run(s, &n)))
        return e;
    if (n_r)
        *n_r = n;
    return E_OK;
}

/* ---- upload limits -------------------------------------------------------------------- */

static int limit_uploads = ATTACH_UPLOADS_PER_HOUR;
static int64_t limit_bytes = ATTACH_BYTES_PER_HOUR;

void attach_limits_set(int uploads_per_hour, int64_t bytes_per_hour)
{
    limit_uploads = uploads_per_hour > 0 ? uploads_per_hour : ATTACH_UPLOADS_PER_HOUR;
    limit_bytes = bytes_per_hour > 0 ? bytes_per_hour : ATTACH_BYTES_PER_HOUR;
}

err attach_rate_check(db *d, const struct principal *who, size_t n, int64_t now)
{
    char key[48];
    snprintf(key, sizeof key, "attach_upload:%lld", (long long)who->user_id);
    int64_t count = 0, bytes = 0;
    err e = rate_limit_hit(d, key, 3600 * 1000LL, &count);
    if (e)
        return e;
    if (count > limit_uploads)
        return err_set(E_RATE, "upload_rate_limited", NULL,
                       "一小时内上传附件超过 %d 个，请稍后再试", limit_uploads);
    db_stmt *s;
    bool row = false;
    if ((e = db_prepare(d,
                        "SELECT COALESCE(SUM(size), 0) FROM attachments "
                        "WHERE uploader_id = ? AND created_at >= ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, who->user_id);
    db_bind_int64(s, 2, now - 3600 * 1000LL);
    if (!(e = db_row(s, &row)) && row)
        bytes = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (bytes + (int64_t)n > limit_bytes)
        return err_set(E_RATE, "upload_rate_limited", NULL,
                       "一小时内上传附件超过 %lld MB，请稍后再试", (long long)(limit_bytes >> 20));
    return E_OK;
}

/* ---- records that hold their photo themselves ---------------------------------------- */

err attach_read_owned(db *d, arena *a, int64_t id, const char *owner_kind, int64_t owner_id,
                      const char **mime_r, const void **bytes_r, size_t *n_r)
{
    db_stmt *s;
    bool row = false;
    err e = db_prepare(
        d,
        "SELECT mime, data_enc FROM attachments WHERE id = ? AND owner_kind = ? AND owner_id = ?",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, owner_kind);
    db_bind_int64(s, 3, owner_id);
    char field[48], *plain = NULL;
    size_t n = 0;
    seal_field(id, field);
    if (!(e = db_row(s, &row)) && row) {
        *mime_r = arena_strdup(a, db_col_text(s, 0));
        size_t cn;
        const void *ct = db_col_blob(s, 1, &cn);
        e = unseal(a, field, ct, cn, &plain, &n);
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, NULL, NULL, NULL);
    *bytes_r = plain;
    *n_r = n;
    return E_OK;
}

err attach_delete_owned(db *d, const char *owner_kind, int64_t owner_id, int64_t *n_r)
{
    db_stmt *s;
    int64_t n = 0;
    err e = db_prepare(d, "DELETE FROM attachments WHERE owner_kind = ? AND owner_id = ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, owner_kind);
    db_bind_int64(s, 2, owner_id);
    if ((e = db_run(s, &n)))
        return e;
    if (n_r)
        *n_r = n;
    return E_OK;
}

err attach_delete_one_owned(db *d, int64_t id, const char *owner_kind, int64_t owner_id)
{
    db_stmt *s;
    int64_t n = 0;
    err e = db_prepare(
        d, "DELETE FROM attachments WHERE id = ? AND owner_kind = ? AND owner_id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, owner_kind);
    db_bind_int64(s, 3, owner_id);
    if ((e = db_run(s, &n)))
        return e;
    return n ? E_OK : err_set(E_NOT_FOUND, NULL, NULL, NULL);
}
