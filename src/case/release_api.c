/*
 * HTTP handlers of release, release certificates and follow-up notes
 * (docs/cases.md "Release and certificates"):
 *
 *   POST /api/v1/observations/{id}/release        release now, issue the certificate
 *   POST /api/v1/observations/{id}/notes          a follow-up note (后续行为动态记录)
 *   GET  /api/v1/observations/{id}/notes          the notes
 *   GET  /api/v1/persons/{id}/certificates        a person's certificates (staff)
 *   GET  /api/v1/certificates/{id}                one (staff, in scope)
 *   GET  /api/v1/certificates/{id}/pdf            its A4 PDF
 *   GET  /api/v1/certificates/{id}/qr.svg         its QR
 *   POST /api/v1/certificates/{id}/revoke         revoke it (the printed QR fails)
 *   POST /api/v1/certificates/verify              check a scanned QR (cert.verify)
 *   GET  /api/v1/me/certificates[/{id}[/pdf|/qr.svg]]   the resident's own
 *
 * The router matches whole segments, so the PDF is ".../{id}/pdf" rather
 * than ".../{id}.pdf". Every read of a certificate is audited (it carries
 * a name and an ID number), and so is every verification (an access).
 */
#include <stdio.h>
#include <string.h>

#include "app.h"
#include "http/write.h"
#include "base/id.h"
#include "base/pdf.h"
#include "base/qr.h"
#include "base/time.h"
#include "case/internal.h"
#include "person/person.h"
#include "security/audit.h"
#include "security/mask.h"

#define VERIFY_HINT "使用防控系统工作人员端“核验解除隔离证明”扫描二维码，可核验本通知书真伪"

static const char *chinese_date(arena *a, int64_t ms)
{
    int32_t d = china_date(ms);
    return arena_printf(a, "%d年%d月%d日", (int)(d / 10000), (int)(d / 100 % 100), (int)(d % 100));
}

static json_t *certificate_json(struct req *r, const struct certificate *c, bool own)
{
    json_t *j = json_object();
    json_set_id(j, "id", c->id);
    json_object_set_new(j, "number", json_string(c->number));
    json_set_id(j, "observation_id", c->observation_id);
    /* the person themself reads their full name; staff the masked one */
    json_object_set_new(j, "person_name",
                        json_string(own ? c->person_name : mask_name(r->a, c->person_name)));
    json_object_set_new(j, "id_number", json_string(mask_id_number(r->a, c->id_number)));
    json_object_set_new(j, "kind", json_string(vocab_name(&observe_kind_vocab, c->kind)));
    json_object_set_new(j, "kind_label", json_string(vocab_label(&observe_kind_vocab, c->kind)));
    json_object_set_new(j, "start_at", json_integer(c->start_at));
    json_object_set_new(j, "end_at", json_integer(c->ended_at));
    json_object_set_new(j, "release_status",
                        json_string(vocab_name(&release_status_vocab, c->release_status)));
    json_object_set_new(j, "release_status_label",
                        json_string(vocab_label(&release_status_vocab, c->release_status)));
    json_object_set_new(j, "issued_at", json_integer(c->issued_at));
    json_object_set_new(j, "issued_date", json_string(chinese_date(r->a, c->issued_at)));
    json_object_set_new(j, "issuing_unit", json_string(c->unit_name));
    json_object_set_new(j, "revoked", json_boolean(c->revoked_at != 0));
    json_object_set_new(j, "revoked_at", c->revoked_at ? json_integer(c->revoked_at) : json_null());
    /* the reason may tell of the person's health: staff read it masked,
     * like an observation's end reason */
    json_object_set_new(
        j, "revoke_reason",
        c->revoked_at && c->revoke_reason
            ? json_string(own ? c->revoke_reason : mask_address(r->a, c->revoke_reason))
            : json_null());
    char tok[TOKEN_MAX];
    if (!c->revoked_at && !case_certificate_token(c, tok))
        json_object_set_new(j, "token", json_string(tok));
    else
        json_object_set_new(j, "token", json_null());
    json_object_set_new(j, "verify_hint", json_string(VERIFY_HINT));
    return j;
}

