/*
 * GET /api/v1/vocabularies (vocab/vocab.h): the capabilities' vocabulary
 * tables as one JSON document. Only this folder knows all of them; no
 * capability includes it.
 */
#include "vocab/vocab.h"

#include <assert.h>
#include <string.h>

#include "alert/alert.h"
#include "app.h"
#include "base/validate.h"
#include "base/vocab.h"
#include "case/case.h"
#include "code/code.h"
#include "commission/commission.h"
#include "device/device.h"
#include "health/health.h"
#include "exchange/peer.h"
#include "monitor/monitor.h"
#include "nat/nat.h"
#include "notice/notice.h"
#include "person/person.h"
#include "place/place.h"
#include "publish/publish.h"
#include "security/rbac.h"
#include "task/task.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"
#include "venue/venue.h"
#include "video/video.h"
#include "visitor/visitor.h"
#include "supply/supply.h"
#include "service/service.h"
#include "medical/medical.h"
#include "enterprise/vocab.h"

static const struct vocab *const vocabs[] = {
    &person_status_vocab,
    &person_category_vocab,
    &person_gender_vocab,
    &id_type_vocab,
    &vulnerable_vocab,
    &person_source_vocab,
    &code_colour_vocab,
    &zone_kind_vocab,
    &place_kind_vocab,
    &venue_kind_vocab,
    &venue_direction_vocab,
    &device_kind_vocab,
    &visitor_status_vocab,
    &vehicle_kind_vocab,
    &alert_kind_vocab,
    &alert_level_vocab,
    &perm_area_vocab,
    &observe_kind_vocab,
    &case_source_vocab,
    &observe_state_vocab,
    &release_status_vocab,
    &room_state_vocab,
    &case_severity_vocab,
    &infection_route_vocab,
    &incident_category_vocab,
    &incident_state_vocab,
    &incident_outcome_vocab,
    &routing_action_vocab,
    &case_action_vocab,
    &task_state_vocab,
    &task_priority_vocab,
    &check_by_vocab,
    &symptom_vocab,
    &nat_site_kind_vocab,
    &nat_site_state_vocab,
    &nat_tube_kind_vocab,
    &nat_tube_state_vocab,
    &nat_box_state_vocab,
    &nat_result_vocab,
    &nat_outcome_vocab,
    &nat_retest_kind_vocab,
    &nat_retest_state_vocab,
    &nat_round_kind_vocab,
    &commission_class_vocab,
    &trip_mode_vocab,
    &trip_waypoint_kind_vocab,
    &trip_source_vocab,
    &trace_class_vocab,
    &trace_reason_vocab,
    &case_link_kind_vocab,
    &cluster_status_vocab,
    /* the camera ledger */
    &camera_kind_vocab,
    &camera_object_vocab,
    &camera_state_vocab,
    &monitor_kind_vocab,
    &exchange_peer_kind_vocab,
    &publish_template_vocab,
    &publish_block_vocab,
    &publish_state_vocab,
    &feed_kind_vocab,
    &feed_state_vocab,
    /* notices (docs/community.md) */
    &notice_audience_vocab,
    /* supplies and dispatch */
    &supply_category_vocab,
    &supply_requester_vocab,
    &supply_urgency_vocab,
    &supply_request_state_vocab,
    &supply_delivery_state_vocab,
    &supply_report_kind_vocab,
    /* articles and polls (docs/community.md) */
    &article_kind_vocab,
    &poll_qtype_vocab,
    /* community services: help requests, elderly check-in (docs/community-services.md) */
    &help_kind_vocab,
    &help_state_vocab,
    &care_feeling_vocab,
    &clue_category_vocab,
    /* disinfection and inspection */
    &inspect_object_kind_vocab,
    &inspect_record_kind_vocab,
    &inspect_result_vocab,
    &inspect_unit_vocab,
    /* medical resources */
    &medical_kind_vocab,
    &medical_level_vocab,
    /* enterprises resuming work (docs/enterprise.md) */
    &clockin_symptom_vocab,
    &decl_transport_vocab,
    &resume_status_vocab,
};

/* {"label", "items": [{value, label}]} of v, holes skipped; `extra`
 * (may be NULL) adds members to item i. */
static json_t *vocab_json(const struct vocab *v, void (*extra)(json_t *item, size_t i))
{
    json_t *items = json_array();
    for (size_t i = 0; i < v->n; i++) {
        if (!v->words[i].name)
            continue;
        json_t *o = json_pack("{s:s,s:s}", "value", v->words[i].name, "label",
                              v->words[i].label ? v->words[i].label : "");
        if (extra)
            extra(o, i);
        json_array_append_new(items, o);
    }
    return json_pack("{s:s,s:o}", "label", v->label, "items", items);
}

/* A permission's group: the part of its name before the dot, a value of
 * permission_groups ("self" has no dot: it is its own group). */
static void perm_group(json_t *item, size_t i)
{
    const char *name = perm_vocab.words[i].name;
    const char *dot = strchr(name, '.');
    json_object_set_new(item, "group",
                        dot ? json_stringn(name, (size_t)(dot - name)) : json_string(name));
}

json_t *vocab_document(void)
{
    json_t *doc = json_object();
    for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
        assert(!json_object_get(doc, vocabs[i]->key)); /* listed once (merges repeat lines) */
        json_object_set_new(doc, vocabs[i]->key, vocab_json(vocabs[i], NULL));
    }
    json_object_set_new(doc, perm_vocab.key, vocab_json(&perm_vocab, perm_group));
    /* registered by their owners at start-up, not one static table */
    const struct vocab *kinds = task_kind_vocab();
    json_object_set_new(doc, kinds->key, vocab_json(kinds, NULL));
    /* the person record's fields: the history and the forms name them */
    json_t *fields = json_array();
    for (int f = 0; f < PF__COUNT; f++)
        json_array_append_new(fields, json_pack("{s:s,s:s,s:b}", "value",
                                                person_field_name((enum person_field)f), "label",
                                                person_field_label((enum person_field)f), "masked",
                                                person_field_masked((enum person_field)f)));
    json_object_set_new(doc, "person_fields",
                        json_pack("{s:s,s:o}", "label", "人员信息字段", "items", fields));
    return doc;
}

static err get_vocabularies(struct req *r)
{
    return reply_json(r, 200, vocab_document());
}

const struct route vocab_routes[] = {
    {M_GET, "/api/v1/vocabularies", get_vocabularies, PERM_NONE, ROUTE_PENDING_OK, NULL,
     "词表：页面显示的全部枚举值及其中文名称（人员状态、证件类型、场所类型、权限等）", "vocab", 0},
};
const size_t vocab_routes_n = sizeof vocab_routes / sizeof vocab_routes[0];
