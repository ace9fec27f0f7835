/*
 * Registers every capability's routes with the router.
 */
#include "app.h"

#include "access/access.h"
#include "case/case.h"
#include "code/code.h"
#include "commission/commission.h"
#include "nat/nat.h"
#include "http/client.h"
#include "http/export.h"
#include "device/device.h"
#include "face/face.h"
#include "parking/parking.h"
#include "exchange/exchange.h"
#include "exchange/connect.h"
#include "health/health.h"
#include "hotline/hotline.h"
#include "map/map.h"
#include "person/person.h"
#include "place/place.h"
#include "trace/trace.h"
#include "vehicle/vehicle.h"
#include "venue/venue.h"
#include "visitor/visitor.h"
#include "service/service.h" /* community services: task kinds */
#include "notice/notice.h"   /* notices: the exchange's log of notices to all residents */

/* A person created or changed: the health code first, then the health
 * commission's investigations waiting for that person (person_on_change
 * has one subscriber; this is it). */
static err person_changed(db *d, arena *a, int64_t person_id, int64_t user_id)
{
    err e = code_person_changed(d, a, person_id, user_id);
    return e ? e : commission_person_changed(d, a, person_id, user_id);
}

/* person_on_write: every write of a person goes into the exchange's
 * change log, in the writing transaction. */
static err person_written(db *d, int64_t person_id, int64_t region_code, bool deleted)
{
    return exchange_change(d, DS_PERSONS, person_id, region_code, deleted ? "delete" : "upsert");
}

/* trace_on_write: trips are the returns dataset (返程信息), a stored
 * contact-tracing run the contacts dataset. */
static err trace_written_log(db *d, enum trace_record kind, int64_t id, int64_t region_code,
                             bool deleted)
{
    return exchange_change(d, kind == TRACE_REC_TRIP ? DS_RETURNS : DS_CONTACTS, id, region_code,
                           deleted ? "delete" : "upsert");
}

/* code_on_write: zones, risk areas, test results. */
static err code_written_log(db *d, enum code_record kind, int64_t id, int64_t region_code,
                            bool deleted)
{
    enum exchange_dataset ds = kind == CODE_REC_ZONE        ? DS_ZONES
                               : kind == CODE_REC_RISK_AREA ? DS_RISK_AREAS
                                                            : DS_RESULTS;
    return exchange_change(d, ds, id, region_code, deleted ? "delete" : "upsert");
}

/* case_on_write: observations are the isolations dataset; a status change
 * is a cases change and changes the person's record (its status) too. */
static err case_written_log(db *d, enum case_record kind, int64_t id, int64_t person_id,
                            int64_t region_code)
{
    if (kind == CASE_REC_OBSERVATION)
        return exchange_change(d, DS_ISOLATIONS, id, region_code, "upsert");
    err e = exchange_change(d, DS_CASES, id, region_code, "upsert");
    return e ? e : exchange_change(d, DS_PERSONS, person_id, region_code, "upsert");
}

/* notice_on_write: a notice to all residents published or withdrawn; the
 * record sent carries its state, so both are an upsert. */
static err notice_written_log(db *d, int64_t id, int64_t region_code)
{
    return exchange_change(d, DS_NOTICES, id, region_code, "upsert");
}

/* each registration can fail (a table full, a hook taken): the first
 * failure ends app_routes, and the server refuses to start */
