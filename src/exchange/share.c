/*
 * Shared recognition, 共享互认 (contract: exchange.h "shared recognition";
 * docs/exchange.md "Shared recognition (共享互认)"): a health code issued by
 * one instance of the federation honoured at another's gate.
 *
 * Health tokens are HMAC-SM3 under a key derived from each instance's own
 * master key, so only the issuer can tell a real one from a forgery. A
 * token that is "forged" here is therefore asked about: its subject, read
 * without trusting it (token_decode_untrusted), is an id whose node bits
 * name the issuer (base/id.h); the call goes down to the child peer whose
 * `nodes` hold that node, or up to the parent, and the issuer answers the
 * person's current code. Each hop signs the answer again (exchange_handle)
 * and keeps it in a small in-memory cache until the answer's valid_until,
 * which the issuer bounds by FK_SHARE_CACHE_S: a code that turns red at the
 * issuer is seen everywhere within that bound.
 *
 * Loops cannot form: the body carries the nodes it passed through (`via`)
 * and a peer holding one of them is never asked; `hops` stops a
 * misconfigured tree after SHARE_HOPS_MAX calls; the issuer's own node is
 * never routed (its "forged" is final).
 */
#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/id.h"
#include "base/json.h"
#include "base/log.h"
#include "base/regcode.h"
#include "code/code.h"
#include "exchange/exchange.h"
#include "exchange/internal.h"
#include "exchange/peer.h"
#include "person/person.h"
#include "region/region.h"
#include "security/audit.h"
#include "security/mask.h"
#include "security/token.h"

#define NODE_MAX    1023 /* base/id.h: 10 bits */
#define VERIFY_PATH "/exchange/v1/codes/verify"

static int cache_s = 60;

void exchange_share_configure(int s)
{
    cache_s = s > 0 ? s : 60;
}

/* ---- node lists ----------------------------------------------------------------------- */

static err bad_nodes(void)
{
    return err_set(E_INPUT, "invalid_nodes", "nodes",
                   "节点编号应为0到1023的整数或区间，用逗号分隔，如“32”或“32,40-47”");
}

/* A number 0..NODE_MAX at *p, advancing it; -1 when there is none. */
static int number(const char **p)
{
    if (!isdigit((unsigned char)**p))
        return -1;
    int v = 0;
    while (isdigit((unsigned char)**p)) {
        v = v * 10 + (**p - '0');
        if (v > NODE_MAX)
            return -1;
        (*p)++;
    }
    return v;
}

err exchange_nodes_parse(const char *s, char out[EXCHANGE_NODES_MAX + 1])
{
    char tight[4 * EXCHANGE_NODES_MAX + 1];
    size_t n = 0;
    for (const char *c = s ? s : ""; *c; c++) {
        if (*c == ' ' || *c == '\t')
            continue;
        if (n + 1 >= sizeof tight)
            return bad_nodes();
        tight[n++] = *c;
    }
    tight[n] = '\0';
    char buf[EXCHANGE_NODES_MAX + 1] = "";
    size_t len = 0;
    for (const char *p = tight; *p;) {
        int lo = number(&p), hi = lo;
        if (lo < 0)
            return bad_nodes();
        if (*p == '-') {
            p++;
            if ((hi = number(&p)) < lo)
                return bad_nodes();
        }
        if (*p == ',' && p[1])
            p++;
        else if (*p)
            return bad_nodes();
        int w = lo == hi ? snprintf(buf + len, sizeof buf - len, "%s%d", len ? "," : "", lo)
                         : snprintf(buf + len, sizeof buf - len, "%s%d-%d", len ? "," : "", lo, hi);
        if (w < 0 || (size_t)w >= sizeof buf - len)
            return bad_nodes();
        len += (size_t)w;
    }
    memcpy(out, buf, len + 1);
    return E_OK;
}

bool exchange_nodes_has(const char *list, int node)
{
    for (const char *p = list ? list : ""; *p;) {
        int lo = number(&p), hi = lo;
        if (lo < 0)
            return false;
        if (*p == '-') {
            p++;
            hi = number(&p);
        }
        if (node >= lo && node <= hi)
            return true;
        if (*p != ',')
            return false;
        p++;
    }
    return false;
}

