/*
 * The registry of exchange callers (调用方) and their SM2 keys (contract in
 * exchange.h, "the registry of callers"). The security administrator
 * registers them within its scope; each caller gets an account of role
 * exchange_client in the same transaction, so audit entries of its calls
 * name it, and a key pair whose private half leaves the server once, in
 * the reply, and is never stored.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/paging.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "db/periodic.h"
#include "db/query.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"
#include "security/audit.h"
#include "security/mask.h"
#include "user/user.h"

#define DAY_MS (24LL * 3600 * 1000)

static const struct scope everywhere = {0, INT64_MAX};

static const struct scope *scope_by(const struct principal *by)
{
    return by ? &by->scope : &everywhere;
}

static err nomem(void)
{
    return err_set(E_NOMEM, "out_of_memory", NULL, "内存不足");
}

static err not_found(void)
{
    return err_set(E_NOT_FOUND, "caller_not_found", NULL, "调用方不存在");
}

/* ---- parsing ------------------------------------------------------------------------ */

static err text_field(json_t *b, const char *name, const char *label, size_t min, size_t max,
                      const char **out_r)
{
    json_t *v = json_object_get(b, name);
    const char *s = json_string_value(v);
    if (!s)
        return err_set(E_INPUT, v ? "invalid_type" : "required", name, "请填写%s", label);
    size_t n = utf8_len(s);
    if (n < min || n > max || !utf8_valid_text(s))
        return err_set(E_INPUT, "invalid_value", name, "%s应为%zu到%zu个字符", label, min, max);
    *out_r = s;
    return E_OK;
}

static err sets_field(json_t *b, const char *name, uint32_t *out_r)
{
    json_t *v = json_object_get(b, name);
    if (!json_is_array(v))
        return err_set(E_INPUT, v ? "invalid_type" : "required", name, "数据集应为名称列表");
    uint32_t sets = 0;
    size_t i;
    json_t *x;
    json_array_foreach(v, i, x)
    {
        int ds = exchange_dataset_of(json_string_value(x));
        if (ds < 0)
            return err_set(E_INPUT, "invalid_dataset", name, "未知的数据集：%s",
                           json_is_string(x) ? json_string_value(x) : "?");
        sets |= 1u << ds;
    }
    *out_r = sets;
    return E_OK;
}

/* A list of region codes (regions: 1..EXCHANGE_REGIONS_MAX; read_regions:
 * 0..EXCHANGE_REGIONS_MAX), each well formed and given once. */
static err codes_field(json_t *b, const char *name, int min, int *n_r, int64_t *out)
{
    json_t *v = json_object_get(b, name);
    if (!json_is_array(v))
        return err_set(E_INPUT, v ? "invalid_type" : "required", name, "请选择授权区划");
    size_t n = json_array_size(v);
    if (n < (size_t)min || n > EXCHANGE_REGIONS_MAX)
        return err_set(E_INPUT, "out_of_range", name, "%s应为%d到%d个",
                       min ? "授权区划" : "只读区划", min, EXCHANGE_REGIONS_MAX);
    *n_r = 0;
    for (size_t i = 0; i < n; i++) {
        const char *s = json_string_value(json_array_get(v, i));
        int64_t code = s ? regcode_parse(s, NULL) : -1;
        if (code <= 0)
            return err_set(E_INPUT, "invalid_region", name, "区划代码格式不正确");
        for (int k = 0; k < *n_r; k++)
            if (out[k] == code)
                return err_set(E_INPUT, "invalid_region", name, "授权区划重复");
        out[(*n_r)++] = code;
    }
    return E_OK;
}

static err regions_field(json_t *b, struct exchange_caller_input *in)
{
    return codes_field(b, "regions", 1, &in->nregions, in->regions);
}