#define ADD(name)                                                                                  \
    do {                                                                                           \
        if ((e = router_add(name##_routes, name##_routes_n)))                                      \
            return e;                                                                              \
    } while (0)
#define HOOK(call)                                                                                 \
    do {                                                                                           \
        if ((e = (call)))                                                                          \
            return e;                                                                              \
    } while (0)

/* health_device_check_fn: a live thermometer inside sc. */
static err thermometer_in_scope(db *d, arena *a, const struct scope *sc, int64_t id)
{
    struct device dev;
    err e = device_find(d, a, sc, id, &dev);
    if (!e && dev.kind != DEVICE_THERMOMETER)
        e = E_NOT_FOUND;
    return e;
}

/* ---- the connectors (exchange/connect_*.c) ---- */
/* The police service's identity check, for the real-name binding
 * (person_on_identity_check): a match recorded as the binding's check. */
static err police_record(db *d, int64_t person_id, bool match, int64_t by_user)
{
    struct police_answer ans = {.match = match, .score = -1};
    return police_check_store(d, person_id, POLICE_IDENTITY, &ans, "binding", by_user);
}
static const struct person_identity_check police_identity = {
    .configured = police_configured, .check = police_binding_check, .record = police_record};
/* ---- end of the connectors' block ---- */

/* ---- the quarantine-site level of the statistics (case/site_stats_api.c) ---- */
ROUTES(case_site_stats);
/* ---- end of the statistics' block ---- */

/* ---- the 14-day itinerary (trace/itinerary_api.c) ---- */
ROUTES(trace_itinerary);
/* ---- end of the itinerary's block ---- */

err app_routes(void)
{
    err e;
    ADD(http_builtin);
    ADD(auth);
    ADD(user);
    ADD(place);
    ADD(region);
    ADD(enterprise);
    ADD(role);
    ADD(audit);
    ADD(person);
    ADD(person_self);
    ADD(health);
    ADD(code);
    ADD(job);
    /* a change of status or residence recomputes the person's code and
     * links the commission's investigations waiting for the person */
    HOOK(person_on_change(person_changed));
    /* a change of residence moves the open observation and tasks along */
    HOOK(person_on_move(case_person_moved));
    /* every write of a person is logged for the exchange's cursors and outbox */
    HOOK(person_on_write(person_written));
    HOOK(trace_on_write(trace_written_log));
    HOOK(code_on_write(code_written_log));
    HOOK(case_on_write(case_written_log));
    /* the people list filters and shows code colours by code's own table */
    person_code_colours_set(&code_colour_vocab);
    /* hooks instead of includes, so capabilities depend one way */
    HOOK(code_on_pass(access_pass));
    HOOK(vehicle_on_visitor_plate(visitor_plate_admitted));
    /* temperatures name devices; the device registry depends on health */
    HOOK(health_on_device_check(thermometer_in_scope));
    ADD(venue);
    /* the camera ledger (issue 12, docs/video.md) */
    ADD(video);
    ADD(alert);
    ADD(access);
    ADD(visitor);
    ADD(vehicle);
    ADD(device);
    ADD(workbench);
    ADD(vocab);
    ADD(attach);
    /* the counters person writes keep (stats/) */
    HOOK(person_measures_register());
    ADD(stats);
    ADD(incident);
    HOOK(incident_register());
    ADD(task);
    /* the counters of the observation list and the status machine */
    HOOK(case_register());
    /* before case_observe: its /observations/{id} would take /observations/template.xlsx */
    ADD(case_import);
    ADD(case_observe);
    /* release: the "release" task kind and its routes */
    HOOK(case_release_register());
    ADD(case_release);
    /* checks: the task kinds "check", "transfer", "follow_up" and the routes */
    HOOK(check_register());
    ADD(case_check);
    /* the lists that export jobs write (http/export.h, job/export.h) */
    HOOK(export_source_add(&case_observation_export));
    HOOK(export_source_add(&task_export));
    HOOK(export_source_add(&case_check_export));
    HOOK(export_source_add(&case_incident_export));
    HOOK(export_source_add(&hotline_ticket_export));
    HOOK(export_source_add(&trip_export));
    HOOK(export_source_add(&report_export));
    ADD(export_job);
    ADD(nat);
    ADD(nat_plan);
    ADD(nat_match);
    ADD(nat_sample);
    /* hotline tickets: their counters, then the routes */
    HOOK(hotline_register());
    ADD(hotline);
    ADD(nat_lookup);
    ADD(nat_transport);
    /* laboratory results: the retest task kinds and the outcome counters */
    HOOK(nat_task_kinds_register());
    HOOK(nat_stats_register());
    ADD(nat_lab);
    ADD(nat_ingest);
    ADD(nat_history);
    ADD(commission);
    ADD(trace);
    ADD(trace_itinerary); /* the 14-day itinerary */
    /* contact tracing (issue 11) */
    ADD(trace_contact);
    /* investigations, case links and clusters */
    ADD(investigation);
    /* custom reports (issue 12) */
    ADD(report);
    /* automatic monitoring rules and their breaches (monitor/monitor.h) */
    ADD(monitor);
    /* data exchange: the peers we call and the outbox (exchange/peer.h) */
    ADD(exchange_peer);
    /* federation: the parent's zones and risk areas pulled (exchange.h) */
    ADD(exchange_fed);
    /* the http SMS driver sends through the outbound client */
    HOOK(auth_on_sms_http(http_client_post_json));
    /* ---- publishing (docs/publish.md) ---- */
    ADD(publish);
    ADD(publish_public);
    /* ---- end of publishing's block ---- */
    /* the one-map big screen (issue 12, docs/map.md): its routes, and the
     * counters' moves it pushes to the page */
    ADD(map);
    HOOK(stats_on_add(map_counter_moved));
    /* ---- zones drawn as polygons, previews, lifts, import (code/zone_api.c) ---- */
    ADD(code_zone);
    /* ---- end of the zones' block ---- */
    /* statistics across the platform (issue 12): the counters of places,
     * venues and testing sites, and a deleted quarantine site's rooms */
    HOOK(place_measures_register());
    HOOK(venue_measures_register());
    HOOK(nat_site_measures_register());
    HOOK(place_on_delete(case_site_deleted));
    ADD(case_site_stats);
    /* ---- exchange monitoring: its page's API, and the observer counting every call ---- */
    ADD(exchange_watch);
    HOOK(exchange_watch_register());
    /* ---- end of the exchange monitoring's block ---- */
    /* ---- the data exchange (issue 13, docs/exchange.md) ---- */
    ADD(exchange);
    HOOK(exchange_register());
    /* the datasets' operations (helper data's datasets.c): wired here by the
     * monitoring's branch so its bench and tests reach them; one wiring only */
    {
        size_t nops;
        const struct exchange_op *ops = exchange_data_ops(&nops);
        HOOK(exchange_ops_add(ops, nops));
    }
    /* last: the signed front routes every operation registered above */
    HOOK(exchange_front_routes());
    /* the SOAP front: the same operations in SOAP envelopes (soap_api.c) */
    ADD(exchange_soap);
    /* ---- end of the exchange's block ---- */
    /* ---- the exchange's connectors (docs/exchange.md "Connectors") ---- */
    ADD(connect);
    HOOK(person_on_identity_check(&police_identity));
    /* ---- end of the connectors' block ---- */
    /* ---- community services: emergency calls, duty (service/service.h) ---- */
    ADD(service);
    HOOK(service_task_kinds_register());
    ADD(service_help);    /* help requests (service/help_api.c) */
    ADD(service_clue);    /* environment clues (service/clue_api.c) */
    ADD(service_inspect); /* disinfection and inspection (service/inspect_api.c) */
    /* ---- end of the community services' block ---- */
    /* ---- notices with read receipts (docs/community.md) ---- */
    ADD(notice);
    /* articles (knowledge, news, the guide) and polls (notice.h) */
    ADD(article);
    ADD(poll);
    /* notices to all residents go into the exchange's log (children pull them) */
    HOOK(notice_on_write(notice_written_log));
    /* ---- end of the notices' block ---- */
    /* ---- daily goods: shops, goods and orders (issue 14, shop/shop.h) ---- */
    ADD(shop);
    /* ---- parcels and take-away notices (issue 14, parcel/parcel.h) ---- */
    ADD(parcel);
    /* ---- face access with consent (face/face.h): routes, terminal topics ---- */
    ADD(face);
    HOOK(face_register());
    /* ---- end of the face block ---- */
    /* ---- parking guidance (parking/parking.h): routes, plate reads at garage gates ---- */
    ADD(parking);
    HOOK(vehicle_on_passage(parking_on_plate_read));
    /* ---- end of the parking block ---- */
    /* ---- supplies and dispatch (supply/supply.h, docs/supplies.md) ---- */
    ADD(supply);
    /* ---- end of the supplies' block ---- */
    /* ---- enterprises resuming work (docs/enterprise.md) ---- */
    ADD(enterprise_work);
    /* ---- volunteers and service projects (volunteer/volunteer.h) ---- */
    ADD(volunteer);
    /* ---- medical resources (medical/medical.h, docs/supplies.md) ---- */
    ADD(medical);
    /* ---- resume-work monitoring (docs/enterprise.md) ---- */
    ADD(enterprise_monitor);
    /* ---- master key rotation (docs/keys.md) ---- */
    ADD(keyrot);
    return E_OK;
}
