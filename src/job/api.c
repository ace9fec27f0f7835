/*
 * HTTP handler of background jobs:
 *
 *   GET /api/v1/jobs/{id}   {id, kind, status, done, total, result, created_at, updated_at}
 *
 * Refusals (another kind's job, out of scope) are audited.
 */
#include "app.h"
#include "job/job.h"
#include "security/audit.h"

static err get_job(struct req *r)
{
    int64_t id;
    struct job j;
    err e = req_param_id(r, 0, &id);
    if (e || (e = job_find(r->db, r->a, r->who, id, &j)))
        return audit_refusal(r->db, r->who, r->ip, "job.read", "job", id, e, NULL);
    json_t *o = json_object();
    json_set_id(o, "id", j.id);
    json_object_set_new(o, "kind", json_string(j.kind));
    json_object_set_new(o, "status", json_string(j.status));
    json_object_set_new(o, "done", json_integer(j.done));
    json_object_set_new(o, "total", json_integer(j.total));
    json_t *res = *j.result ? json_loads(j.result, 0, NULL) : NULL;
    json_object_set_new(o, "result", res ? res : json_null());
    json_set_id(o, "user_id", j.user_id);
    json_object_set_new(o, "created_at", json_integer(j.created_at));
    json_object_set_new(o, "updated_at", json_integer(j.updated_at));
    return reply_json(r, 200, o);
}

const struct route job_routes[] = {
    {M_GET, "/api/v1/jobs/{id}", get_job, PERM_NONE, 0, NULL, "后台任务进度", "job", 0},
};
const size_t job_routes_n = sizeof job_routes / sizeof job_routes[0];