err exchange_caller_parse(json_t *b, bool partial, struct exchange_caller_input *in)
{
    *in = (struct exchange_caller_input){.rate_per_min = EXCHANGE_RATE_DEFAULT};
    if (!json_is_object(b))
        return err_set(E_INPUT, "invalid_json", NULL, "请求内容应为 JSON 对象");
    static const char *const known[] = {
        "name", "organisation", "contact_name", "contact_phone", "regions", "read_regions",
        "read", "write",        "rate_per_min", "expires_at",    NULL};
    const char *k;
    json_t *v;
    json_object_foreach(b, k, v)
    {
        size_t i = 0;
        while (known[i] && strcmp(known[i], k))
            i++;
        if (!known[i])
            return err_set(E_INPUT, "unknown_field", k, "未知字段 %s", k);
    }
    bool collecting = !err_collecting();
    if (collecting)
        err_collect_begin();
    err e = E_OK, f;
#define HAS(name) (!partial || json_object_get(b, name))
    if (HAS("name")) {
        in->set |= EXCHANGE_SET_NAME;
        if ((f = text_field(b, "name", "名称", 1, EXCHANGE_NAME_MAX, &in->name)))
            e = f;
    }
    if (HAS("organisation")) {
        in->set |= EXCHANGE_SET_ORG;
        if ((f = text_field(b, "organisation", "单位", 1, EXCHANGE_NAME_MAX, &in->organisation)))
            e = f;
    }
    if (HAS("contact_name")) {
        in->set |= EXCHANGE_SET_CONTACT;
        if ((f = text_field(b, "contact_name", "联系人", 1, 32, &in->contact_name)))
            e = f;
    }
    if (HAS("contact_phone")) {
        in->set |= EXCHANGE_SET_PHONE;
        if ((f = text_field(b, "contact_phone", "联系电话", 5, 20, &in->contact_phone)))
            e = f;
        else if (strspn(in->contact_phone, "0123456789-+ ") != strlen(in->contact_phone))
            e = err_set(E_INPUT, "invalid_phone", "contact_phone", "联系电话格式不正确");
    }
    if (HAS("regions")) {
        in->set |= EXCHANGE_SET_REGIONS;
        if ((f = regions_field(b, in)))
            e = f;
    }
    /* optional on create too: most callers read where they write */
    if (json_object_get(b, "read_regions")) {
        in->set |= EXCHANGE_SET_READ_REGIONS;
        if ((f = codes_field(b, "read_regions", 0, &in->nread_regions, in->read_regions)))
            e = f;
    } else if (!partial) {
        in->set |= EXCHANGE_SET_READ_REGIONS;
    }
    if (HAS("read") || HAS("write")) {
        in->set |= EXCHANGE_SET_SETS;
        if ((f = sets_field(b, "read", &in->read_sets)))
            e = f;
        if ((f = sets_field(b, "write", &in->write_sets)))
            e = f;
    }
    if (json_object_get(b, "rate_per_min")) {
        in->set |= EXCHANGE_SET_RATE;
        json_t *r = json_object_get(b, "rate_per_min");
        if (!json_is_integer(r) || json_integer_value(r) < 1 ||
            json_integer_value(r) > EXCHANGE_RATE_MAX)
            e = err_set(E_INPUT, "out_of_range", "rate_per_min", "调用频率上限应为1到%d次/分钟",
                        EXCHANGE_RATE_MAX);
        else
            in->rate_per_min = json_integer_value(r);
    } else if (!partial) {
        in->set |= EXCHANGE_SET_RATE;
    }
    if (json_object_get(b, "expires_at") || !partial) {
        in->set |= EXCHANGE_SET_EXPIRES;
        json_t *x = json_object_get(b, "expires_at");
        if (x && !json_is_null(x) && (!json_is_integer(x) || json_integer_value(x) < 0))
            e = err_set(E_INPUT, "invalid_time", "expires_at", "有效期应为毫秒时间戳");
        else
            in->expires_at = json_is_integer(x) ? json_integer_value(x) : 0;
    }
#undef HAS
    if (collecting)
        err_collect_end();
    return e;
}

/* ---- writing ------------------------------------------------------------------------ */

static err check_codes(db *d, const struct scope *sc, const int64_t *codes, int n,
                       const char *field)
{
    for (int i = 0; i < n; i++) {
        db_stmt *s;
        err e =
            db_prepare(d, "SELECT 1 FROM regions WHERE code = ? AND code >= ? AND code < ?", &s);
        if (e)
            return e;
        db_bind_int64(s, 1, codes[i]);
        db_bind_int64(s, 2, sc->lo);
        db_bind_int64(s, 3, sc->hi);
        bool found;
        e = db_row(s, &found);
        db_done(s);
        if (e)
            return e;
        if (!found)
            return err_set(E_INPUT, "invalid_region", field, "授权区划不存在或不在管辖范围内");
    }
    return E_OK;
}

