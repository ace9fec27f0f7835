/*
 * Face enrolments, their commands to the terminals, and what the terminals
 * send back (face.h). The HTTP handlers are in api.c.
 */
#include "face/face.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access/access.h"
#include "alert/alert.h"
#include "attach/attach.h"
#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/time.h"
#include "db/periodic.h"
#include "device/device.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"
#include "venue/venue.h"

const char face_consent_text[] =
    "人脸识别通行授权书：为便于您通过本社区的人脸识别门禁，您同意平台采集您本人的一张面部照片，"
    "仅用于本社区门禁终端的身份核验，不作其他用途。照片加密保存，仅下发至本社区的人脸识别终端；"
    "通行记录与扫码通行记录同等管理。您可随时撤回授权：撤回后平台立即删除照片，"
    "并通知每台终端删除，全部终端确认删除后状态变为“已删除”。";

static const char *const state_names[] = {NULL, "consented", "enrolled", "withdrawing", "deleted"};
static const char *const state_labels[] = {NULL, "已授权待录入", "已录入", "撤回中", "已删除"};

const char *face_state_name(enum face_state s)
{
    return s >= FACE_CONSENTED && s <= FACE_DELETED ? state_names[s] : "";
}

const char *face_state_label(enum face_state s)
{
    return s >= FACE_CONSENTED && s <= FACE_DELETED ? state_labels[s] : "";
}

static enum face_state state_parse(const char *s)
{
    for (int i = FACE_CONSENTED; i <= FACE_DELETED; i++)
        if (s && !strcmp(s, state_names[i]))
            return (enum face_state)i;
    return 0;
}

/* ---- reading enrolments --------------------------------------------------------------- */

#define ENROLMENT_COLS                                                                             \
    "id, person_id, region_code, community, consent_user, consent_version, consent_at, state, "    \
    "photo_id, enrolled_by, enrolled_at, withdrawn_at, deleted_at"

static void row_enrolment(db_stmt *s, arena *a, struct face_enrolment *f)
{
    f->id = db_col_int64(s, 0);
    f->person_id = db_col_int64(s, 1);
    f->region_code = db_col_int64(s, 2);
    f->community = db_col_int64(s, 3);
    f->consent_user = db_col_int64(s, 4);
    f->consent_version = arena_strdup(a, db_col_text(s, 5));
    f->consent_at = db_col_int64(s, 6);
    f->state = state_parse(db_col_text(s, 7));
    f->photo_id = db_col_int64(s, 8);
    f->enrolled_by = db_col_int64(s, 9);
    f->enrolled_at = db_col_int64(s, 10);
    f->withdrawn_at = db_col_int64(s, 11);
    f->deleted_at = db_col_int64(s, 12);
}

/* one enrolment by a statement whose parameters are bound: E_NOT_FOUND none */
static err one(db_stmt *s, arena *a, struct face_enrolment *f_r)
{
    bool row = false;
    err e = db_row(s, &row);
    if (!e && row)
        row_enrolment(s, a, f_r);
    db_done(s);
    if (e)
        return e;
    return row ? E_OK : err_set(E_NOT_FOUND, "no_consent", NULL, "尚未授权人脸识别通行");
}

err face_mine(db *d, arena *a, int64_t person_id, struct face_enrolment *f_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " ENROLMENT_COLS
                       " FROM face_enrolments WHERE person_id = ? AND state <> 'deleted'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    return one(s, a, f_r);
}

err face_find(db *d, arena *a, const struct scope *sc, int64_t id, struct face_enrolment *f_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " ENROLMENT_COLS " FROM face_enrolments WHERE id = ? AND "
                       "region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    e = one(s, a, f_r);
    return e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "not_found", NULL, "人脸录入记录不存在") : e;
}

/* ---- consent ---------------------------------------------------------------------------- */