/* The certificate of the route: the resident's own under /me, else in the
 * caller's scope; the read audited either way. */
static err load(struct req *r, bool own, const char *view, struct certificate *c)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    if (!e && own && !r->who->person_id)
        e = err_set(E_NOT_FOUND, "not_found", NULL, "解除隔离通知书不存在");
    if (!e)
        e = case_certificate_find(r->db, r->a, &r->who->scope, own ? r->who->person_id : 0, id, c);
    if (e)
        return audit_refusal(r->db, r->who, r->ip, "certificate.read", "certificate", id, e, view);
    req_audit(r, "certificate.read", "certificate", id, "ok", view);
    return E_OK;
}

static err get_one(struct req *r, bool own)
{
    struct certificate c;
    err e = load(r, own, "view=json", &c);
    return e ? e : reply_json(r, 200, certificate_json(r, &c, own));
}

static err get_certificate(struct req *r)
{
    return get_one(r, false);
}

static err get_my_certificate(struct req *r)
{
    return get_one(r, true);
}

static err pdf_of(struct req *r, bool own)
{
    struct certificate c;
    err e = load(r, own, "view=pdf", &c);
    if (e)
        return e;
    pdf *p = pdf_new(r->a);
    pdf_text_center(p, 40, 24, "解除隔离通知书");
    pdf_text(p, 130, 54, 10.5, arena_printf(r->a, "编号：%s", c.number));
    pdf_line(p, 25, 58, 185, 58, 0.8);
    const char *name = own ? c.person_name : mask_name(r->a, c.person_name);
    const char *rows[][2] = {
        {"姓　　名：", name},
        {"证件号码：", mask_id_number(r->a, c.id_number)},
        {"隔离方式：", vocab_label(&observe_kind_vocab, c.kind)},
        {"隔离开始：", chinese_date(r->a, c.start_at)},
        {"解除日期：", chinese_date(r->a, c.ended_at)},
        {"解除后状态：", vocab_label(&release_status_vocab, c.release_status)},
    };
    double y = 74;
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++, y += 11)
        pdf_text(p, 30, y, 13, arena_printf(r->a, "%s%s", rows[i][0], rows[i][1]));
    y += 6;
    pdf_text(p, 30, y, 13, "经核实，上述人员隔离观察期满，期间未出现异常情况，");
    pdf_text(p, 30, y + 9, 13,
             arena_printf(r->a, "自%s起解除隔离。", chinese_date(r->a, c.ended_at)));
    pdf_text(p, 110, 172, 13, arena_printf(r->a, "发证单位：%s", c.unit_name));
    pdf_text(p, 110, 183, 13, chinese_date(r->a, c.issued_at));
    pdf_line(p, 25, 192, 185, 192, 0.5);
    if (c.revoked_at) {
        pdf_text_center(p, 215, 20, "本通知书已作废");
    } else {
        char tok[TOKEN_MAX];
        if ((e = case_certificate_token(&c, tok)) || (e = pdf_qr(p, 25, 198, 48, tok)))
            return e;
        pdf_text(p, 80, 214, 10.5, "核验方式：");
        pdf_text(p, 80, 222, 10.5, "使用防控系统工作人员端“核验解除隔离证明”");
        pdf_text(p, 80, 230, 10.5, "扫描左侧二维码，可核验本通知书真伪。");
    }
    const uint8_t *bytes;
    size_t n;
    if ((e = pdf_finish(p, "解除隔离通知书", &bytes, &n)) ||
        (e = reply_bytes(r, 200, "application/pdf", bytes, n)))
        return e;
    r->disposition = arena_printf(r->a, "inline; filename=\"%s.pdf\"", c.number);
    r->cache_control = "private, no-store";
    return E_OK;
}

static err get_certificate_pdf(struct req *r)
{
    return pdf_of(r, false);
}

static err get_my_certificate_pdf(struct req *r)
{
    return pdf_of(r, true);
}

