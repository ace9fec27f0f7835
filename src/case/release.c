/*
 * Release (解除隔离) and the release certificate (解除隔离通知书), seed 001
 * §3.2 and §5.1 rows 15, 41, 42; docs/cases.md "Release and certificates".
 *
 *   sweep: an active observation past its planned end, no open release task
 *          --> task "release" for community_staff of the person's community
 *   completion {release_status, note} or POST /observations/{id}/release
 *          --> case_observe_end(RELEASED) + a certificate, one transaction
 *
 * A certificate's QR is a TOKEN_CERT token whose key id is the
 * certificate's version: revoking bumps the version, so every QR printed
 * before fails (security/token.h). Nothing personal is in the token: the
 * verifier reads the masked name back from the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "base/time.h"
#include "base/validate.h"
#include "case/internal.h"
#include "person/person.h"
#include "region/region.h"
#include "security/crypto.h"
#include "security/mask.h"
#include "task/task.h"
#include "db/periodic.h"

#define RELEASE_KIND        "release"
#define RELEASE_ROLE        "community_staff"
#define RELEASE_DEADLINE_MS (24LL * 3600 * 1000)
#define SWEEP_BATCH         200
#define NOTE_MAX            500
#define REASON_DEFAULT      "隔离期满，未出现异常，解除隔离"

/* ---- certificates ------------------------------------------------------------------ */

/* The next human-readable number of China date `day` (yyyymmdd): "JC"
 * yyyymmdd and a 6-digit sequence of the day from certificate_numbers,
 * whose upserted row is held until commit, so two releases at once get
 * two numbers. */
static err next_number(db *d, arena *a, int32_t day, const char **number_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "INSERT INTO certificate_numbers (day, last) VALUES (?, 1) ON CONFLICT "
                       "(day) DO UPDATE SET last = certificate_numbers.last + 1 RETURNING last",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, day);
    bool row;
    int64_t seq = 0;
    if (!(e = db_row(s, &row)) && row)
        seq = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (seq < 1 || seq > 999999)
        return err_set(E_INTERNAL, "certificate_numbers", NULL, "当日解除隔离通知书编号已用完");
    *number_r = arena_printf(a, "JC%08d%06lld", (int)day, (long long)seq);
    return E_OK;
}

static err issue(db *d, arena *a, const struct principal *who, const struct observation *o,
                 enum release_status st, int64_t *id_r)
{
    int64_t now = now_ms(), id = id_new();
    const char *number = NULL;
    err e = next_number(d, a, china_date(now), &number);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO certificates (id, observation_id, person_id, region_code, "
                        "unit_code, number, release_status, issued_at, issued_by, version) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 1)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, o->id);
    db_bind_int64(s, 3, o->person_id);
    db_bind_int64(s, 4, o->region_code);
    db_bind_int64(s, 5, regcode_at_most(o->region_code, LEVEL_COMMUNITY));
    db_bind_text(s, 6, number);
    db_bind_text(s, 7, vocab_name(&release_status_vocab, st));
    db_bind_int64(s, 8, now);
    db_bind_int64(s, 9, who->user_id);
    if ((e = db_run(s, NULL)))
        return e;
    /* seed row 41: 是否发放解除隔离通知书 */
    if ((e = db_prepare(d,
                        "UPDATE observations SET release_notice_issued = 1, version = version + 1, "
                        "updated_at = ? WHERE id = ?",
                        &s)))
        return e;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, o->id);
    if ((e = db_run(s, NULL)) ||
        (e = case_written(d, CASE_REC_OBSERVATION, o->id, o->person_id, o->region_code)))
        return e;
    char detail[160];
    snprintf(detail, sizeof detail, "{\"observation_id\":\"%lld\",\"certificate_id\":\"%lld\"}",
             (long long)o->id, (long long)id);
    if ((e = case_event_add(d, o->incident_id, o->person_id, o->region_code, "certificate", detail,
                            who->user_id)))
        return e;
    *id_r = id;
    return E_OK;
}