err face_consent(db *d, int64_t person_id, int64_t region_code, int64_t user_id,
                 const char *version, struct face_enrolment *f_r)
{
    if (!version || strcmp(version, FACE_CONSENT_VERSION))
        return err_set(E_INPUT, "consent_version_stale", "version",
                       "授权书版本已更新，请阅读最新授权书后再同意");
    int64_t community = access_community(region_code);
    if (!community)
        return err_set(E_INPUT, "not_in_community", "region_code",
                       "居住地未细化到社区，无法使用人脸识别通行");
    db_stmt *s;
    int64_t now = now_ms(), live = 0;
    err e = db_prepare(
        d, "SELECT COUNT(*) FROM face_enrolments WHERE person_id = ? AND state <> 'deleted'", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        live = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (live)
        return err_set(E_CONFLICT, "consent_exists", NULL, "已授权人脸识别通行");
    *f_r = (struct face_enrolment){.id = id_new(),
                                   .person_id = person_id,
                                   .region_code = region_code,
                                   .community = community,
                                   .consent_user = user_id,
                                   .consent_version = FACE_CONSENT_VERSION,
                                   .consent_at = now,
                                   .state = FACE_CONSENTED};
    if ((e = db_prepare(d,
                        "INSERT INTO face_enrolments (id, person_id, region_code, community, "
                        "consent_user, consent_version, consent_at, state, updated_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, 'consented', ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, f_r->id);
    db_bind_int64(s, 2, person_id);
    db_bind_int64(s, 3, region_code);
    db_bind_int64(s, 4, community);
    db_bind_int64(s, 5, user_id);
    db_bind_text(s, 6, FACE_CONSENT_VERSION);
    db_bind_int64(s, 7, now);
    db_bind_int64(s, 8, now);
    /* the unique index on live enrolments settles two consents racing */
    e = db_run(s, NULL);
    return e == E_CONFLICT ? err_set(E_CONFLICT, "consent_exists", NULL, "已授权人脸识别通行") : e;
}

/* ---- commands ----------------------------------------------------------------------------- */

static err command_add(db *d, int64_t enrolment_id, int64_t device_id, const char *op)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO face_commands (id, enrolment_id, device_id, op, state, "
                       "created_at) VALUES (?, ?, ?, ?, 'pending', ?)",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id_new());
    db_bind_int64(s, 2, enrolment_id);
    db_bind_int64(s, 3, device_id);
    db_bind_text(s, 4, op);
    db_bind_int64(s, 5, now_ms());
    return db_run(s, NULL);
}

err face_enrol(db *d, arena *a, const struct principal *who, const struct scope *sc,
               int64_t person_id, int64_t attachment, struct face_enrolment *f_r,
               int64_t *terminals_r)
{
    err e = face_mine(d, a, person_id, f_r);
    if (e == E_NOT_FOUND || (!e && !scope_has(sc, f_r->region_code)))
        return err_set(E_CONFLICT, "consent_required", NULL,
                       "本人尚未授权人脸识别通行，不能录入照片");
    if (e)
        return e;
    if (f_r->state != FACE_CONSENTED)
        return err_set(E_CONFLICT, f_r->state == FACE_ENROLLED ? "already_enrolled" : "withdrawn",
                       NULL, f_r->state == FACE_ENROLLED ? "已录入人脸照片" : "授权已撤回");
    if ((e = attach_claim(d, who, attachment, FACE_OWNER_KIND, f_r->id, f_r->region_code,
                          "attachment")))
        return e;
    /* what the terminals accept: a JPEG or PNG of modest size (attach.h sniffed it) */
    const char *mime;
    const void *bytes;
    size_t n;
    if ((e = attach_read_owned(d, a, attachment, FACE_OWNER_KIND, f_r->id, &mime, &bytes, &n)))
        return e;
    if (strcmp(mime, "image/jpeg") && strcmp(mime, "image/png"))
        return err_set(E_INPUT, "unsupported_type", "attachment", "人脸照片须为 JPEG 或 PNG 图片");
    if (n > FACE_PHOTO_MAX)
        return err_set(E_TOO_LARGE, "too_large", "attachment", "人脸照片不能超过 %u MB",
                       FACE_PHOTO_MAX >> 20);
    int64_t now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE face_enrolments SET state = 'enrolled', photo_id = ?, "
                        "enrolled_by = ?, enrolled_at = ?, updated_at = ? WHERE id = ? AND "
                        "state = 'consented'",
                        &s)))
        return e;
    db_bind_int64(s, 1, attachment);
    db_bind_int64(s, 2, who->user_id);
    db_bind_int64(s, 3, now);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, f_r->id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        return e;
    if (changed != 1)
        return err_set(E_CONFLICT, "version_conflict", NULL, "记录已被修改，请刷新后重试");
    f_r->state = FACE_ENROLLED;
    f_r->photo_id = attachment;
    f_r->enrolled_by = who->user_id;
    f_r->enrolled_at = now;
    /* every enabled face terminal of the community */
    struct scope cs = scope_of(f_r->community);
    int64_t ids[256];
    size_t nt = 0;
    if ((e = db_prepare(d,
                        "SELECT id FROM devices WHERE kind = 'face' AND deleted_at = 0 AND "
                        "enabled = 1 AND region_code >= ? AND region_code < ? ORDER BY id",
                        &s)))
        return e;
    db_bind_int64(s, 1, cs.lo);
    db_bind_int64(s, 2, cs.hi);
    bool row;
    while (!(e = db_row(s, &row)) && row && nt < sizeof ids / sizeof ids[0])
        ids[nt++] = db_col_int64(s, 0);
    db_done(s);
    for (size_t i = 0; !e && i < nt; i++)
        e = command_add(d, f_r->id, ids[i], "enrol");
    if (!e)
        *terminals_r = (int64_t)nt;
    return e;
}