/* ---- the cache ------------------------------------------------------------------------------
 *
 * SHARE_CACHE_MAX answers, 4-way set-associative by a hash of the token,
 * least recently used out of its set. An answer is kept as its JSON text
 * until its deadline; red and yellow answers too (they are what a gate most
 * needs fast). One mutex: a lookup is a hash, four compares and a copy. */

#define WAYS 4
#define SETS (SHARE_CACHE_MAX / WAYS)

struct slot {
    char token[TOKEN_MAX];
    char *answer; /* malloc'd JSON text, NULL: empty */
    int64_t until;
    uint64_t used;
};

static struct slot cache[SETS][WAYS];
static uint64_t ticks;
static pthread_mutex_t cache_mu = PTHREAD_MUTEX_INITIALIZER;

static struct slot *set_of(const char *token)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const char *c = token; *c; c++)
        h = (h ^ (uint8_t)*c) * 16777619u;
    return cache[h % SETS];
}

/* A copy of the answer cached for token and still valid at now, or NULL. */
json_t *exchange_share_cache_get(const char *token, int64_t now)
{
    json_t *v = NULL;
    pthread_mutex_lock(&cache_mu);
    struct slot *set = set_of(token);
    for (int i = 0; i < WAYS; i++)
        if (set[i].answer && set[i].until > now && !strcmp(set[i].token, token)) {
            set[i].used = ++ticks;
            v = json_loads(set[i].answer, 0, NULL);
            break;
        }
    pthread_mutex_unlock(&cache_mu);
    return v;
}

void exchange_share_cache_put(const char *token, json_t *answer, int64_t until)
{
    if (strlen(token) >= TOKEN_MAX)
        return;
    char *text = json_dumps(answer, JSON_COMPACT);
    if (!text)
        return; /* not cached: the next scan asks again */
    pthread_mutex_lock(&cache_mu);
    struct slot *set = set_of(token), *victim = &set[0];
    for (int i = 0; i < WAYS; i++) {
        if (set[i].answer && !strcmp(set[i].token, token)) {
            victim = &set[i];
            break;
        }
        if (!set[i].answer || set[i].used < victim->used)
            victim = &set[i];
        if (!victim->answer)
            break;
    }
    free(victim->answer);
    snprintf(victim->token, sizeof victim->token, "%s", token);
    victim->answer = text;
    victim->until = until;
    victim->used = ++ticks;
    pthread_mutex_unlock(&cache_mu);
}

void exchange_share_cache_clear(void)
{
    pthread_mutex_lock(&cache_mu);
    for (int s = 0; s < SETS; s++)
        for (int i = 0; i < WAYS; i++) {
            free(cache[s][i].answer);
            cache[s][i] = (struct slot){0};
        }
    pthread_mutex_unlock(&cache_mu);
}

size_t exchange_share_cache_size(void)
{
    size_t n = 0;
    pthread_mutex_lock(&cache_mu);
    for (int s = 0; s < SETS; s++)
        for (int i = 0; i < WAYS; i++)
            n += cache[s][i].answer != NULL;
    pthread_mutex_unlock(&cache_mu);
    return n;
}

/* ---- answering ---------------------------------------------------------------------------- */

static int64_t min64(int64_t a, int64_t b)
{
    return a < b ? a : b;
}

/* The answer for a token that verified here: the person inside sc (the
 * caller's granted regions) and their current code. */
static err answer_local(db *d, arena *a, const struct scope *sc, const struct token *t,
                        json_t **out_r)
{
    struct person p;
    err e = person_find_brief(d, a, sc, t->subject, &p);
    if (e == E_NOT_FOUND)
        return err_set(E_NOT_FOUND, "unknown_person", "token", "该健康码对应的人员不存在");
    if (e)
        return e;
    struct code_current c;
    if ((e = code_of(d, a, p.id, &c)))
        return e;
    const char *street = "";
    int64_t sc_code = regcode_at_most(p.region_code, LEVEL_STREET);
    if ((e = region_path(d, sc_code, LEVEL_STREET, a, &street)))
        return e;
    int64_t now = now_ms(), until = now + cache_s * 1000LL;
    if (t->expires_at)
        until = min64(until, t->expires_at);
    json_t *reasons = json_loads(c.reasons ? c.reasons : "[]", 0, NULL);
    json_t *o = json_object();
    json_set_id(o, "person_id", p.id);
    json_object_set_new(o, "name", json_string(mask_name(a, p.name)));
    json_object_set_new(o, "colour", json_string(code_colour_name(c.colour)));
    json_object_set_new(o, "label", json_string(code_colour_label(c.colour)));
    json_object_set_new(o, "reasons", json_is_array(reasons) ? reasons : json_array());
    if (reasons && !json_is_array(reasons))
        json_decref(reasons);
    json_object_set_new(o, "region_name", json_string(street));
    json_object_set_new(o, "issuer", json_integer(id_node()));
    json_object_set_new(o, "valid_until", json_integer(until));
    *out_r = o;
    return E_OK;
}