err case_release(db *d, arena *a, const struct principal *who, int64_t observation_id,
                 enum release_status release_status, const char *reason, bool from_task,
                 int64_t *certificate_id_r)
{
    if (!release_status)
        return err_set(E_INPUT, "required", "release_status", "请填写解除隔离后状态");
    err e = case_observe_end(d, a, who, observation_id, OBSERVE_RELEASED, release_status, reason);
    if (e)
        return e;
    struct observation o;
    if ((e = case_observation_find(d, a, &who->scope, observation_id, &o)))
        return e;
    if (!from_task &&
        (e = task_cancel_for(d, a, who, RELEASE_KIND, observation_id, "已由工作人员直接解除隔离")))
        return e;
    int64_t id = 0;
    if ((e = issue(d, a, who, &o, release_status, &id)))
        return e;
    if (certificate_id_r)
        *certificate_id_r = id;
    return E_OK;
}

#define CERT_SELECT                                                                                \
    "SELECT c.id, c.observation_id, c.person_id, c.region_code, c.unit_code, c.number, "           \
    "c.release_status, c.issued_at, c.issued_by, c.version, c.revoked_at, c.revoked_by, "          \
    "c.revoke_reason_enc, o.kind, o.start_at, o.ended_at, r.name FROM certificates c "             \
    "JOIN observations o ON o.id = c.observation_id "                                              \
    "LEFT JOIN regions r ON r.code = c.unit_code "

static err cert_row(db *d, arena *a, db_stmt *s, struct certificate *c)
{
    memset(c, 0, sizeof *c);
    c->id = db_col_int64(s, 0);
    c->observation_id = db_col_int64(s, 1);
    c->person_id = db_col_int64(s, 2);
    c->region_code = db_col_int64(s, 3);
    c->unit_code = db_col_int64(s, 4);
    c->number = arena_strdup(a, db_col_text(s, 5));
    c->release_status = vocab_parse(&release_status_vocab, db_col_text(s, 6));
    c->issued_at = db_col_int64(s, 7);
    c->issued_by = db_col_int64(s, 8);
    c->version = db_col_int64(s, 9);
    c->revoked_at = db_col_int64(s, 10);
    c->revoked_by = db_col_int64(s, 11);
    err e = unseal_col(a, s, 12, "certificates.revoke_reason", &c->revoke_reason);
    if (e)
        return e;
    c->kind = vocab_parse(&observe_kind_vocab, db_col_text(s, 13));
    c->start_at = db_col_int64(s, 14);
    c->ended_at = db_col_int64(s, 15);
    c->unit_name = arena_strdup(a, db_col_text(s, 16));
    (void)d;
    return E_OK;
}

/* The person's name and ID number (plain; the caller masks): read once the
 * certificate has been found in scope. */
static err cert_person(db *d, arena *a, struct certificate *c)
{
    struct person p;
    struct scope all = scope_all();
    err e = person_find(d, a, &all, c->person_id, &p);
    if (e == E_NOT_FOUND) { /* erased since: the certificate still reads */
        c->person_name = c->id_number = "";
        return E_OK;
    }
    if (e)
        return e;
    c->person_name = p.name ? p.name : "";
    c->id_number = p.id_number ? p.id_number : "";
    return E_OK;
}

err case_certificate_find(db *d, arena *a, const struct scope *sc, int64_t person_id, int64_t id,
                          struct certificate *c_r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       person_id ? CERT_SELECT "WHERE c.id = ? AND c.person_id = ?"
                                 : CERT_SELECT "WHERE c.id = ? AND c.region_code >= ? AND "
                                               "c.region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    if (person_id) {
        db_bind_int64(s, 2, person_id);
    } else {
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
    }
    bool row;
    if (!(e = db_row(s, &row)) && row)
        e = cert_row(d, a, s, c_r);
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_NOT_FOUND, "not_found", NULL, "解除隔离通知书不存在");
    return cert_person(d, a, c_r);
}