static err qr_of(struct req *r, bool own)
{
    struct certificate c;
    err e = load(r, own, "view=qr", &c);
    if (e)
        return e;
    if (c.revoked_at)
        return err_set(E_CONFLICT, "already_revoked", NULL, "该解除隔离通知书已作废");
    char tok[TOKEN_MAX], *svg;
    size_t n;
    if ((e = case_certificate_token(&c, tok)) || (e = qr_svg(r->a, tok, &svg, &n)) ||
        (e = reply_bytes(r, 200, "image/svg+xml", svg, n)))
        return e;
    r->cache_control = "private, no-store";
    return E_OK;
}

static err get_certificate_qr(struct req *r)
{
    return qr_of(r, false);
}

static err get_my_certificate_qr(struct req *r)
{
    return qr_of(r, true);
}

static err list_json(struct req *r, int64_t person_id, bool own)
{
    struct certificate *items;
    size_t n;
    err e = case_certificates_of(r->db, r->a, person_id, &items, &n);
    if (e)
        return e;
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(arr, certificate_json(r, &items[i], own));
    req_audit(r, "certificate.list", "person", person_id, "ok", "");
    return reply_json(r, 200, json_pack("{s:o}", "items", arr));
}

static err get_my_certificates(struct req *r)
{
    if (!r->who->person_id)
        return reply_json(r, 200, json_pack("{s:[]}", "items"));
    return list_json(r, r->who->person_id, true);
}

static err get_person_certificates(struct req *r)
{
    int64_t id;
    err e = req_param_id(r, 0, &id);
    if (e || (e = case_person_in_scope(r->db, &r->who->scope, id, NULL, NULL)))
        return e;
    return list_json(r, id, false);
}

/* ---- writes ------------------------------------------------------------------------- */