/* The regions the input sets exist and lie in the administrator's scope
 * (read-only ones too: an administrator grants nothing beyond its own). */
static err check_regions(db *d, const struct scope *sc, const struct exchange_caller_input *in)
{
    err e = E_OK;
    if (in->set & EXCHANGE_SET_REGIONS)
        e = check_codes(d, sc, in->regions, in->nregions, "regions");
    if (!e && (in->set & EXCHANGE_SET_READ_REGIONS))
        e = check_codes(d, sc, in->read_regions, in->nread_regions, "read_regions");
    return e;
}

static char *regions_text(arena *a, const int64_t *codes, int n)
{
    char buf[EXCHANGE_REGIONS_MAX * 21 + 1];
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n; i++)
        off += (size_t)snprintf(buf + off, sizeof buf - off, "%s%lld", i ? "," : "",
                                (long long)codes[i]);
    return arena_strdup(a, buf);
}

/* A new key pair for caller id: the public half stored. */
static err key_add(db *d, arena *a, int64_t caller_id, int64_t now, int64_t *key_id_r,
                   char **priv_r)
{
    char *priv, *pub;
    err e = sm2_keygen(a, &priv, &pub);
    if (e)
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO exchange_caller_keys (id, caller_id, public_pem, created_at) "
                        "VALUES (?, ?, ?, ?)",
                        &s)))
        return e;
    int64_t id = id_new();
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, caller_id);
    db_bind_text(s, 3, pub);
    db_bind_int64(s, 4, now);
    if ((e = db_run(s, NULL)))
        return e;
    if (key_id_r)
        *key_id_r = id;
    *priv_r = priv;
    return E_OK;
}

static err duplicate_name(void)
{
    return err_set(E_CONFLICT, "duplicate_name", "name", "已有同名的调用方");
}

