/*
 * The registry of peers (contract in exchange/peer.h "the registry"): what
 * the administrator creates, changes and reads on the 对接系统 page. The
 * private key is written sealed and never read back out: replies say only
 * whether one was uploaded.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/id.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/time.h"
#include "exchange/peer.h"

#define L_PEER_KEY "exchange_peers.key"
#define PEM_MAX    8192

const struct jfield exchange_peer_fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, PEER_NAME_MAX, "名称", NULL, NULL},
    {"kind", J_STRING, JF_REQUIRED, 0, 0, "类型", NULL, &exchange_peer_kind_vocab},
    {"base_url", J_STRING, JF_REQUIRED, 1, 500, "接口地址", NULL, NULL},
    {"caller", J_STRING, JF_REQUIRED, 1, 64, "本平台在对方的调用方标识", NULL, NULL},
    {"key", J_STRING, JF_NULLABLE, 0, PEM_MAX, "签名私钥（PEM）", NULL, NULL},
    {"peer_key", J_STRING, JF_REQUIRED, 1, PEM_MAX, "对方公钥（PEM）", NULL, NULL},
    {"ca_file", J_STRING, JF_NULLABLE, 0, 300, "CA 证书文件", NULL, NULL},
    {"timeout_s", J_INT, 0, 1, 30, "超时（秒）", NULL, NULL},
    {"enabled", J_BOOL, 0, 0, 0, "启用", NULL, NULL},
    {"datasets", J_ARRAY, 0, 0, 0, "推送的数据集", NULL, NULL},
    {"region", J_STRING, 0, 1, 20, "区划", NULL, NULL},
    {"fail_after_s", J_INT, 0, 1, 7 * 86400, "连续失败告警阈值（秒）", NULL, NULL},
    {"stale_after_s", J_INT, 0, 1, 7 * 86400, "待发数据积压告警阈值（秒）", NULL, NULL},
    {"nodes", J_STRING, 0, 0, 4 * EXCHANGE_NODES_MAX, "节点编号（共享互认）", NULL, NULL},
    {NULL, 0, 0, 0, 0, NULL, NULL, NULL},
};

/* A peer's stored fields, as a create or an update writes them. */
struct row {
    const char *name, *kind, *base_url, *caller, *peer_key, *ca_file;
    const char *key; /* the private PEM to store; NULL: keep (update) or none */
    bool key_given;  /* the body had "key" */
    int64_t timeout_s, enabled, datasets, region_code, fail_after_s, stale_after_s;
    char *nodes; /* normalised (exchange_nodes_parse); NULL: not given */
};

static bool is_http_url(const char *u)
{
    const char *h = !strncmp(u, "http://", 7) ? u + 7 : !strncmp(u, "https://", 8) ? u + 8 : NULL;
    return h && *h && *h != '/' && !strpbrk(u, " \t\r\n?#") && u[strlen(u) - 1] != '/';
}

/* Fill r from the members of in that are present, checking each; every
 * field at fault is reported (err_add). */