err face_withdraw(db *d, struct face_enrolment *f, int64_t *pending_r)
{
    if (f->state != FACE_CONSENTED && f->state != FACE_ENROLLED)
        return err_set(E_CONFLICT, "withdrawn", NULL, "授权已撤回");
    /* the photo goes now, whatever the terminals do */
    err e = attach_delete_owned(d, FACE_OWNER_KIND, f->id, NULL);
    if (e)
        return e;
    /* every live terminal that was sent the photo (acknowledged or not) is told to delete
     * it (a deleted terminal is not waited for: docs/face.md); every enrol still pending
     * or failed is dropped, so a retry can never resend it */
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE face_commands SET state = 'cancelled' WHERE enrolment_id = ? AND "
                        "op = 'enrol' AND state IN ('pending', 'failed')",
                        &s)))
        return e;
    db_bind_int64(s, 1, f->id);
    if ((e = db_run(s, NULL)))
        return e;
    int64_t ids[256];
    size_t nt = 0;
    if ((e = db_prepare(d,
                        "SELECT DISTINCT c.device_id FROM face_commands c JOIN devices v ON "
                        "v.id = c.device_id AND v.deleted_at = 0 WHERE c.enrolment_id = ? AND "
                        "c.op = 'enrol' AND (c.state = 'acked' OR c.sent_at > 0) ORDER BY "
                        "c.device_id",
                        &s)))
        return e;
    db_bind_int64(s, 1, f->id);
    bool row;
    while (!(e = db_row(s, &row)) && row && nt < sizeof ids / sizeof ids[0])
        ids[nt++] = db_col_int64(s, 0);
    db_done(s);
    for (size_t i = 0; !e && i < nt; i++)
        e = command_add(d, f->id, ids[i], "delete");
    if (e)
        return e;
    int64_t now = now_ms();
    f->state = nt ? FACE_WITHDRAWING : FACE_DELETED;
    f->withdrawn_at = now;
    f->deleted_at = nt ? 0 : now;
    f->photo_id = 0;
    if ((e = db_prepare(d,
                        "UPDATE face_enrolments SET state = ?, photo_id = 0, withdrawn_at = ?, "
                        "deleted_at = ?, updated_at = ? WHERE id = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, face_state_name(f->state));
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, f->deleted_at);
    db_bind_int64(s, 4, now);
    db_bind_int64(s, 5, f->id);
    if ((e = db_run(s, NULL)))
        return e;
    *pending_r = (int64_t)nt;
    return E_OK;
}

err face_photo(db *d, arena *a, const struct face_enrolment *f, const char **mime_r,
               const void **bytes_r, size_t *n_r)
{
    if (!f->photo_id)
        return err_set(E_NOT_FOUND, "no_photo", NULL, "没有人脸照片");
    err e = attach_read_owned(d, a, f->photo_id, FACE_OWNER_KIND, f->id, mime_r, bytes_r, n_r);
    return e == E_NOT_FOUND ? err_set(E_NOT_FOUND, "no_photo", NULL, "没有人脸照片") : e;
}

/* the command's JSON text: a delete names the face, an enrol carries the photo */
static err command_text(db *d, arena *a, int64_t command_id, const char *op, int64_t enrolment_id,
                        const char **text_r)
{
    json_t *o = json_object();
    json_set_id(o, "command_id", command_id);
    json_object_set_new(o, "op", json_string(op));
    json_set_id(o, "face_id", enrolment_id);
    err e = E_OK;
    if (!strcmp(op, "enrol")) {
        struct face_enrolment f;
        struct person p;
        const char *mime;
        const void *bytes;
        size_t n;
        db_stmt *s;
        struct scope all = scope_all();
        if (!(e = db_prepare(d, "SELECT " ENROLMENT_COLS " FROM face_enrolments WHERE id = ?",
                             &s))) {
            db_bind_int64(s, 1, enrolment_id);
            e = one(s, a, &f);
        }
        if (!e)
            e = face_photo(d, a, &f, &mime, &bytes, &n);
        if (!e)
            e = person_find_brief(d, a, &all, f.person_id, &p);
        if (!e) {
            char *b64 = arena_alloc(a, 4 * ((n + 2) / 3) + 1);
            if (!b64)
                e = err_set(E_NOMEM, NULL, NULL, NULL);
            else {
                EVP_EncodeBlock((unsigned char *)b64, bytes, (int)n);
                json_object_set_new(o, "name", json_string(mask_name(a, p.name)));
                json_object_set_new(o, "mime", json_string(mime));
                json_object_set_new(o, "photo", json_string(b64));
            }
        }
    }
    char *text = e ? NULL : json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!e && !text)
        e = err_set(E_NOMEM, NULL, NULL, NULL);
    if (e)
        return e;
    *text_r = arena_strdup(a, text);
    free(text);
    return E_OK;
}

/* the resends (face_register): the least age of an unacknowledged command
 * before the sweep sends it again, and the sends a command gets at most */
static int64_t resend_ms = 600000;
static int64_t max_attempts = 5;

err face_send_pending(db *d, arena *a, int64_t enrolment_id, int64_t device_id, int64_t before,
                      int64_t *sent_r)
{
    struct pending {
        int64_t id, enrolment_id, device_id;
        char op[8];
    } cmds[64];
    size_t n = 0;
    db_stmt *s;
    err e = enrolment_id
                ? db_prepare(d,
                             "SELECT id, enrolment_id, device_id, op FROM face_commands WHERE "
                             "enrolment_id = ? AND state = 'pending' ORDER BY id",
                             &s)
                : db_prepare(d,
                             "SELECT id, enrolment_id, device_id, op FROM face_commands WHERE "
                             "device_id = ? AND state = 'pending' AND sent_at < ? AND attempts < "
                             "? ORDER BY id",
                             &s);
    if (e)
        return e;
    db_bind_int64(s, 1, enrolment_id ? enrolment_id : device_id);
    if (!enrolment_id) {
        db_bind_int64(s, 2, before);
        db_bind_int64(s, 3, max_attempts);
    }
    bool row;
    while (!(e = db_row(s, &row)) && row && n < sizeof cmds / sizeof cmds[0]) {
        cmds[n] = (struct pending){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2), ""};
        snprintf(cmds[n].op, sizeof cmds[n].op, "%s", db_col_text(s, 3));
        n++;
    }
    db_done(s);
    int64_t sent = 0;
    for (size_t i = 0; !e && i < n; i++) {
        const char *text;
        err ce = command_text(d, a, cmds[i].id, cmds[i].op, cmds[i].enrolment_id, &text);
        if (ce == E_NOT_FOUND) /* the photo was withdrawn meanwhile: the delete follows */
            continue;
        if (ce)
            return ce;
        if (device_command_publish(cmds[i].device_id, text)) {
            err_clear(); /* the broker is away: the command stays pending */
            continue;
        }
        sent++;
        if (!(e = db_prepare(d,
                             "UPDATE face_commands SET attempts = attempts + 1, sent_at = ? "
                             "WHERE id = ?",
                             &s))) {
            db_bind_int64(s, 1, now_ms());
            db_bind_int64(s, 2, cmds[i].id);
            e = db_run(s, NULL);
        }
        /* the platform read the photo to send it: audited, as a person's read is */
        if (!e && !strcmp(cmds[i].op, "enrol"))
            e = audit_log(
                d, &(struct audit_entry){.user_id = 0,
                                         .username = "",
                                         .role = "",
                                         .ip = "",
                                         .action = "face.photo_send",
                                         .object_type = "face_enrolment",
                                         .object_id = cmds[i].enrolment_id,
                                         .result = "ok",
                                         .detail = arena_printf(a, "device=%lld command=%lld",
                                                                (long long)cmds[i].device_id,
                                                                (long long)cmds[i].id)});
    }
    if (!e && sent_r)
        *sent_r = sent;
    return e;
}