err case_certificates_of(db *d, arena *a, int64_t person_id, struct certificate **items_r,
                         size_t *n_r)
{
    *items_r = NULL;
    *n_r = 0;
    db_stmt *s;
    err e =
        db_prepare(d, CERT_SELECT "WHERE c.person_id = ? ORDER BY c.issued_at DESC LIMIT 100", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, person_id);
    struct certificate *items = arena_alloc(a, 100 * sizeof *items);
    size_t n = 0;
    bool row;
    while (!(e = db_row(s, &row)) && row && n < 100)
        if ((e = cert_row(d, a, s, &items[n++])))
            break;
    db_done(s);
    for (size_t i = 0; !e && i < n; i++)
        e = cert_person(d, a, &items[i]);
    if (e)
        return e;
    *items_r = items;
    *n_r = n;
    return E_OK;
}

err case_certificate_token(const struct certificate *c, char out[TOKEN_MAX])
{
    struct token t = {.kind = TOKEN_CERT,
                      .key_id = (uint32_t)c->version,
                      .subject = c->id,
                      .issued_at = c->issued_at};
    return token_issue(&t, out);
}

err case_certificate_verify(db *d, arena *a, const char *token, int64_t now,
                            struct certificate *c_r)
{
    memset(c_r, 0, sizeof *c_r);
    if (!token || !*token)
        return err_set(E_INPUT, "required", "token", "请提供通知书二维码内容");
    struct token t;
    err e = token_verify(token, TOKEN_CERT, now, &t);
    if (e)
        return e;
    struct scope all = scope_all();
    if ((e = case_certificate_find(d, a, &all, 0, t.subject, c_r)) == E_NOT_FOUND)
        return err_set(E_INPUT, "unknown_certificate", "token",
                       "二维码签名有效，但该解除隔离通知书不存在");
    if (e)
        return e;
    if (c_r->revoked_at || (int64_t)t.key_id != c_r->version)
        return err_set(E_INPUT, "certificate_revoked", "token",
                       "该解除隔离通知书已作废，请以重新核发的通知书为准");
    return E_OK;
}

err case_certificate_revoke(db *d, arena *a, const struct principal *who, int64_t id,
                            const char *reason)
{
    err e = check_text(reason, "reason", "作废原因", 200, TEXT_REQUIRED);
    if (e)
        return e;
    struct certificate c;
    if ((e = case_certificate_find(d, a, &who->scope, 0, id, &c)))
        return e;
    if (c.revoked_at)
        return err_set(E_CONFLICT, "already_revoked", NULL, "该解除隔离通知书已作废");
    db_stmt *s;
    if ((e = db_prepare(d,
                        "UPDATE certificates SET version = version + 1, revoked_at = ?, "
                        "revoked_by = ?, revoke_reason_enc = ? WHERE id = ? AND revoked_at = 0",
                        &s)))
        return e;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, who->user_id);
    if ((e = seal_bind(a, s, 3, "certificates.revoke_reason", reason))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, 4, id);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (n != 1)
        return err_set(E_CONFLICT, "already_revoked", NULL, "该解除隔离通知书已作废");
    char detail[160];
    snprintf(detail, sizeof detail, "{\"observation_id\":\"%lld\",\"certificate_id\":\"%lld\"}",
             (long long)c.observation_id, (long long)id);
    return case_event_add(d, 0, c.person_id, c.region_code, "certificate_revoked", detail,
                          who->user_id);
}

/* ---- follow-up notes --------------------------------------------------------------- */