static err take(db *d, arena *a, const struct scope *sc, json_t *in, struct row *r)
{
    err e = E_OK;
    const char *v;
    if ((v = json_str(in, "name"))) {
        r->name = v;
        if (!utf8_valid_text(v) || strchr(v, '\n'))
            e = err_add(e, E_INPUT, "invalid_value", "name", "名称含有不允许的字符");
    }
    if ((v = json_str(in, "kind")))
        r->kind = v;
    if ((v = json_str(in, "base_url"))) {
        r->base_url = v;
        if (!is_http_url(v))
            e = err_add(e, E_INPUT, "invalid_url", "base_url",
                        "接口地址应为 http:// 或 https:// 开头的地址，末尾不带 /、? 或 #");
    }
    if ((v = json_str(in, "caller"))) {
        r->caller = v;
        for (const char *c = v; *c; c++)
            if (*c <= ' ' || *c > '~') {
                e = err_add(e, E_INPUT, "invalid_value", "caller",
                            "调用方标识只能含可见 ASCII 字符");
                break;
            }
    }
    if (json_has(in, "key")) {
        r->key_given = true;
        v = json_str(in, "key");
        r->key = v && *v ? v : NULL;
        sm2_key *k;
        if (r->key) {
            if (sm2_key_parse(r->key, strlen(r->key), true, &k))
                e = err_add(e, E_INPUT, "invalid_key", "key", "签名私钥不是有效的 SM2 私钥（PEM）");
            else
                sm2_key_free(k);
        }
    }
    if ((v = json_str(in, "peer_key"))) {
        r->peer_key = v;
        sm2_key *k;
        if (sm2_key_parse(v, strlen(v), false, &k))
            e = err_add(e, E_INPUT, "invalid_key", "peer_key",
                        "对方公钥不是有效的 SM2 公钥（PEM）");
        else
            sm2_key_free(k);
    }
    if (json_has(in, "ca_file")) {
        v = json_str(in, "ca_file");
        r->ca_file = v && *v ? v : NULL;
        if (r->ca_file && (r->ca_file[0] != '/' || access(r->ca_file, R_OK)))
            e = err_add(e, E_INPUT, "invalid_ca_file", "ca_file",
                        "CA 证书文件应为服务器上可读的绝对路径");
    }
    if (json_has(in, "timeout_s"))
        r->timeout_s = json_int(in, "timeout_s", 10);
    if (json_has(in, "enabled"))
        r->enabled = json_bool(in, "enabled", true);
    if (json_has(in, "fail_after_s"))
        r->fail_after_s = json_int(in, "fail_after_s", 600);
    if (json_has(in, "stale_after_s"))
        r->stale_after_s = json_int(in, "stale_after_s", 1800);
    if ((v = json_str(in, "nodes"))) { /* 共享互认: the FK_NODE numbers behind the peer */
        char *n = arena_alloc(a, EXCHANGE_NODES_MAX + 1);
        err ne = exchange_nodes_parse(v, n);
        if (ne) /* collected with the other fields (err_collect_begin) */
            e = ne;
        else
            r->nodes = n;
    }
    json_t *ds = json_object_get(in, "datasets");
    if (ds) {
        r->datasets = 0;
        size_t i;
        json_t *x;
        json_array_foreach(ds, i, x)
        {
            int n = exchange_dataset_of(json_string_value(x) ? json_string_value(x) : "");
            if (n < 0) {
                e = err_add(e, E_INPUT, "invalid_dataset", "datasets", "第 %zu 项不是已知的数据集",
                            i + 1);
                break;
            }
            r->datasets |= 1ll << n;
        }
    }
    if ((v = json_str(in, "region"))) {
        enum region_level lv;
        int64_t code = regcode_parse(v, &lv);
        bool known = false;
        if (code > 0) {
            db_stmt *s;
            if (!db_prepare(d, "SELECT 1 FROM regions WHERE code = ?", &s)) {
                db_bind_int64(s, 1, code);
                if (db_row(s, &known))
                    known = false;
                db_done(s);
            }
        }
        if (code <= 0 || !known)
            e = err_add(e, E_INPUT, "invalid_region", "region", "区划不存在");
        else if (!scope_has(sc, code))
            e = err_add(e, E_INPUT, "region_out_of_scope", "region", "区划不在您的管辖范围内");
        r->region_code = code;
    }
    return e;
}

static err name_taken(void)
{
    return err_set(E_CONFLICT, "peer_name_taken", "name", "已有同名的对接系统");
}

/* Is the name used by another peer than id? */
static err check_name(db *d, const char *name, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d, "SELECT id FROM exchange_peers WHERE name = ? AND id <> ?", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, id);
    bool row;
    e = db_row(s, &row);
    db_done(s);
    return e ? e : row ? name_taken() : E_OK;
}