/* Is the answer of a peer one we can use (and pass on)? */
static bool answer_ok(json_t *o)
{
    const char *colour = json_str(o, "colour");
    return json_is_object(o) && id_parse(json_str(o, "person_id")) > 0 && colour &&
           code_colour_parse(colour) >= 0 && json_is_string(json_object_get(o, "name")) &&
           json_is_integer(json_object_get(o, "issuer")) &&
           json_is_integer(json_object_get(o, "valid_until"));
}

static err unavailable(void)
{
    return err_set(E_UNAVAILABLE, "share_unavailable", NULL,
                   "无法向上级平台核验该健康码，请稍后重试");
}

/* A peer's refusal as ours: a token's reason, an unknown issuer or person,
 * the hop limit pass through with their code and text, so the gate shows
 * the real reason; anything else is "unavailable" (the reason logged). */
static err refusal_of(const struct exchange_peer *p, const struct exchange_peer_reply *rep)
{
    json_t *b = rep->body ? json_loads(rep->body, 0, NULL) : NULL;
    json_t *er = json_object_get(b, "error");
    const char *slug = json_str(er, "code"), *msg = json_str(er, "message"),
               *field = json_str(er, "field");
    err code = rep->status == 400   ? E_INPUT
               : rep->status == 404 ? E_NOT_FOUND
               : rep->status == 409 ? E_CONFLICT
                                    : E_OK;
    err e;
    if (code && slug && msg) {
        e = err_set(code, slug, field, "%s", msg);
    } else {
        char status[16];
        snprintf(status, sizeof status, "%d", rep->status);
        log_event(LOG_WARN, "share_peer_refused", "peer", p->name, "status", status, "code",
                  slug ? slug : "", NULL);
        e = unavailable();
    }
    json_decref(b);
    return e;
}

/* Does peer id's node list hold one of the nodes passed through? */
static err peer_visited(db *d, int64_t id, const int *via, size_t nvia, bool *visited_r)
{
    *visited_r = false;
    db_stmt *s;
    err e = db_prepare(d, "SELECT nodes FROM exchange_peers WHERE id = ?", &s);
    if (e)
        return e;
    db_bind_int64(s, 1, id);
    bool row;
    if (!(e = db_row(s, &row)) && row)
        for (size_t i = 0; i < nvia; i++)
            if (exchange_nodes_has(db_col_text(s, 0), via[i]))
                *visited_r = true;
    db_done(s);
    return e;
}

/* The enabled fangkong peer whose nodes hold node and none of via; 0 none. */
static err child_of(db *d, int node, const int *via, size_t nvia, int64_t *id_r)
{
    *id_r = 0;
    db_stmt *s;
    err e = db_prepare(d,
                       "SELECT id, nodes FROM exchange_peers WHERE kind = 'fangkong' AND "
                       "enabled = 1 AND nodes <> '' ORDER BY id",
                       &s);
    if (e)
        return e;
    bool row;
    while (!*id_r && !(e = db_row(s, &row)) && row) {
        const char *nodes = db_col_text(s, 1);
        bool back = false;
        for (size_t i = 0; i < nvia; i++)
            back = back || exchange_nodes_has(nodes, via[i]);
        if (!back && exchange_nodes_has(nodes, node))
            *id_r = db_col_int64(s, 0);
    }
    db_done(s);
    return e;
}

/* The peer to ask about a token of node: the child holding it, else the
 * parent; *p_r NULL when neither (or only where the call came from). */
