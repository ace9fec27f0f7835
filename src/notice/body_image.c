/*
 * Images inside a notice's or an article's body (notice.h "Body images").
 *
 * The sanitiser (base/html.h) keeps an <img> only with src
 * "/api/v1/attachments/<digits>" and writes it back canonically as
 * ` src="..."` (a literal `"` in text is always written &quot;), so the
 * stored form is found by a plain search of `src="/api/v1/attachments/`.
 * That form is read by nobody but the uploader (attach_get), so the body
 * is never shown as stored: every reply rebases the images onto the
 * record's own route, which serves an attachment only while the record
 * holds it AND its body names it.
 */
#include <stdio.h>
#include <string.h>

#include "attach/attach.h"
#include "base/json.h"
#include "notice/notice.h"

static const char stored_src[] = "src=\"" BODY_IMAGE_SRC;

/* the id after the stored prefix at p (digits up to the closing quote), 0
 * when it is not one; *end_r past the digits */
static int64_t id_at(const char *p, const char **end_r)
{
    char buf[24];
    size_t n = 0;
    while (p[n] >= '0' && p[n] <= '9' && n < sizeof buf - 1) {
        buf[n] = p[n];
        n++;
    }
    buf[n] = 0;
    *end_r = p + n;
    return p[n] == '"' ? id_parse(buf) : 0;
}

size_t body_image_ids(const char *body, int64_t *ids, size_t max, bool *bad_r)
{
    size_t n = 0;
    *bad_r = false;
    for (const char *p = body; (p = strstr(p, stored_src));) {
        const char *end;
        int64_t id = id_at(p + sizeof stored_src - 1, &end);
        p = end;
        if (id <= 0) {
            *bad_r = true;
            continue;
        }
        bool seen = false;
        for (size_t i = 0; i < n && !seen; i++)
            seen = ids[i] == id;
        if (seen)
            continue;
        if (n == max) {
            *bad_r = true;
            continue;
        }
        ids[n++] = id;
    }
    return n;
}

bool body_image_has(const char *body, int64_t aid)
{
    for (const char *p = body; (p = strstr(p, stored_src));) {
        const char *end;
        if (id_at(p + sizeof stored_src - 1, &end) == aid)
            return true;
        p = end;
    }
    return false;
}

/* s with every occurrence of `from` replaced by `to` */
static const char *replace_all(arena *a, const char *s, const char *from, const char *to)
{
    size_t fl = strlen(from), tl = strlen(to), count = 0;
    for (const char *p = s; (p = strstr(p, from)); p += fl)
        count++;
    if (!count)
        return s;
    size_t n = strlen(s) + count * tl + 1; /* at least what is written */
    char *out = arena_alloc(a, n), *o = out;
    if (!out)
        return s;
    for (const char *p = s, *q; (q = strstr(p, from)); p = q + fl) {
        memcpy(o, p, (size_t)(q - p));
        o += q - p;
        memcpy(o, to, tl);
        o += tl;
        s = q + fl;
    }
    memcpy(o, s, strlen(s) + 1);
    return out;
}

const char *body_image_rebase(arena *a, const char *body, const char *route, int64_t id)
{
    char to[96];
    snprintf(to, sizeof to, "src=\"%s/%lld/images/", route, (long long)id);
    return replace_all(a, body, stored_src, to);
}

const char *body_image_unbase(arena *a, const char *raw, const char *route, int64_t id)
{
    char from[96];
    snprintf(from, sizeof from, "%s/%lld/images/", route, (long long)id);
    return replace_all(a, raw, from, BODY_IMAGE_SRC);
}

err body_image_sync(db *d, const struct principal *who, const char *body, const char *owner_kind,
                    int64_t owner_id, int64_t region_code)
{
    int64_t ids[ATTACH_PER_OWNER_MAX];
    bool bad;
    size_t n = body_image_ids(body, ids, ATTACH_PER_OWNER_MAX, &bad);
    if (bad)
        return err_set(E_INPUT, "invalid_attachment", "body",
                       "正文图片须为本人上传的图片，且不超过 %d 张", ATTACH_PER_OWNER_MAX);
    json_t *held;
    err e = attach_list(d, owner_kind, owner_id, &held);
    if (e)
        return e;
    /* first let go of what the body no longer shows (frees the record's
     * quota), remembering what it keeps */
    bool kept[ATTACH_PER_OWNER_MAX] = {0};
    size_t i;
    json_t *it;
    json_array_foreach(held, i, it)
    {
        int64_t aid = id_parse(json_string_value(json_object_get(it, "id")));
        size_t k = 0;
        while (k < n && ids[k] != aid)
            k++;
        if (k < n)
            kept[k] = true;
        else if ((e = attach_delete_one_owned(d, aid, owner_kind, owner_id)))
            break;
    }
    json_decref(held);
    /* then take the new ones: only the writer's own fresh uploads */
    for (size_t k = 0; k < n && !e; k++) {
        if (kept[k])
            continue;
        struct attach_meta m;
        e = attach_meta(d, who, ids[k], &m);
        if (e == E_NOT_FOUND || (!e && (m.class != ATTACH_IMAGE || m.owner_kind[0])))
            e = E_INPUT;
        else if (!e)
            e = attach_claim(d, who, ids[k], owner_kind, owner_id, region_code, "body");
        if (e == E_INPUT)
            e = err_set(E_INPUT, "invalid_attachment", "body",
                        "正文图片须为本人上传的图片，且不超过 %d 张", ATTACH_PER_OWNER_MAX);
    }
    return e;
}