err exchange_peer_create(db *d, arena *a, const struct scope *sc, int64_t home, json_t *in,
                         int64_t user_id, int64_t *id_r)
{
    struct row r = {.timeout_s = 10,
                    .enabled = 1,
                    .region_code = home,
                    .fail_after_s = 600,
                    .stale_after_s = 1800};
    bool collecting = !err_collecting();
    if (collecting)
        err_collect_begin();
    err e = take(d, a, sc, in, &r);
    if (collecting)
        err_collect_end();
    if (e)
        return e;
    /* the government-affairs connector (seed 000 §6.3.1): a gov peer
     * syncs persons, returns, contacts, itineraries and home isolation
     * unless the administrator chose otherwise */
    if (!strcmp(r.kind, "gov") && !json_object_get(in, "datasets"))
        r.datasets = EXCHANGE_GOV_DATASETS;
    if ((e = check_name(d, r.name, 0)))
        return e;
    int64_t id = id_new(), now = now_ms();
    db_stmt *s;
    if ((e = db_prepare(d,
                        "INSERT INTO exchange_peers (id, name, kind, base_url, caller, key_enc, "
                        "peer_key, ca_file, timeout_s, enabled, datasets, region_code, "
                        "fail_after_s, stale_after_s, created_by, created_at, updated_at, nodes) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_int64(s, 1, id);
    db_bind_text(s, 2, r.name);
    db_bind_text(s, 3, r.kind);
    db_bind_text(s, 4, r.base_url);
    db_bind_text(s, 5, r.caller);
    if ((e = seal_bind(a, s, 6, L_PEER_KEY, r.key))) {
        db_done(s);
        return e;
    }
    db_bind_text(s, 7, r.peer_key);
    if (r.ca_file)
        db_bind_text(s, 8, r.ca_file);
    else
        db_bind_null(s, 8);
    db_bind_int64(s, 9, r.timeout_s);
    db_bind_int64(s, 10, r.enabled);
    db_bind_int64(s, 11, r.datasets);
    db_bind_int64(s, 12, r.region_code);
    db_bind_int64(s, 13, r.fail_after_s);
    db_bind_int64(s, 14, r.stale_after_s);
    db_bind_int64(s, 15, user_id);
    db_bind_int64(s, 16, now);
    db_bind_int64(s, 17, now);
    db_bind_text(s, 18, r.nodes ? r.nodes : "");
    if ((e = db_run(s, NULL)))
        return e;
    *id_r = id;
    return E_OK;
}

/* The stored row of peer id in sc (its key left out: updates keep it
 * unless given). */
static err load_row(db *d, arena *a, const struct scope *sc, int64_t id, struct row *r)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT name, kind, base_url, caller, peer_key, ca_file, timeout_s, "
                       "enabled, datasets, region_code, fail_after_s, stale_after_s "
                       "FROM exchange_peers WHERE id = ? AND region_code >= ? AND region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    if (!(e = db_row(s, &row)) && !row)
        e = err_set(E_NOT_FOUND, "peer_not_found", NULL, "对接系统不存在");
    if (!e) {
        r->name = arena_strdup(a, db_col_text(s, 0));
        r->kind = arena_strdup(a, db_col_text(s, 1));
        r->base_url = arena_strdup(a, db_col_text(s, 2));
        r->caller = arena_strdup(a, db_col_text(s, 3));
        r->peer_key = arena_strdup(a, db_col_text(s, 4));
        r->ca_file = db_col_null(s, 5) ? NULL : arena_strdup(a, db_col_text(s, 5));
        r->timeout_s = db_col_int64(s, 6);
        r->enabled = db_col_int64(s, 7);
        r->datasets = db_col_int64(s, 8);
        r->region_code = db_col_int64(s, 9);
        r->fail_after_s = db_col_int64(s, 10);
        r->stale_after_s = db_col_int64(s, 11);
    }
    db_done(s);
    return e;
}

err exchange_peer_update(db *d, arena *a, const struct scope *sc, int64_t id, json_t *in)
{
    struct row r = {0};
    err e = load_row(d, a, sc, id, &r);
    if (e)
        return e;
    bool collecting = !err_collecting();
    if (collecting)
        err_collect_begin();
    e = take(d, a, sc, in, &r);
    if (collecting)
        err_collect_end();
    if (e)
        return e;
    if ((e = check_name(d, r.name, id)))
        return e;
    db_stmt *s;
    if ((e = db_prepare(d,
                        r.key_given ? "UPDATE exchange_peers SET name = ?, kind = ?, base_url = ?, "
                                      "caller = ?, peer_key = ?, ca_file = ?, timeout_s = ?, "
                                      "enabled = ?, datasets = ?, region_code = ?, "
                                      "fail_after_s = ?, stale_after_s = ?, updated_at = ?, "
                                      "key_enc = ? WHERE id = ?"
                                    : "UPDATE exchange_peers SET name = ?, kind = ?, base_url = ?, "
                                      "caller = ?, peer_key = ?, ca_file = ?, timeout_s = ?, "
                                      "enabled = ?, datasets = ?, region_code = ?, "
                                      "fail_after_s = ?, stale_after_s = ?, updated_at = ? "
                                      "WHERE id = ?",
                        &s)))
        return e;
    db_bind_text(s, 1, r.name);
    db_bind_text(s, 2, r.kind);
    db_bind_text(s, 3, r.base_url);
    db_bind_text(s, 4, r.caller);
    db_bind_text(s, 5, r.peer_key);
    if (r.ca_file)
        db_bind_text(s, 6, r.ca_file);
    else
        db_bind_null(s, 6);
    db_bind_int64(s, 7, r.timeout_s);
    db_bind_int64(s, 8, r.enabled);
    db_bind_int64(s, 9, r.datasets);
    db_bind_int64(s, 10, r.region_code);
    db_bind_int64(s, 11, r.fail_after_s);
    db_bind_int64(s, 12, r.stale_after_s);
    db_bind_int64(s, 13, now_ms());
    int i = 14;
    if (r.key_given && (e = seal_bind(a, s, i++, L_PEER_KEY, r.key))) {
        db_done(s);
        return e;
    }
    db_bind_int64(s, i, id);
    if ((e = db_run(s, NULL)) || !r.nodes)
        return e;
    /* the node list (共享互认, sql/059) by its own statement, when given */
    if ((e = db_prepare(d, "UPDATE exchange_peers SET nodes = ? WHERE id = ?", &s)))
        return e;
    db_bind_text(s, 1, r.nodes);
    db_bind_int64(s, 2, id);
    return db_run(s, NULL);
}

err exchange_peer_delete(db *d, const struct scope *sc, int64_t id)
{
    db_stmt *s;
    err e = db_prepare(d,
                       "DELETE FROM exchange_peers WHERE id = ? AND region_code >= ? AND "
                       "region_code < ?",
                       &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    int64_t n = 0;
    if ((e = db_run(s, &n)))
        return e;
    if (!n)
        return err_set(E_NOT_FOUND, "peer_not_found", NULL, "对接系统不存在");
    const char *const sqls[] = {"DELETE FROM exchange_outbox WHERE peer_id = ?",
                                "DELETE FROM exchange_outbox_rejects WHERE peer_id = ?"};
    for (size_t k = 0; k < 2; k++) {
        if ((e = db_prepare(d, sqls[k], &s)))
            return e;
        db_bind_int64(s, 1, id);
        if ((e = db_run(s, NULL)))
            return e;
    }
    return E_OK;
}

static void set_time(json_t *o, const char *key, int64_t ms)
{
    if (ms <= 0) {
        json_object_set_new(o, key, json_null());
        return;
    }
    char t[CHINA_TIME_LEN];
    china_time(ms, t);
    json_object_set_new(o, key, json_string(t));
}

#define VIEW_COLS                                                                                  \
    "p.id, p.name, p.kind, p.base_url, p.caller, p.key_enc IS NOT NULL, p.peer_key, p.ca_file, "   \
    "p.timeout_s, p.enabled, p.datasets, p.region_code, g.name, p.fail_after_s, "                  \
    "p.stale_after_s, p.last_ok_at, p.last_fail_at, p.last_error, p.failing_since, p.nodes "       \
    "FROM exchange_peers p LEFT JOIN regions g ON g.code = p.region_code "

static json_t *view_json(db_stmt *s)
{
    json_t *o = json_object();
    json_set_id(o, "id", db_col_int64(s, 0));
    json_object_set_new(o, "name", json_string(db_col_text(s, 1)));
    json_object_set_new(o, "kind", json_string(db_col_text(s, 2)));
    json_object_set_new(o, "kind_label",
                        json_string(vocab_label_of(&exchange_peer_kind_vocab, db_col_text(s, 2))));
    json_object_set_new(o, "base_url", json_string(db_col_text(s, 3)));
    json_object_set_new(o, "caller", json_string(db_col_text(s, 4)));
    json_object_set_new(o, "key", json_string(db_col_int64(s, 5) ? "uploaded" : "server"));
    json_object_set_new(o, "peer_key", json_string(db_col_text(s, 6)));
    json_object_set_new(o, "ca_file",
                        db_col_null(s, 7) ? json_null() : json_string(db_col_text(s, 7)));
    json_object_set_new(o, "timeout_s", json_integer(db_col_int64(s, 8)));
    json_object_set_new(o, "enabled", json_boolean(db_col_int64(s, 9)));
    int64_t ds = db_col_int64(s, 10);
    json_t *arr = json_array();
    for (int i = 0; i < DS__COUNT; i++)
        if (ds & (1ll << i))
            json_array_append_new(arr, json_string(exchange_dataset_name(i)));
    json_object_set_new(o, "datasets", arr);
    json_set_region(o, db_col_int64(s, 11), db_col_text(s, 12));
    json_object_set_new(o, "fail_after_s", json_integer(db_col_int64(s, 13)));
    json_object_set_new(o, "stale_after_s", json_integer(db_col_int64(s, 14)));
    set_time(o, "last_ok_at", db_col_int64(s, 15));
    set_time(o, "last_fail_at", db_col_int64(s, 16));
    json_object_set_new(o, "last_error", json_string(db_col_text(s, 17)));
    json_object_set_new(o, "failing", json_boolean(db_col_int64(s, 18) > 0));
    set_time(o, "failing_since", db_col_int64(s, 18));
    json_object_set_new(o, "nodes", json_string(db_col_text(s, 19)));
    return o;
}

/* Add the outbox's state (and its total backlog) to a peer's view. */
static err with_outbox(db *d, arena *a, json_t *o)
{
    struct exchange_peer *p;
    err e = exchange_peer_load(d, a, id_parse(json_string_value(json_object_get(o, "id"))), &p);
    json_t *items = NULL;
    if (!e)
        e = exchange_outbox_state(d, p, &items);
    if (e)
        return e;
    int64_t backlog = 0;
    size_t i;
    json_t *x;
    json_array_foreach(items, i, x) backlog += json_integer_value(json_object_get(x, "backlog"));
    json_object_set_new(o, "backlog", json_integer(backlog));
    json_object_set_new(o, "outbox", items);
    return E_OK;
}

err exchange_peer_list(db *d, arena *a, const struct scope *sc, json_t **items_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " VIEW_COLS "WHERE p.region_code >= ? AND p.region_code < ? ORDER BY p.name",
        &s);
    if (e)
        return e;
    db_bind_int64(s, 1, sc->lo);
    db_bind_int64(s, 2, sc->hi);
    json_t *items = json_array();
    bool row;
    while (!(e = db_row(s, &row)) && row)
        json_array_append_new(items, view_json(s));
    db_done(s);
    size_t i;
    json_t *x;
    json_array_foreach(items, i, x) if (!e) e = with_outbox(d, a, x);
    if (e) {
        json_decref(items);
        return e;
    }
    *items_r = items;
    return E_OK;
}

err exchange_peer_get(db *d, arena *a, const struct scope *sc, int64_t id, json_t **out_r)
{
    db_stmt *s;
    err e = db_prepare(
        d, "SELECT " VIEW_COLS "WHERE p.id = ? AND p.region_code >= ? AND p.region_code < ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    db_bind_int64(s, 2, sc->lo);
    db_bind_int64(s, 3, sc->hi);
    bool row;
    json_t *o = NULL;
    if (!(e = db_row(s, &row)) && !row)
        e = err_set(E_NOT_FOUND, "peer_not_found", NULL, "对接系统不存在");
    if (!e)
        o = view_json(s);
    db_done(s);
    if (!e)
        e = with_outbox(d, a, o);
    json_t *rej = json_array();
    if (!e && !(e = db_prepare(d,
                               "SELECT dataset, seq, object_id, code, message, at FROM "
                               "exchange_outbox_rejects WHERE peer_id = ? ORDER BY at DESC, seq "
                               "DESC LIMIT 20",
                               &s))) {
        db_bind_int64(s, 1, id);
        while (!(e = db_row(s, &row)) && row) {
            json_t *x = json_object();
            json_object_set_new(x, "dataset", json_string(db_col_text(s, 0)));
            json_object_set_new(x, "seq", json_integer(db_col_int64(s, 1)));
            json_set_id(x, "object_id", db_col_int64(s, 2));
            json_object_set_new(x, "code", json_string(db_col_text(s, 3)));
            json_object_set_new(x, "message", json_string(db_col_text(s, 4)));
            set_time(x, "at", db_col_int64(s, 5));
            json_array_append_new(rej, x);
        }
        db_done(s);
    }
    if (e) {
        json_decref(o);
        json_decref(rej);
        return e;
    }
    json_object_set_new(o, "rejects", rej);
    *out_r = o;
    return E_OK;
}
