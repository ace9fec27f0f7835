/* Request bodies as the server checks them: the JSON parser and the body
 * schema of a real route (the app's whole route table). The first byte picks
 * the route among those that take a JSON body; the rest is the body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "app.h"
#include "base/error.h"
#include "base/json.h"
#include "http/http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static const struct route *with_body[HTTP_ROUTES_MAX];
static size_t n_with_body;

static void load_routes(void)
{
    size_t n;
    if (app_routes())
        abort();
    const struct route *const *all = router_all(&n);
    for (size_t i = 0; i < n && n_with_body < sizeof with_body / sizeof *with_body; i++)
        if (all[i]->body && !(all[i]->flags & ROUTE_RAW_BODY))
            with_body[n_with_body++] = all[i];
    if (n_with_body < 20) /* the table did not load: fuzzing nothing would pass */
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    if (!n_with_body)
        load_routes();
    if (n < 1)
        return 0;
    const struct route *rt = with_body[data[0] % n_with_body];
    json_t *j = NULL;
    if (json_parse_body((const char *)data + 1, n - 1, &j) == E_OK) {
        (void)json_check(j, rt->body, false); /* POST: required fields */
        (void)json_check(j, rt->body, true);  /* PATCH: only those given */
        json_decref(j);
    }
    err_clear();
    return 0;
}