err exchange_caller_create(db *d, arena *a, const struct principal *by,
                           const struct exchange_caller_input *in, int64_t *id_r, char **priv_pem_r)
{
    err e = check_regions(d, scope_by(by), in);
    if (e)
        return e;
    int64_t id = id_new(), now = now_ms(), user_id = 0;
    /* the account: a random password no one learns (and exchange_client
     * sign-ins are refused anyway: security/auth.c) */
    uint8_t rnd[24];
    char hex[2 * sizeof rnd + 1], pw[64], username[40];
    if ((e = random_bytes(rnd, sizeof rnd)))
        return e;
    hex_encode(rnd, sizeof rnd, hex);
    snprintf(pw, sizeof pw, "%sAa1!", hex); /* the policy's classes */
    snprintf(username, sizeof username, "exchange.%lld", (long long)id);
    const char *roles[] = {"exchange_client"};
    char display[96];
    snprintf(display, sizeof display, "%s", in->name);
    struct user_new un = {.username = username,
                          .display_name = display,
                          .password = pw,
                          .region_code = in->regions[0],
                          .roles = roles,
                          .n_roles = 1};
    if ((e = db_begin(d)))
        return e;
    if ((e = user_create(d, a, by, &un, &user_id)))
        goto fail;
    db_stmt *s;
    if ((e = db_prepare(
             d,
             "INSERT INTO exchange_callers (id, name, organisation, contact_name, "
             "contact_phone_enc, region_code, regions, read_sets, write_sets, "
             "rate_per_min, state, expires_at, user_id, created_by, created_at, "
             "updated_at, read_regions) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active', ?, ?, ?, "
             "?, ?, ?)",
             &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, in->name);
    db_bind_text(s, 3, in->organisation);
    db_bind_text(s, 4, in->contact_name ? in->contact_name : "");
    if ((e = seal_bind(a, s, 5, "exchange_callers.contact_phone", in->contact_phone))) {
        db_done(s);
        goto fail;
    }
    db_bind_int64(s, 6, in->regions[0]);
    db_bind_text(s, 7, regions_text(a, in->regions, in->nregions));
    db_bind_int64(s, 8, in->read_sets);
    db_bind_int64(s, 9, in->write_sets);
    db_bind_int64(s, 10, in->rate_per_min);
    db_bind_int64(s, 11, in->expires_at);
    db_bind_int64(s, 12, user_id);
    db_bind_int64(s, 13, by ? by->user_id : 0);
    db_bind_int64(s, 14, now);
    db_bind_int64(s, 15, now);
    db_bind_text(s, 16, regions_text(a, in->read_regions, in->nread_regions));
    if ((e = db_run(s, NULL))) {
        if (e == E_CONFLICT)
            e = duplicate_name();
        goto fail;
    }
    int64_t key_id;
    if ((e = key_add(d, a, id, now, &key_id, priv_pem_r)) || (e = db_commit(d)))
        goto fail;
    *id_r = id;
    return E_OK;
fail:
    db_rollback(d);
    if (e == E_CONFLICT && !strcmp(err_last()->slug, "duplicate_username"))
        e = duplicate_name();
    return e;
}

/* The caller's row in by's scope, for a change: its state and account. */
static err find_for_change(db *d, const struct principal *by, int64_t id, char state[16],
                           int64_t *user_id_r)
{
    const struct scope *sc = scope_by(by);
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT state, user_id FROM exchange_callers WHERE id = ? "
                       "AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && row) {
        snprintf(state, 16, "%s", db_col_text(s, 0));
        if (user_id_r)
            *user_id_r = db_col_int64(s, 1);
    }
    db_done(s);
    if (!e && !row)
        e = not_found();
    if (!e && !strcmp(state, "deleted"))
        e = err_set(E_CONFLICT, "caller_deleted", NULL, "调用方已删除");
    return e;
}

err exchange_caller_update(db *d, arena *a, const struct principal *by, int64_t id,
                           const struct exchange_caller_input *in)
{
    err e;
    if ((e = check_regions(d, scope_by(by), in)))
        return e;
    if ((e = db_begin(d)))
        return e;
    char state[16];
    if ((e = find_for_change(d, by, id, state, NULL)))
        goto fail;
    /* one statement, its text fixed: each group of columns is written when
     * its flag is bound 1 and kept otherwise */
    static const char sql[] =
        "UPDATE exchange_callers SET "
        "name = CASE WHEN ? = 1 THEN ? ELSE name END, "
        "organisation = CASE WHEN ? = 1 THEN ? ELSE organisation END, "
        "contact_name = CASE WHEN ? = 1 THEN ? ELSE contact_name END, "
        "contact_phone_enc = CASE WHEN ? = 1 THEN ? ELSE contact_phone_enc END, "
        "region_code = CASE WHEN ? = 1 THEN ? ELSE region_code END, "
        "regions = CASE WHEN ? = 1 THEN ? ELSE regions END, "
        "read_sets = CASE WHEN ? = 1 THEN ? ELSE read_sets END, "
        "write_sets = CASE WHEN ? = 1 THEN ? ELSE write_sets END, "
        "rate_per_min = CASE WHEN ? = 1 THEN ? ELSE rate_per_min END, "
        "expires_at = CASE WHEN ? = 1 THEN ? ELSE expires_at END, "
        "read_regions = CASE WHEN ? = 1 THEN ? ELSE read_regions END, "
        "updated_at = ? WHERE id = ?";
    db_stmt *s;
    if ((e = db_prepare(d, sql, &s)))
        goto fail;
    bool regions = in->set & EXCHANGE_SET_REGIONS, sets = in->set & EXCHANGE_SET_SETS;
    db_bind_int64(s, 1, (in->set & EXCHANGE_SET_NAME) != 0);
    db_bind_text(s, 2, in->name);
    db_bind_int64(s, 3, (in->set & EXCHANGE_SET_ORG) != 0);
    db_bind_text(s, 4, in->organisation);
    db_bind_int64(s, 5, (in->set & EXCHANGE_SET_CONTACT) != 0);
    db_bind_text(s, 6, in->contact_name);
    db_bind_int64(s, 7, (in->set & EXCHANGE_SET_PHONE) != 0);
    if ((e = seal_bind(a, s, 8, "exchange_callers.contact_phone",
                       (in->set & EXCHANGE_SET_PHONE) ? in->contact_phone : NULL))) {
        db_done(s);
        goto fail;
    }
    db_bind_int64(s, 9, regions);
    db_bind_int64(s, 10, regions ? in->regions[0] : 0);
    db_bind_int64(s, 11, regions);
    db_bind_text(s, 12, regions ? regions_text(a, in->regions, in->nregions) : "");
    db_bind_int64(s, 13, sets);
    db_bind_int64(s, 14, in->read_sets);
    db_bind_int64(s, 15, sets);
    db_bind_int64(s, 16, in->write_sets);
    db_bind_int64(s, 17, (in->set & EXCHANGE_SET_RATE) != 0);
    db_bind_int64(s, 18, in->rate_per_min);
    db_bind_int64(s, 19, (in->set & EXCHANGE_SET_EXPIRES) != 0);
    db_bind_int64(s, 20, in->expires_at);
    bool reads = in->set & EXCHANGE_SET_READ_REGIONS;
    db_bind_int64(s, 21, reads);
    db_bind_text(s, 22, reads ? regions_text(a, in->read_regions, in->nread_regions) : "");
    db_bind_int64(s, 23, now_ms());
    db_bind_int64(s, 24, id);
    if ((e = db_run(s, NULL))) {
        if (e == E_CONFLICT)
            e = duplicate_name(); /* the one unique column a change can collide on */
        goto fail;
    }
    if ((e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err exchange_caller_set_state(db *d, const struct principal *by, int64_t id, bool suspended,
                              const char *reason)
{
    err e = db_begin(d);
    if (e)
        return e;
    char state[16];
    db_stmt *s;
    if ((e = find_for_change(d, by, id, state, NULL)) ||
        (e = db_prepare(d,
                        "UPDATE exchange_callers SET state = ?, state_reason = ?, updated_at = ? "
                        "WHERE id = ?",
                        &s)))
        goto fail;
    db_bind_text(s, 1, suspended ? "suspended" : "active");
    db_bind_text(s, 2, suspended ? (reason ? reason : "manual") : "");
    db_bind_int64(s, 3, now_ms());
    db_bind_int64(s, 4, id);
    if ((e = db_run(s, NULL)))
        goto fail;
    if (!suspended) {
        /* a caller suspended for bad signatures starts its count afresh */
        char key[64];
        snprintf(key, sizeof key, "exchange_badsig:%lld", (long long)id);
        if ((e = db_prepare(d, "DELETE FROM rate_limits WHERE key = ?", &s)))
            goto fail;
        db_bind_text(s, 1, key);
        if ((e = db_run(s, NULL)))
            goto fail;
    }
    if ((e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err exchange_caller_delete(db *d, arena *a, const struct principal *by, int64_t id)
{
    (void)a;
    err e = db_begin(d);
    if (e)
        return e;
    char state[16];
    int64_t user_id = 0, now = now_ms();
    db_stmt *s;
    if ((e = find_for_change(d, by, id, state, &user_id)) ||
        (e = db_prepare(d,
                        "UPDATE exchange_callers SET state = 'deleted', updated_at = ? "
                        "WHERE id = ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)) || (e = db_prepare(d,
                                                 "UPDATE exchange_caller_keys SET revoked_at = ? "
                                                 "WHERE caller_id = ? AND revoked_at = 0",
                                                 &s)))
        goto fail;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    if ((e = db_run(s, NULL)) ||
        (e = db_prepare(d, "UPDATE users SET disabled = 1, updated_at = ? WHERE id = ?", &s)))
        goto fail;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, user_id);
    if ((e = db_run(s, NULL)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err exchange_caller_rotate(db *d, arena *a, const struct principal *by, int64_t id,
                           int overlap_days, int64_t *key_id_r, char **priv_pem_r)
{
    if (overlap_days < 0 || overlap_days > EXCHANGE_OVERLAP_MAX)
        return err_set(E_INPUT, "out_of_range", "overlap_days", "过渡期应为0到%d天",
                       EXCHANGE_OVERLAP_MAX);
    err e = db_begin(d);
    if (e)
        return e;
    char state[16];
    int64_t now = now_ms(), newest = 0;
    db_stmt *s;
    if ((e = find_for_change(d, by, id, state, NULL)) ||
        (e = db_prepare(d,
                        "SELECT MAX(id) FROM exchange_caller_keys WHERE caller_id = ? "
                        "AND revoked_at = 0 AND (valid_until = 0 OR valid_until > ?)",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, now);
    bool row;
    if (!(e = db_row(s, &row)) && row && !db_col_null(s, 0))
        newest = db_col_int64(s, 0);
    db_done(s);
    if (e)
        goto fail;
    /* at most two valid keys: the new one and the newest old one, which
     * keeps its overlap; older ones end now */
    if ((e = db_prepare(d,
                        "UPDATE exchange_caller_keys SET revoked_at = ? WHERE caller_id = ? "
                        "AND revoked_at = 0 AND id <> ?",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, now);
    db_bind_int64(s, 2, id);
    db_bind_int64(s, 3, newest);
    if ((e = db_run(s, NULL)))
        goto fail;
    if (newest) {
        if ((e = db_prepare(d,
                            "UPDATE exchange_caller_keys SET valid_until = ?, revoked_at = "
                            "CASE WHEN ? = 0 THEN ? ELSE revoked_at END WHERE id = ?",
                            &s)))
            goto fail;
        db_bind_int64(s, 1, now + overlap_days * DAY_MS);
        db_bind_int64(s, 2, overlap_days);
        db_bind_int64(s, 3, now);
        db_bind_int64(s, 4, newest);
        if ((e = db_run(s, NULL)))
            goto fail;
    }
    if ((e = key_add(d, a, id, now, key_id_r, priv_pem_r)) || (e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

err exchange_caller_revoke_key(db *d, const struct principal *by, int64_t id, int64_t key_id)
{
    err e = db_begin(d);
    if (e)
        return e;
    char state[16];
    db_stmt *s;
    if ((e = find_for_change(d, by, id, state, NULL)) ||
        (e = db_prepare(d,
                        "UPDATE exchange_caller_keys SET revoked_at = ? WHERE id = ? "
                        "AND caller_id = ? AND revoked_at = 0",
                        &s)))
        goto fail;
    db_bind_int64(s, 1, now_ms());
    db_bind_int64(s, 2, key_id);
    db_bind_int64(s, 3, id);
    int64_t changed = 0;
    if ((e = db_run(s, &changed)))
        goto fail;
    if (!changed) {
        e = err_set(E_NOT_FOUND, "key_not_found", NULL, "密钥不存在或已吊销");
        goto fail;
    }
    if ((e = db_commit(d)))
        goto fail;
    return E_OK;
fail:
    db_rollback(d);
    return e;
}

/* ---- reading ------------------------------------------------------------------------ */

json_t *exchange_sets_json(uint32_t sets)
{
    json_t *v = json_array();
    for (int i = 0; i < DS__COUNT; i++)
        if (sets & (1u << i))
            json_array_append_new(v, json_string(exchange_dataset_name((enum exchange_dataset)i)));
    return v;
}

err exchange_region_names(db *d, const int64_t *codes, int n, json_t **out_r)
{
    json_t *v = json_array();
    for (int i = 0; i < n; i++) {
        db_stmt *s;
        err e = db_prepare(d, "SELECT name FROM regions WHERE code = ?", &s);
        if (e) {
            json_decref(v);
            return e;
        }
        db_bind_int64(s, 1, codes[i]);
        bool row;
        if (!(e = db_row(s, &row)))
            json_array_append_new(v, json_string(row ? db_col_text(s, 0) : "（已删除的区划）"));
        db_done(s);
        if (e) {
            json_decref(v);
            return e;
        }
    }
    *out_r = v;
    return E_OK;
}

#define CALLER_COLUMNS                                                                             \
    "id, name, organisation, contact_name, contact_phone_enc, regions, read_sets, write_sets, "    \
    "rate_per_min, state, state_reason, expires_at, created_at, updated_at, read_regions "

/* One row as JSON: the phone masked; regions by name. */
static err caller_json(db *d, arena *a, db_stmt *s, int64_t now, json_t **out_r)
{
    const char *phone = NULL;
    err e = unseal_col(a, s, 4, "exchange_callers.contact_phone", &phone);
    if (e)
        return e;
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "name", json_string(db_col_text(s, 1)));
    json_object_set_new(o, "organisation", json_string(db_col_text(s, 2)));
    json_object_set_new(o, "contact_name", json_string(db_col_text(s, 3)));
    json_object_set_new(o, "contact_phone",
                        phone ? json_string(mask_phone(a, phone)) : json_null());
    json_t *names;
    int64_t codes[EXCHANGE_REGIONS_MAX];
    int nc = exchange_regions_parse(db_col_text(s, 5), codes, EXCHANGE_REGIONS_MAX);
    if ((e = exchange_region_names(d, codes, nc, &names))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "regions", names);
    nc = exchange_regions_parse(db_col_text(s, 14), codes, EXCHANGE_REGIONS_MAX);
    if ((e = exchange_region_names(d, codes, nc, &names))) {
        json_decref(o);
        return e;
    }
    json_object_set_new(o, "read_regions", names);
    json_object_set_new(o, "read", exchange_sets_json((uint32_t)db_col_int64(s, 6)));
    json_object_set_new(o, "write", exchange_sets_json((uint32_t)db_col_int64(s, 7)));
    json_object_set_new(o, "rate_per_min", json_integer(db_col_int64(s, 8)));
    const char *state = db_col_text(s, 9);
    int64_t expires = db_col_int64(s, 11);
    json_object_set_new(o, "state", json_string(state));
    json_object_set_new(o, "state_reason", json_string(db_col_text(s, 10)));
    json_object_set_new(o, "expired", json_boolean(expires && expires <= now));
    json_object_set_new(o, "expires_at", expires ? json_integer(expires) : json_null());
    json_object_set_new(o, "created_at", json_integer(db_col_int64(s, 12)));
    json_object_set_new(o, "updated_at", json_integer(db_col_int64(s, 13)));
    *out_r = o;
    return E_OK;
}

err exchange_caller_list(db *d, arena *a, const struct principal *by,
                         const struct exchange_caller_filter *f, json_t **items_r, int64_t *total_r)
{
    const struct scope *sc = scope_by(by);
    int64_t now = now_ms();
    struct query *w = arena_zalloc(a, sizeof *w), *q = arena_zalloc(a, sizeof *q);
    if (!w || !q)
        return nomem();
    query_sql(w, " FROM exchange_callers WHERE region_code >= ? AND region_code < ? "
                 "AND state <> 'deleted'");
    query_int(w, sc->lo);
    query_int(w, sc->hi);
    if (f->q && *f->q) {
        const char *like = query_like_contains(a, f->q, true);
        query_sql(w, " AND (lower(name) LIKE ? ESCAPE '\\' OR lower(organisation) LIKE ? "
                     "ESCAPE '\\')");
        query_text(w, like);
        query_text(w, like);
    }
    if (f->state && !strcmp(f->state, "expired")) {
        query_sql(w, " AND expires_at <> 0 AND expires_at <= ?");
        query_int(w, now);
    } else if (f->state && *f->state) {
        query_sql(w, " AND state = ? AND (expires_at = 0 OR expires_at > ?)");
        query_text(w, f->state);
        query_int(w, now);
    }
    query_sql(q, "SELECT COUNT(*)");
    query_append(q, w);
    err e = query_count(d, q, total_r);
    if (e)
        return e;
    *q = (struct query)QUERY_INIT;
    query_sql(q, "SELECT " CALLER_COLUMNS);
    query_append(q, w);
    query_sql(q, " ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?");
    query_int(q, f->page_size);
    query_int(q, paging_offset(f->page, f->page_size));
    db_stmt *s;
    if ((e = query_prepare(d, q, &s)))
        return e;
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row) {
        json_t *o;
        if ((e = caller_json(d, a, s, now, &o)))
            break;
        json_array_append_new(items, o);
    }
    db_done(s);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err exchange_caller_get(db *d, arena *a, const struct principal *by, int64_t id, json_t **out_r)
{
    const struct scope *sc = scope_by(by);
    int64_t now = now_ms();
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT " CALLER_COLUMNS ", user_id FROM exchange_callers WHERE id = ? "
                       "AND region_code >= ? AND region_code < ? AND state <> 'deleted'",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    json_t *o = NULL;
    char regions[EXCHANGE_REGIONS_MAX * 21 + 1] = "", reads[EXCHANGE_REGIONS_MAX * 21 + 1] = "";
    if (!(e = db_row(s, &row)) && row) {
        snprintf(regions, sizeof regions, "%s", db_col_text(s, 5));
        snprintf(reads, sizeof reads, "%s", db_col_text(s, 14));
        if (!(e = caller_json(d, a, s, now, &o)))
            json_set_id(o, "user_id", db_col_int64(s, 15));
    }
    db_done(s);
    if (e)
        return e;
    if (!row)
        return not_found();
    /* the codes too, for the edit dialog to tick its tree (not shown) */
    int64_t codes[EXCHANGE_REGIONS_MAX];
    int n = exchange_regions_parse(regions, codes, EXCHANGE_REGIONS_MAX);
    json_t *cv = json_array();
    for (int i = 0; i < n; i++) {
        char c[19];
        regcode_format(codes[i], c);
        json_array_append_new(cv, json_string(c));
    }
    json_object_set_new(o, "region_codes", cv);
    n = exchange_regions_parse(reads, codes, EXCHANGE_REGIONS_MAX);
    cv = json_array();
    for (int i = 0; i < n; i++) {
        char c[19];
        regcode_format(codes[i], c);
        json_array_append_new(cv, json_string(c));
    }
    json_object_set_new(o, "read_region_codes", cv);
    if ((e = db_prepare(d,
                        "SELECT id, created_at, valid_until, revoked_at FROM exchange_caller_keys "
                        "WHERE caller_id = ? ORDER BY id DESC LIMIT 20",
                        &s))) {
        json_decref(o);
        return e;
    }
    db_bind_int64(s, 1, id);
    json_t *keys = json_array();
    while (!(e = db_row(s, &row)) && row) {
        int64_t until = db_col_int64(s, 2), revoked = db_col_int64(s, 3);
        const char *st = revoked                 ? "revoked"
                         : until && until <= now ? "expired"
                         : until                 ? "overlap"
                                                 : "valid";
        json_t *k = json_object();
        json_set_id(k, "id", db_col_int64(s, 0));
        json_object_set_new(k, "created_at", json_integer(db_col_int64(s, 1)));
        json_object_set_new(k, "valid_until", until ? json_integer(until) : json_null());
        json_object_set_new(k, "revoked_at", revoked ? json_integer(revoked) : json_null());
        json_object_set_new(k, "state", json_string(st));
        json_array_append_new(keys, k);
    }
    db_done(s);
    json_object_set_new(o, "keys", keys);
    if (e) {
        json_decref(o);
        return e;
    }
    *out_r = o;
    return E_OK;
}

/* ---- the sweep ---------------------------------------------------------------------- */

err exchange_purge(db *d, int64_t now, void *ctx, int64_t *count_r)
{
    (void)ctx;
    int64_t a = 0, b = 0;
    db_stmt *s;
    err e = db_prepare(d, "DELETE FROM exchange_nonces WHERE at < ?", &s);
    if (e)
        return e;
    /* a nonce matters while its timestamp could still pass: the window
     * on both sides, measured from when it was seen */
    db_bind_int64(s, 1, now - 2 * exchange_skew_ms());
    if ((e = db_run(s, &a)) ||
        (e = db_prepare(d, "DELETE FROM exchange_idempotency WHERE at < ?", &s)))
        return e;
    db_bind_int64(s, 1, now - EXCHANGE_IDEMPOTENCY_DAYS * DAY_MS);
    if ((e = db_run(s, &b)))
        return e;
    *count_r = a + b;
    return E_OK;
}

static struct periodic purger = PERIODIC_INIT("exchange_purge", exchange_purge, NULL);

err exchange_worker_start(const char *db_url, int every_s)
{
    err e = exchange_writer_start(db_url);
    if (!e && (e = periodic_start(&purger, db_url, every_s)))
        exchange_writer_stop();
    return e;
}

void exchange_worker_stop(void)
{
    periodic_stop(&purger);
    exchange_writer_stop();
}
