/*
 * The application's wiring: every capability's route table, registered with
 * the router by app_routes(). Only main.c and the api.c files include this.
 */
#ifndef FK_APP_H
#define FK_APP_H

#include <stddef.h>

#include "http/http.h"

#define ROUTES(name)                                                                               \
    extern const struct route name##_routes[];                                                     \
    extern const size_t name##_routes_n

ROUTES(http_builtin);
ROUTES(auth);
ROUTES(region);
ROUTES(person);
ROUTES(person_self);
ROUTES(connect); /* the exchange's connectors (exchange/connect_api.c) */
ROUTES(place);
ROUTES(enterprise);
ROUTES(user);
ROUTES(audit);
ROUTES(role);
ROUTES(health);
ROUTES(code);
ROUTES(job);
ROUTES(venue);
ROUTES(video);
ROUTES(alert);
ROUTES(access);
ROUTES(visitor);
ROUTES(vehicle);
ROUTES(device);
ROUTES(workbench);
ROUTES(vocab);
ROUTES(attach);
ROUTES(stats);
ROUTES(incident);
ROUTES(task);
ROUTES(case_observe);
ROUTES(case_import);
ROUTES(case_release);
ROUTES(case_check);
ROUTES(export_job);

/* The lists export jobs can write (http/export.h), each defined beside
 * its list's handlers. */
struct export_source;
extern const struct export_source case_observation_export, task_export, case_check_export,
    case_incident_export, hotline_ticket_export, trip_export, report_export;
ROUTES(nat);
ROUTES(nat_plan);
ROUTES(nat_match);
ROUTES(nat_sample);
ROUTES(hotline);
ROUTES(nat_lookup);
ROUTES(nat_transport);
ROUTES(nat_lab);
ROUTES(nat_ingest);
ROUTES(trace);
/* contact tracing (issue 11) */
ROUTES(trace_contact);
/* investigations, case links and clusters */
ROUTES(investigation);
ROUTES(nat_history);
ROUTES(commission);
/* ---- custom reports (report/api.c) ---- */
ROUTES(report);
/* automatic monitoring rules (monitor/monitor.h) */
ROUTES(monitor);
/* data exchange: the peers we call (exchange/peer.h) */
ROUTES(exchange_peer);
/* data exchange: federation with the parent instance (exchange.h "federation") */
ROUTES(exchange_fed);
/* publishing: the console's routes and the public page's (docs/publish.md) */
ROUTES(publish);
ROUTES(publish_public);
/* the one-map big screen (issue 12, docs/map.md) */
ROUTES(map);
/* ---- the exchange's SOAP front (exchange/soap_api.c) ---- */
ROUTES(exchange_soap);
/* ---- end of the SOAP front's block ---- */
/* ---- zones drawn as polygons (code/zone_api.c) ---- */
ROUTES(code_zone);
/* ---- exchange monitoring (exchange/watch_api.c) ---- */
ROUTES(exchange_watch);
/* ---- end of the zones' block ---- */

/* the data exchange: the registry of callers (exchange/api.c) */
ROUTES(exchange);
/* community services for residents (service/service.h) */
ROUTES(service);

/* ---- notices with read receipts (notice/api.c) ---- */
ROUTES(notice);
/* articles and polls for residents (notice/article_api.c, notice/poll_api.c) */
ROUTES(article);
ROUTES(poll);
/* daily goods: shops, goods and orders (issue 14, shop/shop.h) */
ROUTES(shop);
/* parcels and take-away notices (issue 14, parcel/parcel.h) */
ROUTES(parcel);
/* supplies and dispatch (supply/supply.h) */
ROUTES(supply);
/* medical resources (medical/medical.h) */
ROUTES(medical);

/* ---- enterprises resuming work (enterprise/api.c, docs/enterprise.md) ---- */
ROUTES(enterprise_work);

/* Register every route table with the router, and wire the hooks between
 * capabilities. Fails (E_INTERNAL, with a message for the operator) when a
 * table is full or a hook is taken: the server must not start with a
 * route or a hook missing. */
err app_routes(void) MUST_USE;

/* ---- face access with consent (face/face.h) ---- */
ROUTES(face);
/* ---- parking guidance (parking/parking.h) ---- */
ROUTES(parking);
/* ---- help requests (service/help_api.c) ---- */
ROUTES(service_help);
ROUTES(service_clue);    /* environment clues (service/clue_api.c) */
ROUTES(service_inspect); /* disinfection and inspection (service/inspect_api.c) */
/* ---- volunteers and service projects (volunteer/volunteer.h) ---- */
ROUTES(volunteer);

/* ---- resume-work monitoring (enterprise/monitor_api.c, docs/enterprise.md) ---- */
ROUTES(enterprise_monitor);

/* ---- master key rotation (keyrot/api.c, docs/keys.md) ---- */
ROUTES(keyrot);

#endif