/* ---- JSON ------------------------------------------------------------------------------------ */

static const char *terminal_state(const char *op, const char *state, bool removed,
                                  const char **label_r)
{
    bool enrol = !strcmp(op, "enrol"), acked = !strcmp(state, "acked");
    if (!strcmp(state, "cancelled")) {
        *label_r = "未下发";
        return "cancelled";
    }
    if (removed || !strcmp(state, "dropped")) { /* the terminal was deleted */
        *label_r = "终端已删除";
        return "removed";
    }
    if (!strcmp(state, "failed")) { /* every resend went unanswered */
        *label_r = enrol ? "下发失败" : "删除失败";
        return enrol ? "enrol_failed" : "delete_failed";
    }
    *label_r = enrol ? (acked ? "已持有" : "下发中") : (acked ? "已删除" : "删除中");
    return enrol ? (acked ? "holds" : "pending_enrol") : (acked ? "deleted" : "pending_delete");
}

err face_json(db *d, arena *a, const struct face_enrolment *f, bool staff, json_t **o_r)
{
    json_t *o = json_object();
    json_set_id(o, "id", f->id);
    json_object_set_new(o, "state", json_string(face_state_name(f->state)));
    json_object_set_new(o, "state_label", json_string(face_state_label(f->state)));
    json_object_set_new(o, "consent_version", json_string(f->consent_version));
    json_object_set_new(o, "consent_at", json_integer(f->consent_at));
    json_object_set_new(o, "photo", json_boolean(f->photo_id != 0));
    json_object_set_new(o, "enrolled_at", json_integer(f->enrolled_at));
    json_object_set_new(o, "withdrawn_at", json_integer(f->withdrawn_at));
    json_object_set_new(o, "deleted_at", json_integer(f->deleted_at));
    /* per terminal: its latest command for this enrolment */
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT c.device_id, c.op, c.state, c.attempts, c.sent_at, c.acked_at, "
                       "COALESCE(v.name, ''), COALESCE(n.name, ''), COALESCE(v.deleted_at, 1) "
                       "FROM face_commands c "
                       "LEFT JOIN devices v ON v.id = c.device_id "
                       "LEFT JOIN venues n ON n.id = v.venue_id "
                       "WHERE c.enrolment_id = ? AND c.id = (SELECT MAX(x.id) FROM face_commands "
                       "x WHERE x.enrolment_id = c.enrolment_id AND x.device_id = c.device_id) "
                       "ORDER BY c.device_id",
                       &s);
    if (e) {
        json_decref(o);
        return e;
    }
    db_bind_int64(s, 1, f->id);
    json_t *terms = json_array();
    int64_t holding = 0, pending = 0, deleted = 0, failed = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *label, *st = terminal_state(db_col_text(s, 1), db_col_text(s, 2),
                                                db_col_int64(s, 8) != 0, &label);
        holding += !strcmp(st, "holds");
        pending += !strncmp(st, "pending", 7);
        deleted += !strcmp(st, "deleted");
        failed += strstr(st, "_failed") != NULL;
        if (!staff)
            continue;
        json_t *t = json_object();
        json_set_id(t, "device_id", db_col_int64(s, 0));
        json_object_set_new(t, "device_name", json_string(db_col_text(s, 6)));
        json_object_set_new(t, "venue_name", json_string(db_col_text(s, 7)));
        json_object_set_new(t, "state", json_string(st));
        json_object_set_new(t, "state_label", json_string(label));
        json_object_set_new(t, "attempts", json_integer(db_col_int64(s, 3)));
        json_object_set_new(t, "sent_at", json_integer(db_col_int64(s, 4)));
        json_object_set_new(t, "acked_at", json_integer(db_col_int64(s, 5)));
        json_array_append_new(terms, t);
    }
    db_done(s);
    json_object_set_new(o, "terminals_holding", json_integer(holding));
    json_object_set_new(o, "terminals_pending", json_integer(pending));
    json_object_set_new(o, "terminals_deleted", json_integer(deleted));
    json_object_set_new(o, "terminals_failed", json_integer(failed));
    if (staff) {
        json_object_set_new(o, "terminals", terms);
        struct person p;
        struct scope all = scope_all();
        if (!e) {
            err pe = person_find_brief(d, a, &all, f->person_id, &p);
            if (pe && pe != E_NOT_FOUND)
                e = pe;
            err_clear();
            json_object_set_new(o, "person_name", json_string(pe ? "" : mask_name(a, p.name)));
        }
        json_set_id(o, "person_id", f->person_id);
        int64_t flags = 0;
        if (!e &&
            !(e = db_prepare(d, "SELECT COUNT(*) FROM face_flags WHERE enrolment_id = ?", &s))) {
            db_bind_int64(s, 1, f->id);
            if (!(e = db_row(s, &row)) && row)
                flags = db_col_int64(s, 0);
            db_done(s);
        }
        json_object_set_new(o, "flags", json_integer(flags));
        const char *region = "";
        if (!e && !(e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s))) {
            db_bind_int64(s, 1, f->community);
            if (!(e = db_row(s, &row)) && row)
                region = arena_strdup(a, db_col_text(s, 0));
            db_done(s);
        }
        json_object_set_new(o, "community_name", json_string(region));
    } else {
        json_decref(terms);
    }
    if (e) {
        json_decref(o);
        return e;
    }
    *o_r = o;
    return E_OK;
}