static err next_hop(db *d, arena *a, int node, const int *via, size_t nvia,
                    struct exchange_peer **p_r)
{
    *p_r = NULL;
    int64_t id;
    err e = child_of(d, node, via, nvia, &id);
    if (e)
        return e;
    if (id)
        return exchange_peer_load(d, a, id, p_r);
    const char *parent = exchange_fed_parent();
    if (!*parent)
        return E_OK;
    struct exchange_peer *p;
    if ((e = exchange_peer_named(d, a, parent, &p)))
        return e == E_NOT_FOUND ? (err_clear(), E_OK) : e;
    bool back;
    if (!p->enabled || strcmp(p->kind, "fangkong") ||
        (e = peer_visited(d, p->id, via, nvia, &back)))
        return e;
    if (!back)
        *p_r = p;
    return E_OK;
}

/* Ask the issuer, through the next hop, about a token that is not ours. */
static err route(db *d, arena *a, const char *token, int64_t hops, const int *via, size_t nvia,
                 json_t **out_r)
{
    struct token u;
    err e = token_decode_untrusted(token, &u); /* untrusted: routing only */
    if (e)
        return e;
    int node = (int)((uint64_t)u.subject >> 12 & NODE_MAX);
    if (node == id_node()) /* ours, and it failed here: the issuer's word is final */
        return err_set(E_INPUT, "token_forged", "token", "二维码无效（签名不符），可能是伪造的");
    int64_t now = now_ms();
    if ((*out_r = exchange_share_cache_get(token, now)))
        return E_OK;
    struct exchange_peer *p;
    if ((e = next_hop(d, a, node, via, nvia, &p)))
        return e;
    if (!p)
        return err_set(E_NOT_FOUND, "share_issuer_unknown", "token",
                       "无法确定该健康码的签发平台，请核对后重新出示");
    if (hops >= SHARE_HOPS_MAX)
        return err_set(E_CONFLICT, "share_too_many_hops", NULL,
                       "健康码核验转发次数超过%d次，请检查平台对接配置", SHARE_HOPS_MAX);
    json_t *v = json_array();
    for (size_t i = 0; i < nvia; i++)
        json_array_append_new(v, json_integer(via[i]));
    json_array_append_new(v, json_integer(id_node()));
    json_t *body =
        json_pack("{s:s,s:I,s:o}", "token", token, "hops", (json_int_t)(hops + 1), "via", v);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text)
        return err_set(E_NOMEM, NULL, NULL, NULL);
    struct exchange_peer_reply rep;
    e = exchange_peer_call(d, a, p, "POST", VERIFY_PATH, text, NULL, &rep);
    free(text);
    if (e) {
        log_event(LOG_WARN, "share_peer_failed", "peer", p->name, "slug", err_last()->slug, NULL);
        return unavailable();
    }
    if (rep.status != 200)
        return refusal_of(p, &rep);
    json_t *o = json_loads(rep.body ? rep.body : "", 0, NULL);
    if (!answer_ok(o)) {
        json_decref(o);
        log_event(LOG_WARN, "share_bad_answer", "peer", p->name, NULL);
        return unavailable();
    }
    int64_t until =
        min64(json_integer_value(json_object_get(o, "valid_until")), now_ms() + cache_s * 1000LL);
    exchange_share_cache_put(token, o, until);
    *out_r = o;
    return E_OK;
}

static bool forged(err e)
{
    /* token_key_retired: not verified under any key held either (keys.md) */
    return e == E_INPUT && (!strcmp(err_last()->slug, "token_forged") ||
                            !strcmp(err_last()->slug, "token_key_retired"));
}

err exchange_share_lookup(db *d, arena *a, const char *token, json_t **out_r)
{
    return route(d, a, token, 0, NULL, 0, out_r);
}

bool exchange_share_enabled(db *d)
{
    if (*exchange_fed_parent())
        return true;
    db_stmt *s;
    bool row = false;
    if (db_prepare(d,
                   "SELECT 1 FROM exchange_peers WHERE kind = 'fangkong' AND enabled = 1 AND "
                   "nodes <> ''",
                   &s))
        return false;
    if (db_row(s, &row))
        row = false;
    db_done(s);
    return row;
}