err case_note_add(db *d, arena *a, const struct principal *who, int64_t observation_id,
                  const char *text, int64_t *note_id_r)
{
    err e = check_text(text, "text", "动态记录", NOTE_MAX, TEXT_REQUIRED);
    if (e)
        return e;
    struct observation o;
    if ((e = case_observation_find(d, a, &who->scope, observation_id, &o)))
        return e;
    int64_t id = id_new();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO observation_notes (id, observation_id, person_id, "
                        "region_code, at, user_id, text_enc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, o.id);
    db_bind_int64(s, 3, o.person_id);
    db_bind_int64(s, 4, o.region_code);
    db_bind_int64(s, 5, now_ms());
    db_bind_int64(s, 6, who->user_id);
    if ((e = seal_bind(a, s, 7, "observation_notes.text", text))) {
        db_done(s);
        return e;
    }
    if ((e = db_run(s, NULL)))
        return e;
    char detail[160];
    snprintf(detail, sizeof detail, "{\"observation_id\":\"%lld\",\"note_id\":\"%lld\"}",
             (long long)o.id, (long long)id);
    if ((e = case_event_add(d, o.incident_id, o.person_id, o.region_code, "note", detail,
                            who->user_id)))
        return e;
    if (note_id_r)
        *note_id_r = id;
    return E_OK;
}

err case_notes(db *d, arena *a, const struct scope *sc, int64_t observation_id, json_t **items_r)
{
    struct observation o;
    err e = case_observation_find(d, a, sc, observation_id, &o);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "SELECT n.id, n.at, n.text_enc, u.display_name FROM observation_notes n "
                        "LEFT JOIN users u ON u.id = n.user_id WHERE n.observation_id = ? "
                        "ORDER BY n.at DESC, n.id DESC LIMIT 500",
                        &s)))
        return e;
    db_bind_int64(s, 1, observation_id);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        const char *text;
        if ((e = unseal_col(a, s, 2, "observation_notes.text", &text)))
            break;
        json_t *j = json_object();
        json_set_id(j, "id", db_col_int64(s, 0));
        json_object_set_new(j, "at", json_integer(db_col_int64(s, 1)));
        json_object_set_new(j, "text", json_string(text ? text : ""));
        json_object_set_new(j, "author", json_string(db_col_text(s, 3)));
        json_array_append_new(items, j);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

/* ---- the release task --------------------------------------------------------------- */

static err release_complete(db *d, arena *a, const struct principal *who, const struct task *t,
                            json_t *result)
{
    const char *st = result ? json_str(result, "release_status") : NULL;
    json_t *nv = result ? json_object_get(result, "note") : NULL;
    if (!result || !json_is_object(result))
        return err_set(E_INPUT, "required", "release_status", "请填写解除隔离后状态");
    if (!st)
        return err_set(E_INPUT, "required", "release_status", "请填写解除隔离后状态");
    int rs = vocab_parse(&release_status_vocab, st);
    if (rs <= 0)
        return err_set(E_INPUT, "invalid_value", "release_status",
                       "解除隔离后状态应为“自由”(free)或“集中治疗”(treatment)");
    if (nv && !json_is_null(nv) && !json_is_string(nv))
        return err_set(E_INPUT, "invalid_type", "note", "备注应为文字");
    const char *note = json_is_string(nv) ? json_string_value(nv) : NULL;
    err e = check_text(note, "note", "备注", 200, 0);
    if (e)
        return e;
    return case_release(d, a, who, t->subject_id, (enum release_status)rs,
                        note && *note ? note : REASON_DEFAULT, true, NULL);
}

static const struct task_kind release_kind = {
    .name = RELEASE_KIND,
    .label = "解除隔离",
    .complete = release_complete,
    .dispatchable = false,
};

err case_release_register(void)
{
    return task_kind_register(&release_kind);
}

/* ---- the sweep --------------------------------------------------------------------- */

struct due {
    int64_t id, person_id, region_code, planned_end_at;
};