static const struct jfield release_body[] = {
    {"release_status", J_STRING, JF_REQUIRED, 0, 0, "解除隔离后状态", NULL, &release_status_vocab},
    {"reason", J_STRING, JF_REQUIRED, 1, 200, "解除原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_release(struct req *r)
{
    int64_t id = 0, cert = 0;
    err e = req_param_id(r, 0, &id);
    int rs = vocab_parse(&release_status_vocab, json_str(r->body, "release_status"));
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r,
                       case_release(r->db, r->a, r->who, id, rs > 0 ? (enum release_status)rs : 0,
                                    json_str(r->body, "reason"), false, &cert));
    if ((e = req_write_done(r, e, "observation.release", "observation", id, "")))
        return e;
    struct certificate c;
    if ((e = case_certificate_find(r->db, r->a, &r->who->scope, 0, cert, &c)))
        return e;
    return reply_json(r, 201, certificate_json(r, &c, false));
}

static const struct jfield revoke_body[] = {
    {"reason", J_STRING, JF_REQUIRED, 1, 200, "作废原因", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_revoke(struct req *r)
{
    int64_t id = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(
            r, case_certificate_revoke(r->db, r->a, r->who, id, json_str(r->body, "reason")));
    if ((e = req_write_done(r, e, "certificate.revoke", "certificate", id, "")))
        return e;
    struct certificate c;
    if ((e = case_certificate_find(r->db, r->a, &r->who->scope, 0, id, &c)))
        return e;
    return reply_json(r, 200, certificate_json(r, &c, false));
}

static const struct jfield verify_body[] = {
    {"token", J_STRING, JF_REQUIRED, 1, 200, "通知书二维码", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_verify(struct req *r)
{
    struct certificate c;
    err e = case_certificate_verify(r->db, r->a, json_str(r->body, "token"), now_ms(), &c);
    if (e) {
        /* every verification is an access, a failed one (forged, revoked)
         * above all: audited with its slug, though E_INPUT is not a
         * refusal by audit_refusal's policy */
        struct err_detail saved = *err_last();
        req_audit(r, "certificate.verify", "certificate", c.id,
                  saved.code == e && saved.slug[0] ? saved.slug : err_slug(e), "");
        return err_set(e, saved.slug[0] ? saved.slug : NULL, saved.field[0] ? saved.field : NULL,
                       "%s", saved.message);
    }
    req_audit(r, "certificate.verify", "certificate", c.id, "ok", "");
    json_t *j = json_object();
    json_object_set_new(j, "valid", json_true());
    json_object_set_new(j, "number", json_string(c.number));
    json_object_set_new(j, "person_name", json_string(mask_name(r->a, c.person_name)));
    json_object_set_new(j, "id_number", json_string(mask_id_number(r->a, c.id_number)));
    json_object_set_new(j, "release_date", json_string(chinese_date(r->a, c.ended_at)));
    json_object_set_new(j, "released_at", json_integer(c.ended_at));
    json_object_set_new(j, "release_status_label",
                        json_string(vocab_label(&release_status_vocab, c.release_status)));
    json_object_set_new(j, "issuing_unit", json_string(c.unit_name));
    return reply_json(r, 200, j);
}

static const struct jfield note_body[] = {
    {"text", J_STRING, JF_REQUIRED, 1, 500, "动态记录", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

static err post_note(struct req *r)
{
    int64_t id = 0, note = 0;
    err e = req_param_id(r, 0, &id);
    db_hold(r->db);
    if (!e && !(e = db_begin(r->db)))
        e = req_tx_end(r, case_note_add(r->db, r->a, r->who, id, json_str(r->body, "text"), &note));
    if ((e = req_write_done(r, e, "observation.note", "observation", id, "")))
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", note);
    return reply_json(r, 201, o);
}

static err get_notes(struct req *r)
{
    int64_t id;
    json_t *items;
    err e = req_param_id(r, 0, &id);
    if (e || (e = case_notes(r->db, r->a, &r->who->scope, id, &items)))
        return e;
    req_audit(r, "observation.notes", "observation", id, "ok", "");
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

/* ---- the route table ---------------------------------------------------------------- */

const struct route case_release_routes[] = {
    {M_POST, "/api/v1/observations/{id}/release", post_release, PERM_CASE_MANAGE, 0, release_body,
     "解除隔离并发放解除隔离通知书", "case", 0},
    {M_POST, "/api/v1/observations/{id}/notes", post_note, PERM_CASE_MANAGE, 0, note_body,
     "添加后续行为动态记录", "case", 0},
    {M_GET, "/api/v1/observations/{id}/notes", get_notes, PERM_CASE_READ, 0, NULL,
     "后续行为动态记录", "case", 0},
    {M_GET, "/api/v1/persons/{id}/certificates", get_person_certificates, PERM_CASE_READ, 0, NULL,
     "人员的解除隔离通知书", "case", 0},
    {M_POST, "/api/v1/certificates/verify", post_verify, PERM_CERT_VERIFY, 0, verify_body,
     "核验解除隔离通知书二维码", "case", 0},
    {M_GET, "/api/v1/certificates/{id}", get_certificate, PERM_CASE_READ, 0, NULL, "解除隔离通知书",
     "case", 0},
    {M_GET, "/api/v1/certificates/{id}/pdf", get_certificate_pdf, PERM_CASE_READ, 0, NULL,
     "解除隔离通知书（PDF，A4）", "case", 0},
    {M_GET, "/api/v1/certificates/{id}/qr.svg", get_certificate_qr, PERM_CASE_READ, 0, NULL,
     "解除隔离通知书二维码（SVG）", "case", 0},
    {M_POST, "/api/v1/certificates/{id}/revoke", post_revoke, PERM_CASE_MANAGE, 0, revoke_body,
     "作废解除隔离通知书", "case", 0},
    {M_GET, "/api/v1/me/certificates", get_my_certificates, PERM_SELF, 0, NULL,
     "本人的解除隔离通知书", "case", 0},
    {M_GET, "/api/v1/me/certificates/{id}", get_my_certificate, PERM_SELF, 0, NULL,
     "本人的解除隔离通知书详情", "case", 0},
    {M_GET, "/api/v1/me/certificates/{id}/pdf", get_my_certificate_pdf, PERM_SELF, 0, NULL,
     "本人的解除隔离通知书（PDF，A4）", "case", 0},
    {M_GET, "/api/v1/me/certificates/{id}/qr.svg", get_my_certificate_qr, PERM_SELF, 0, NULL,
     "本人的解除隔离通知书二维码（SVG）", "case", 0},
};
const size_t case_release_routes_n = sizeof case_release_routes / sizeof case_release_routes[0];