err exchange_share_seen(db *d, json_t *ans)
{
    db_stmt *s;
    err e = db_prepare(
        d,
        "INSERT INTO exchange_share_people (person_id, masked_name, region_name, issuer_node, "
        "colour, seen_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (person_id) DO UPDATE SET "
        "masked_name = excluded.masked_name, region_name = excluded.region_name, "
        "issuer_node = excluded.issuer_node, colour = excluded.colour, seen_at = excluded.seen_at",
        &s);
    if (e)
        return e;
    const char *region = json_str(ans, "region_name");
    db_bind_int64(s, 1, id_parse(json_str(ans, "person_id")));
    db_bind_text(s, 2, json_str(ans, "name"));
    db_bind_text(s, 3, region ? region : "");
    db_bind_int64(s, 4, json_integer_value(json_object_get(ans, "issuer")));
    db_bind_text(s, 5, json_str(ans, "colour"));
    db_bind_int64(s, 6, now_ms());
    return db_run(s, NULL);
}

/* ---- the operation ------------------------------------------------------------------------ */

/* Check the body: token, hops (>= 0), via (nodes, at most one per hop). */
static err body_of(json_t *in, const char **token_r, int64_t *hops_r, int *via, size_t *nvia_r)
{
    json_t *t = json_object_get(in, "token"), *h = json_object_get(in, "hops"),
           *v = json_object_get(in, "via");
    if (!json_is_string(t) || !json_string_length(t) || json_string_length(t) >= TOKEN_MAX)
        return err_set(E_INPUT, t ? "invalid_value" : "required", "token", "token 应为健康码文本");
    if (h && (!json_is_integer(h) || json_integer_value(h) < 0 || json_integer_value(h) > 100))
        return err_set(E_INPUT, "invalid_value", "hops", "hops 应为非负整数");
    size_t n = 0, i;
    json_t *x;
    if (v && (!json_is_array(v) || json_array_size(v) > SHARE_HOPS_MAX + 1))
        return err_set(E_INPUT, "invalid_value", "via", "via 应为节点编号数组");
    json_array_foreach(v, i, x)
    {
        if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > NODE_MAX)
            return err_set(E_INPUT, "invalid_value", "via", "via 应为节点编号数组");
        via[n++] = (int)json_integer_value(x);
    }
    *token_r = json_string_value(t);
    *hops_r = h ? json_integer_value(h) : 0;
    *nvia_r = n;
    return E_OK;
}

static err verify_op(struct exchange_ctx *x, json_t *in, json_t **out_r)
{
    const char *token = NULL;
    int64_t hops = 0;
    int via[SHARE_HOPS_MAX + 1];
    size_t nvia = 0;
    err e = body_of(in, &token, &hops, via, &nvia);
    if (e)
        return e;
    struct token t;
    json_t *out = NULL;
    bool here = (e = token_verify(token, TOKEN_HEALTH, now_ms(), &t)) == E_OK;
    if (here)
        e = answer_local(x->d, x->a, &x->who.scope, &t, &out);
    else if (forged(e))
        e = route(x->d, x->a, token, hops, via, nvia, &out);
    if (e)
        return e;
    /* the caller's account read a person's code (masked), as a gate's scan
     * is audited; a relay names the issuer's person id */
    char detail[48];
    snprintf(detail, sizeof detail, "view=masked,%s=%lld", here ? "issuer" : "relay",
             (long long)json_integer_value(json_object_get(out, "issuer")));
    struct audit_entry ae = {.user_id = x->who.user_id,
                             .username = x->who.username,
                             .role = "exchange_client",
                             .action = "exchange.codes.verify",
                             .object_type = "person",
                             .object_id = id_parse(json_str(out, "person_id")),
                             .result = "ok",
                             .detail = detail};
    if ((e = audit_log(x->d, &ae))) {
        json_decref(out);
        return e;
    }
    *out_r = out;
    return E_OK;
}

static const struct exchange_op share_ops[] = {
    {"codes.verify", "POST", VERIFY_PATH, DS_CODES, false, verify_op,
     "健康码共享互认核验（签发平台答复当前码色，经上级平台转发）", true},
};

err exchange_share_register(void)
{
    return exchange_ops_add(share_ops, sizeof share_ops / sizeof share_ops[0]);
}