static err make_task(db *d, arena *a, const struct due *o, int64_t now)
{
    struct person p;
    struct scope all = scope_all();
    err e = person_find(d, a, &all, o->person_id, &p);
    if (e)
        return e;
    char end[CHINA_TIME_LEN];
    china_time(o->planned_end_at, end);
    const char *name = mask_name(a, p.name ? p.name : "");
    struct task_new t = {
        .kind = RELEASE_KIND,
        .region_code = regcode_at_most(o->region_code, LEVEL_COMMUNITY),
        .assignee_role = RELEASE_ROLE,
        .priority = TASK_NORMAL,
        .deadline = now + RELEASE_DEADLINE_MS,
        .title = arena_printf(a, "解除隔离：%s", name),
        .person_id = o->person_id,
        .subject_id = o->id,
        .address = p.address && *p.address ? p.address : NULL,
        .phone = p.phone && *p.phone ? p.phone : NULL,
        .note = arena_printf(a, "隔离期已于%s届满，请核实无异常后办理解除隔离并发放解除隔离通知书",
                             end),
    };
    int64_t task_id;
    if ((e = task_create(d, &t, &task_id)))
        return e;
    char detail[160];
    snprintf(detail, sizeof detail, "{\"observation_id\":\"%lld\",\"task_id\":\"%lld\"}",
             (long long)o->id, (long long)task_id);
    return case_event_add(d, 0, o->person_id, o->region_code, "task_created", detail, 0);
}

err case_release_sweep(db *d, int64_t now, int64_t *n_r)
{
    int64_t made = 0;
    struct due *rows = calloc(SWEEP_BATCH, sizeof *rows);
    if (!rows)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    /* the sweep runs on the worker thread or the CLI, without a request:
     * a private arena, reset after each batch */
    arena *a = arena_new(4096);
    err e = E_OK;
    int64_t after = 0; /* by id, so a row that fails is not retried in the same sweep */
    for (;;) {
        db_stmt *s;
        /* Seed §3.2: released when nothing abnormal appeared in the period.
         * An observation with an abnormal check (checks, sql/021) gets no
         * release task: its release is a decision (POST …/release). */
        if ((e = db_prepare(d,
                            "SELECT id, person_id, region_code, planned_end_at FROM observations "
                            "WHERE state = 'active' AND planned_end_at > 0 AND planned_end_at <= ? "
                            "AND id > ? AND NOT EXISTS (SELECT 1 FROM checks c WHERE "
                            "c.observation_id = observations.id AND c.abnormal = 1) "
                            "ORDER BY id LIMIT ?",
                            &s)))
            break;
        db_bind_int64(s, 1, now);
        db_bind_int64(s, 2, after);
        db_bind_int64(s, 3, SWEEP_BATCH);
        size_t n = 0;
        bool row;
        while (!(e = db_row(s, &row)) && row && n < SWEEP_BATCH) {
            rows[n] = (struct due){db_col_int64(s, 0), db_col_int64(s, 1), db_col_int64(s, 2),
                                   db_col_int64(s, 3)};
            n++;
        }
        db_done(s);
        if (e || !n)
            break;
        after = rows[n - 1].id;
        if ((e = db_begin(d)))
            break;
        for (size_t i = 0; i < n && !e; i++) {
            bool open = false;
            if ((e = task_open_exists(d, RELEASE_KIND, rows[i].id, &open)) || open)
                continue;
            if (!(e = make_task(d, a, &rows[i], now)))
                made++;
        }
        if (e) {
            db_rollback(d);
            break;
        }
        if ((e = db_commit(d)))
            break;
        arena_reset(a);
        if (n < SWEEP_BATCH)
            break;
    }
    arena_free(&a);
    free(rows);
    if (n_r)
        *n_r = e ? 0 : made;
    return e;
}

/* ---- the worker -------------------------------------------------------------------- */

static err release_run(db *d, int64_t now, void *ctx, int64_t *n_r)
{
    (void)ctx;
    return case_release_sweep(d, now, n_r);
}

static struct periodic releaser = PERIODIC_INIT("release_tasks", release_run, NULL);

err case_release_worker_start(const char *db_url, int check_s)
{
    return periodic_start(&releaser, db_url, check_s);
}

void case_release_worker_stop(void)
{
    periodic_stop(&releaser);
}
