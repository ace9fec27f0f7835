/*
 * The one table from error codes to HTTP statuses, and the error body.
 */
#include "http/http.h"

static const int statuses[E__COUNT] = {
    [E_OK] = 200,
    [E_INPUT] = 400,
    [E_AUTH] = 401,
    [E_FORBIDDEN] = 403,
    [E_NOT_FOUND] = 404,
    [E_METHOD] = 405,
    [E_TIMEOUT] = 408,
    [E_CONFLICT] = 409,
    [E_TOO_LARGE] = 413,
    [E_URI_TOO_LONG] = 414,
    [E_HEADERS_TOO_LARGE] = 431,
    [E_UNSUPPORTED] = 415,
    [E_LOCKED] = 423,
    [E_RATE] = 429,
    [E_NOMEM] = 500,
    [E_DB] = 500,
    [E_CRYPTO] = 500,
    [E_IO] = 500,
    [E_INTERNAL] = 500,
    [E_UNAVAILABLE] = 503,
};

int http_status(err code)
{
    return (unsigned)code < E__COUNT && statuses[code] ? statuses[code] : 500;
}

json_t *http_error_body(err code)
{
    const struct err_detail *d = err_last();
    bool detailed = d->code == code && d->slug[0];
    /* server-side failures never describe themselves to the client; a 503
     * (busy, a dependency down) says what to do, and its details are
     * written for the client */
    if (http_status(code) >= 500 && code != E_UNAVAILABLE)
        detailed = false;
    json_t *e = json_object();
    json_object_set_new(e, "code", json_string(detailed ? d->slug : err_slug(code)));
    json_object_set_new(e, "message",
                        json_string(detailed && d->message[0] ? d->message : err_message(code)));
    if (detailed && d->field[0]) {
        json_object_set_new(e, "field", json_string(d->field));
        /* every field at fault, the first one included, so a form marks
         * them all at once */
        json_t *all = json_array();
        json_array_append_new(all, json_pack("{s:s,s:s,s:s}", "field", d->field, "code", d->slug,
                                             "message", d->message));
        for (int i = 0; code == E_INPUT && i < d->nmore; i++)
            json_array_append_new(all, json_pack("{s:s,s:s,s:s}", "field", d->more[i].field, "code",
                                                 d->more[i].slug, "message", d->more[i].message));
        json_object_set_new(e, "fields", all);
    }
    if (detailed && d->ref && code == E_CONFLICT)
        json_set_id(e, "existing_id", d->ref);
    if (detailed && d->ref && code == E_LOCKED)
        json_object_set_new(e, "locked_until", json_integer(d->ref));
    json_t *body = json_object();
    json_object_set_new(body, "error", e);
    return body;
}