err face_list(db *d, arena *a, const struct scope *sc, enum face_state state, int64_t page,
              int64_t page_size, json_t **items_r, int64_t *total_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT COUNT(*) FROM face_enrolments WHERE region_code >= ? AND "
                       "region_code < ? AND (? = '' OR state = ?)",
                       &s);
    if (e)
        return e;
    const char *st = state ? face_state_name(state) : "";
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    bool row;
    int64_t total = 0;
    if (!(e = db_row(s, &row)) && row)
        total = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if ((e = db_prepare(d,
                        "SELECT " ENROLMENT_COLS " FROM face_enrolments WHERE region_code >= ? "
                        "AND region_code < ? AND (? = '' OR state = ?) ORDER BY id DESC "
                        "LIMIT ? OFFSET ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    db_bind_text(s, 3, st);
    db_bind_text(s, 4, st);
    db_bind_int64(s, 5, page_size);
    db_bind_int64(s, 6, paging_offset(page, page_size));
    struct face_enrolment fs[100];
    size_t n = 0;
    while (!(e = db_row(s, &row)) && row && n < sizeof fs / sizeof fs[0])
        row_enrolment(s, a, &fs[n++]);
    db_done(s);
    if (e)
        return e;
    json_t *items = json_array();
    for (size_t i = 0; i < n && !e; i++) {
        json_t *o;
        if (!(e = face_json(d, a, &fs[i], true, &o)))
            json_array_append_new(items, o);
    }
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    *total_r = total;
    return E_OK;
}

/* ---- messages from terminals (the MQTT thread) ---------------------------------------------- */

static int retry_ms = 30000;

static void refuse(const char *why)
{
    device_refused(DEVREF_MALFORMED);
    log_event(LOG_WARN, "device_message_refused", "via", "mqtt", "reason", why, NULL);
}

/* done with a deletion every terminal acknowledged: the enrolment is deleted */
static err settle(db *d, int64_t enrolment_id)
{
    db_stmt *s;
    int64_t now = now_ms(), changed = 0;
    err e = db_prepare(d,
                       "UPDATE face_enrolments SET state = 'deleted', deleted_at = ?, updated_at = "
                       "? WHERE id = ? AND state = 'withdrawing' AND NOT EXISTS (SELECT 1 FROM "
                       "face_commands c WHERE c.enrolment_id = ? AND c.op = 'delete' AND c.state "
                       "IN ('pending', 'failed'))",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, now);
    db_bind_int64(s, 3, enrolment_id);
    db_bind_int64(s, 4, enrolment_id);
    if ((e = db_run(s, &changed)) || !changed)
        return e;
    return audit_log(d, &(struct audit_entry){.user_id = 0,
                                              .username = "",
                                              .role = "",
                                              .ip = "",
                                              .action = "face.deleted",
                                              .object_type = "face_enrolment",
                                              .object_id = enrolment_id,
                                              .result = "ok",
                                              .detail = "every terminal acknowledged"});
}

static void on_ack(db *d, arena *a, const struct device *dev, const char *payload, size_t n)
{
    (void)a;
    json_t *b = NULL;
    if (dev->kind != DEVICE_FACE || json_parse_body(payload, n, &b) || !json_is_object(b)) {
        err_clear();
        json_decref(b);
        refuse("face_ack_malformed");
        return;
    }
    int64_t cmd = id_parse(json_str(b, "command_id") ? json_str(b, "command_id") : "");
    json_t *ok = json_object_get(b, "ok");
    bool good = cmd > 0 && (!ok || json_is_true(ok));
    json_decref(b);
    if (!good) {
        refuse("face_ack_malformed");
        return;
    }
    db_stmt *s;
    int64_t changed = 0, enrolment = 0;
    bool row;
    err e = db_begin(d);
    if (!e && !(e = db_prepare(d,
                               "UPDATE face_commands SET state = 'acked', acked_at = ? WHERE id = "
                               "? AND device_id = ? AND state IN ('pending', 'failed')",
                               &s))) {
        db_bind_int64(s, 1, now_ms());
        db_bind_int64(s, 2, cmd);
        db_bind_int64(s, 3, dev->id);
        e = db_run(s, &changed);
    }
    if (!e && changed &&
        !(e = db_prepare(d, "SELECT enrolment_id FROM face_commands WHERE id = ?", &s))) {
        db_bind_int64(s, 1, cmd);
        if (!(e = db_row(s, &row)) && row)
            enrolment = db_col_int64(s, 0);
        db_done(s);
    }
    if (!e && enrolment)
        e = settle(d, enrolment);
    if (!e)
        e = db_commit(d);
    else
        db_rollback(d);
    if (e)
        log_event(LOG_ERROR, "face_ack_failed", "slug", err_slug(e), NULL);
    else if (!changed) /* another terminal's command, or one acknowledged before */
        refuse("face_ack_unknown");
}

static void passage_done(const struct access_scan *s, err e, void *ctx)
{
    (void)ctx;
    if (e)
        log_event(LOG_ERROR, "face_passage_failed", "slug", err_slug(e), NULL);
    else
        log_event(LOG_INFO, "face_passage", "verdict", s->decision.pass ? "pass" : "deny", NULL);
}

/* a terminal still recognising someone whose consent was withdrawn */
static err flag(db *d, arena *a, const struct device *dev, const struct face_enrolment *f)
{
    int64_t alert_id = 0;
    err e = db_begin(d);
    if (!e)
        e = alert_raise(d,
                        &(struct alert_new){
                            .kind = ALERT_FACE_WITHDRAWN,
                            .level = ALERT_WARNING,
                            .region_code = dev->region_code,
                            .venue_id = dev->venue_id,
                            .device_id = dev->id,
                            .message = arena_printf(a,
                                                    "人脸识别终端“%s”识别出已撤回授权的人员，"
                                                    "终端未删除其照片",
                                                    dev->name),
                            .detail = arena_printf(a, "{\"face_id\":\"%lld\"}", (long long)f->id),
                        },
                        &alert_id);
    db_stmt *s;
    if (!e && !(e = db_prepare(d,
                               "INSERT INTO face_flags (id, enrolment_id, device_id, region_code, "
                               "alert_id, at) VALUES (?, ?, ?, ?, ?, ?)",
                               &s))) {
        db_bind_int64(s, 1, id_new());
        db_bind_int64(s, 2, f->id);
        db_bind_int64(s, 3, dev->id);
        db_bind_int64(s, 4, dev->region_code);
        db_bind_int64(s, 5, alert_id);
        db_bind_int64(s, 6, now_ms());
        e = db_run(s, NULL);
    }
    if (!e)
        return db_commit(d);
    db_rollback(d);
    return e;
}

static const struct jfield passage_fields[] = {
    {"face_id", J_STRING, JF_REQUIRED, 1, 20, "人脸编号", NULL, NULL},
    {"direction", J_STRING, JF_REQUIRED, 0, 0, "方向", (const char *const[]){"in", "out", NULL},
     NULL},
    {"temperature", J_NUMBER, 0, 30, 45, "体温", NULL, NULL},
    {"at", J_INT, 0, 0, 0, "时间", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static void on_passage(db *d, arena *a, const struct device *dev, const char *payload, size_t n)
{
    json_t *b = NULL;
    if (dev->kind != DEVICE_FACE || json_parse_body(payload, n, &b) ||
        json_check(b, passage_fields, false)) {
        err_clear();
        json_decref(b);
        refuse("face_passage_malformed");
        return;
    }
    int64_t face_id = id_parse(json_str(b, "face_id"));
    enum access_dir dir = !strcmp(json_str(b, "direction"), "in") ? ACCESS_IN : ACCESS_OUT;
    double temp = json_has(b, "temperature") ? json_num(b, "temperature", -1) : -1;
    json_decref(b);
    /* the enrolment must be of the terminal's community */
    struct face_enrolment f;
    struct scope cs = scope_of(access_community(dev->region_code));
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " ENROLMENT_COLS " FROM face_enrolments WHERE id = ? AND "
                       "community >= ? AND community < ?",
                       &s);
    if (!e) {
        db_bind_int64(s, 1, face_id);
        db_bind_int64(s, 2, cs.lo);
        db_bind_int64(s, 3, cs.hi);
        e = one(s, a, &f);
    }
    if (e == E_NOT_FOUND) {
        err_clear();
        device_refused(DEVREF_UNKNOWN_PERSON);
        log_event(LOG_WARN, "device_message_refused", "via", "mqtt", "reason", "unknown_face",
                  NULL);
        return;
    }
    if (!e && f.state != FACE_ENROLLED) {
        if ((e = flag(d, a, dev, &f)))
            log_event(LOG_ERROR, "face_flag_failed", "slug", err_slug(e), NULL);
        else
            log_event(LOG_WARN, "face_withdrawn_passage", NULL);
        return;
    }
    struct venue v;
    struct person p;
    struct scope all = scope_all();
    if (!e)
        e = venue_find_gate(d, a, &all, dev->venue_id, &v);
    if (!e)
        e = person_find_brief(d, a, &all, f.person_id, &p);
    if (!e) {
        struct access_scan sc = {
            .venue_id = v.id,
            .venue_region = v.region_code,
            .venue_name = v.name,
            .policy = {v.allowed_colors, v.limit_count, v.limit_hours, v.fever_threshold},
            .person_id = p.id,
            .masked_name = mask_name(a, p.name),
            .direction = dir,
            .temperature = temp,
            .method = ACCESS_DEVICE,
            .device_id = dev->id,
            .record_id = id_new(),
        };
        e = access_submit(d, &sc, passage_done, NULL);
    }
    if (e)
        log_event(LOG_ERROR, "face_passage_failed", "slug", err_slug(e), NULL);
}

static void on_seen(db *d, arena *a, const struct device *dev)
{
    if (dev->kind != DEVICE_FACE)
        return;
    int64_t sent = 0;
    err e = face_send_pending(d, a, 0, dev->id, now_ms() - retry_ms, &sent);
    if (e)
        log_event(LOG_ERROR, "face_resend_failed", "slug", err_slug(e), NULL);
    else if (sent)
        log_event(LOG_INFO, "face_resent", "count", arena_printf(a, "%lld", (long long)sent), NULL);
    err_clear();
}

/* ---- terminals that join or leave (device_on_change) ------------------------------------ */

/* A live, enabled face terminal gets an enrol command for every enrolled
 * face of its community it has none for (a terminal registered, or enabled
 * again, after the enrolments). What it holds or failed to take is not
 * queued again; withdrawn faces are never sent. *queued_r the commands. */
static err sync_terminal(db *d, const struct device *dev, int64_t *queued_r)
{
    *queued_r = 0;
    if (dev->kind != DEVICE_FACE || !dev->enabled)
        return E_OK;
    struct scope cs = scope_of(access_community(dev->region_code));
    if (!access_community(dev->region_code))
        return E_OK;
    db_stmt *s;
    err e =
        db_prepare(d,
                   "SELECT f.id FROM face_enrolments f WHERE f.state = 'enrolled' AND "
                   "f.community >= ? AND f.community < ? AND NOT EXISTS (SELECT 1 FROM "
                   "face_commands c WHERE c.enrolment_id = f.id AND c.device_id = ? AND "
                   "c.op = 'enrol' AND c.state IN ('pending', 'acked', 'failed')) ORDER BY f.id",
                   &s);
    if (e)
        return e;
    db_bind_int64(s, 1, cs.lo);
    db_bind_int64(s, 2, cs.hi);
    db_bind_int64(s, 3, dev->id);
    int64_t ids[256];
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < sizeof ids / sizeof ids[0])
        ids[n++] = db_col_int64(s, 0);
    db_done(s);
    for (size_t i = 0; !e && i < n; i++)
        e = command_add(d, ids[i], dev->id, "enrol");
    if (!e)
        *queued_r = (int64_t)n;
    return e;
}

/* A deleted terminal: its pending and failed commands are dropped and every
 * withdrawal that waited for it settles (it can no longer answer; its
 * credentials are gone from the broker, docs/face.md). */
static err drop_terminal(db *d, int64_t device_id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE face_commands SET state = 'dropped' WHERE device_id = ? AND "
                       "state IN ('pending', 'failed')",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, device_id);
    if ((e = db_run(s, NULL)))
        return e;
    /* in batches after the last id seen: one may stay withdrawing (another
     * terminal still owes its ack) and must not be read again */
    int64_t ids[256], last = 0;
    size_t n;
    do {
        if ((e = db_prepare(d,
                            "SELECT DISTINCT f.id FROM face_enrolments f JOIN face_commands c ON "
                            "c.enrolment_id = f.id WHERE f.state = 'withdrawing' AND "
                            "c.device_id = ? AND f.id > ? ORDER BY f.id LIMIT 256",
                            &s)))
            return e;
        db_bind_int64(s, 1, device_id);
        db_bind_int64(s, 2, last);
        n = 0;
        bool row;
        while (!(e = db_row(s, &row)) && row && n < sizeof ids / sizeof ids[0])
            ids[n++] = db_col_int64(s, 0);
        db_done(s);
        for (size_t i = 0; !e && i < n; i++)
            e = settle(d, last = ids[i]);
    } while (!e && n == sizeof ids / sizeof ids[0]);
    return e;
}

static err on_device_change(db *d, int64_t device_id, enum device_change what)
{
    if (what == DEVICE_REMOVED)
        return drop_terminal(d, device_id);
    if (what == DEVICE_DISABLED) /* a pause: its commands wait for it */
        return E_OK;
    arena *a = arena_new(1024); /* the registry hook is given no arena: one device row */
    if (!a)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct device dev;
    int64_t queued = 0;
    err e = device_get(d, a, device_id, &dev);
    if (!e)
        e = sync_terminal(d, &dev, &queued);
    arena_free(&a);
    return e;
}

/* ---- retry ----------------------------------------------------------------------------------- */

err face_retry(db *d, const struct face_enrolment *f, int64_t *n_r)
{
    /* a terminal deleted since has its commands dropped, not failed: never
     * among these; a withdrawn photo's enrol command was cancelled */
    db_stmt *s;
    err e = db_prepare(d,
                       "UPDATE face_commands SET state = 'pending', attempts = 0, sent_at = 0 "
                       "WHERE enrolment_id = ? AND state = 'failed'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, f->id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_CONFLICT, "nothing_failed", NULL, "该录入没有下发失败的终端，无需重试");
    /* a new failure is news again: its own alert (the old one stays handled
     * or open on the alert board as it is) */
    if ((e = db_prepare(d, "UPDATE face_enrolments SET failed_alert_id = 0 WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, f->id);
    if ((e = db_run(s, NULL)))
        return e;
    *n_r = n;
    return E_OK;
}

/* ---- the sweep: resends, failures, terminals missed ----------------------------------------- */

/* one face_failed alert for an enrolment whose command `cmd` just failed,
 * claimed by failed_alert_id so a second failure or server raises none */
static err fail_alert(db *d, arena *a, int64_t enrolment_id, int64_t device_id)
{
    db_stmt *s;
    int64_t changed = 0, region = 0, venue = 0;
    err e = db_prepare(d,
                       "UPDATE face_enrolments SET failed_alert_id = -1 WHERE id = ? AND "
                       "failed_alert_id = 0",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, enrolment_id);
    if ((e = db_run(s, &changed)) || !changed)
        return e;
    if ((e = db_prepare(d, "SELECT region_code FROM face_enrolments WHERE id = ?", &s)))
        return e;
    db_bind_int64(s, 1, enrolment_id);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        region = db_col_int64(s, 0);
    db_done(s);
    const char *name = "";
    if (!e && !(e = db_prepare(d, "SELECT name, venue_id FROM devices WHERE id = ?", &s))) {
        db_bind_int64(s, 1, device_id);
        if (!(e = db_row(s, &row)) && row) {
            name = arena_strdup(a, db_col_text(s, 0));
            venue = db_col_int64(s, 1);
        }
        db_done(s);
    }
    int64_t alert_id = 0;
    if (!e)
        e = alert_raise(
            d,
            &(struct alert_new){
                .kind = ALERT_FACE_FAILED,
                .level = ALERT_WARNING,
                .region_code = region,
                .venue_id = venue,
                .device_id = device_id,
                .message = arena_printf(a,
                                        "人脸识别终端“%s”多次未确认人脸照片指令，已按失败处理，"
                                        "请检查终端",
                                        name),
                .detail = arena_printf(a, "{\"face_id\":\"%lld\"}", (long long)enrolment_id),
            },
            &alert_id);
    if (!e &&
        !(e = db_prepare(d, "UPDATE face_enrolments SET failed_alert_id = ? WHERE id = ?", &s))) {
        db_bind_int64(s, 1, alert_id);
        db_bind_int64(s, 2, enrolment_id);
        e = db_run(s, NULL);
    }
    return e;
}

/* commands still unacknowledged after their last send: failed, each in its
 * own transaction (claimed by state), with the enrolment's one alert */
static err sweep_failures(db *d, arena *a, int64_t now, int64_t *n_r)
{
    struct {
        int64_t id, enrolment_id, device_id;
    } cmds[64];
    size_t n = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, enrolment_id, device_id FROM face_commands WHERE state = "
                       "'pending' AND attempts >= ? AND sent_at > 0 AND sent_at < ? ORDER BY id",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, max_attempts);
    db_bind_int64(s, 2, now - resend_ms);
    bool row;
    while (!(e = db_row(s, &row)) && row && n < sizeof cmds / sizeof cmds[0]) {
        cmds[n].id = db_col_int64(s, 0);
        cmds[n].enrolment_id = db_col_int64(s, 1);
        cmds[n].device_id = db_col_int64(s, 2);
        n++;
    }
    db_done(s);
    for (size_t i = 0; !e && i < n; i++) {
        int64_t changed = 0;
        if ((e = db_begin(d)))
            break;
        if (!(e = db_prepare(d,
                             "UPDATE face_commands SET state = 'failed' WHERE id = ? AND state = "
                             "'pending'",
                             &s))) {
            db_bind_int64(s, 1, cmds[i].id);
            e = db_run(s, &changed);
        }
        if (!e && changed)
            e = fail_alert(d, a, cmds[i].enrolment_id, cmds[i].device_id);
        if (!e)
            e = db_commit(d);
        else
            db_rollback(d);
        *n_r += changed;
    }
    return e;
}

err face_sweep(db *d, int64_t now, int64_t *n_r)
{
    *n_r = 0;
    /* every live face terminal, in batches by id: what it misses is queued
     * (a terminal added by a path that does not tell the registry's hooks),
     * then what is due sent */
    int64_t ids[256], last = 0;
    size_t n;
    err e = E_OK;
    do {
        db_stmt *s;
        if ((e = db_prepare(d,
                            "SELECT id FROM devices WHERE kind = 'face' AND deleted_at = 0 AND "
                            "enabled = 1 AND id > ? ORDER BY id LIMIT 256",
                            &s)))
            return e;
        db_bind_int64(s, 1, last);
        n = 0;
        bool row;
        while (!(e = db_row(s, &row)) && row && n < sizeof ids / sizeof ids[0])
            ids[n++] = db_col_int64(s, 0);
        db_done(s);
        for (size_t i = 0; !e && i < n; i++) {
            /* the sweep's thread has no request arena; one per terminal, since
             * its commands carry photos */
            arena *a = arena_new(4096);
            if (!a)
                return err_set(E_NOMEM, NULL, NULL, NULL);
            struct device dev;
            int64_t queued = 0, sent = 0;
            last = ids[i];
            if ((e = device_get(d, a, ids[i], &dev)) == E_NOT_FOUND) {
                err_clear(); /* deleted meanwhile: nothing to do */
                e = E_OK;
                arena_free(&a);
                continue;
            }
            if (!e && !(e = db_begin(d))) {
                if (!(e = sync_terminal(d, &dev, &queued)))
                    e = db_commit(d);
                else
                    db_rollback(d);
            }
            if (!e)
                e = face_send_pending(d, a, 0, dev.id, now - resend_ms, &sent);
            *n_r += queued + sent;
            arena_free(&a);
        }
    } while (!e && n == sizeof ids / sizeof ids[0]);
    if (!e) {
        arena *a = arena_new(4096); /* the sweep's thread has no request arena */
        if (!a)
            return err_set(E_NOMEM, NULL, NULL, NULL);
        e = sweep_failures(d, a, now, n_r);
        arena_free(&a);
    }
    return e;
}

static err sweep_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return face_sweep(d, now, n_r);
}

static struct periodic sweeper = PERIODIC_INIT("face_sweep", sweep_run, NULL);

err face_worker_start(const char *db_url, int every_s)
{
    return periodic_start(&sweeper, db_url, every_s);
}

void face_worker_stop(void)
{
    periodic_stop(&sweeper);
}

err face_register(void)
{
    const char *v = getenv("FK_FACE_RETRY_S");
    long retry_s = v && *v ? strtol(v, NULL, 10) : 30;
    if (retry_s < 1 || retry_s > 3600)
        return err_set(E_INPUT, "invalid_config", "FK_FACE_RETRY_S", "FK_FACE_RETRY_S 须为 1–3600");
    retry_ms = (int)retry_s * 1000;
    v = getenv("FK_FACE_RESEND_S");
    long resend_s = v && *v ? strtol(v, NULL, 10) : 600;
    if (resend_s < 1 || resend_s > 86400)
        return err_set(E_INPUT, "invalid_config", "FK_FACE_RESEND_S",
                       "FK_FACE_RESEND_S 须为 1–86400");
    resend_ms = (int64_t)resend_s * 1000;
    v = getenv("FK_FACE_ATTEMPTS");
    long attempts = v && *v ? strtol(v, NULL, 10) : 5;
    if (attempts < 1 || attempts > 100)
        return err_set(E_INPUT, "invalid_config", "FK_FACE_ATTEMPTS",
                       "FK_FACE_ATTEMPTS 须为 1–100");
    max_attempts = attempts;
    err e = device_on_topic("acks", on_ack);
    if (!e)
        e = device_on_topic("passages", on_passage);
    if (!e)
        e = device_on_seen(on_seen);
    if (!e)
        e = device_on_change(on_device_change);
    return e;
}
