/*
 * The workbench (工作台, issue 8): for a signed-in staff user, the to-dos
 * and counts of their duties inside their scope — visitors waiting for
 * review, alerts nobody has handled, people who have not declared today,
 * devices that went silent, today's scans and refusals at the gates, red
 * and yellow codes, locked accounts, refused operations — each with where
 * to go to act on it.
 *
 * Which entries a user gets follows their permissions, never their role
 * names: an entry is shown when the user holds one of its permissions, so
 * a custom role gets the entries of what it may do. Every count is one
 * scoped SQL statement over an index leading on region_code (or on the
 * time-ordered id for the audit log); none reads personal data, so nothing
 * here is audited. Residents have no workbench (their home is their code).
 */
#ifndef FK_WORKBENCH_WORKBENCH_H
#define FK_WORKBENCH_WORKBENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

/* The entries, in the order they are shown: to-dos first. */
enum workbench_item {
    WB_VISITORS_PENDING = 0, /* visitors waiting for review (visitor.confirm) */
    WB_ALERTS_OPEN,          /* alerts not acknowledged (alert.read) */
    WB_UNDECLARED_TODAY,     /* people of the scope without a declaration today (health.read) */
    WB_DEVICES_SILENT,       /* enabled devices past their heartbeat (device.read) */
    WB_REFUSALS_TODAY, /* passages refused today at venues in scope (access.scan, access.read) */
    WB_SCANS_TODAY,    /* passages recorded today at venues in scope */
    WB_CODES_RED,      /* people in scope with a red code (code.read) */
    WB_CODES_YELLOW,   /* … yellow */
    WB_VEHICLES_DENIED_TODAY, /* plate reads refused today (vehicle.read, vehicle.gate) */
    WB_TESTS_TODAY,           /* test results recorded today in scope (nat.write) */
    WB_ENTERPRISES,           /* enterprises in scope (enterprise.read) */
    WB_USERS_LOCKED,          /* staff accounts locked now in scope (user.read) */
    WB_AUDIT_REFUSED_TODAY,   /* operations refused today (audit.read) */
    WB_TASKS_MINE,     /* my open tasks: mine, or my role's in my scope not yet taken (task.work) */
    WB_TASKS_OVERDUE,  /* tasks in scope past their deadline, not done (task.read) */
    WB_NAT_UNATTENDED, /* testing sites open in their hours with nobody on duty (nat.read) */
    WB_NAT_ON_DUTY,    /* site staff clocked in now at sites in scope (nat.read) */
    WB_NAT_SAMPLES_TODAY,   /* samples taken today at sites in scope (nat.read) */
    WB_NAT_IN_TRANSIT,      /* boxes of tubes in transit in scope (nat.transport, nat.receive) */
    WB_NAT_TRANSIT_OVERDUE, /* boxes in transit past the limit, alerted (nat.read) */
    WB_COMMISSION_UNLINKED, /* investigations in scope with no registered person (commission.read)
                             */
    WB_TRIPS_WEEK, /* key persons' trips departed in the last 7 days in scope (trace.read) */
    WB_REPORTS,    /* custom reports defined (report.define, report.run) */
    /* ---- automatic monitoring (monitor/monitor.h) ---- */
    WB_MONITOR_BREACHES, /* monitoring rules breached now in scope, today (monitor.read) */
    /* publishing (docs/publish.md) */
    WB_PUBLISH_PENDING, /* publications waiting for approval in scope (publish.approve) */
    WB_FEED_PENDING,    /* news and opinion items waiting for approval in scope (publish.approve) */
    /* the data exchange (docs/exchange.md) */
    WB_EXCHANGE_SUSPENDED,     /* exchange callers suspended in scope (exchange.admin) */
    WB_EXCHANGE_PEERS_FAILING, /* enabled peers failing now in scope (exchange.admin) */
    /* community services (service/service.h) */
    WB_EMERGENCY_OPEN, /* residents' emergency calls in scope not yet handled (service.read) */
    WB_NOTICES,        /* notices published in scope (notice.read or notice.write) */
    /* daily goods (issue 14, docs/community-life.md) */
    WB_SHOP_GROUP_DELIVERED, /* group orders delivered to buildings in scope, to distribute */
    WB_SHOP_ORDERS_PENDING,  /* the shop's own orders waiting for its confirmation (shop.sell) */
    WB_FACE_WITHDRAWING,     /* face enrolments withdrawn, terminals not all acked (face.manage) */
    WB_PARKING_FULL,         /* garages with no free space now in scope (parking.read) */
    /* supplies and dispatch (docs/supplies.md) */
    WB_SUPPLY_REQUESTS_OPEN, /* supply requests in scope waiting for dispatch (supply.read) */
    WB_SUPPLY_SHORT,         /* stock lines under their threshold in scope (supply.read) */
    /* enterprises resuming work (docs/enterprise.md) */
    WB_RESUME_PENDING, /* resume-work applications waiting for review in scope (enterprise.review)
                        */
    WB_OWN_EMPLOYEES,  /* the employees of the enterprise the account acts for (employee.write) */
    /* articles and polls (docs/community.md) */
    WB_POLLS_OPEN, /* polls in scope still open for answers (notice.read or notice.write) */
    /* help requests (docs/community-services.md) */
    WB_HELP_OPEN, /* residents' help requests in scope not yet done or cancelled (service.read) */
    WB_INSPECT_OVERDUE, /* disinfection/inspection objects past due in scope (service.read) */
    WB_HELP_MINE,       /* help requests assigned to the user, not yet done (assist.work) */
    /* parcels and volunteers (issue 14, docs/community-life.md) */
    WB_PARCELS_OVERDUE,      /* parcels in scope waiting over 3 days (parcel.read) */
    WB_VOLUNTEERS_PENDING,   /* volunteer applications in scope to review (volunteer.manage) */
    WB_PARCELS_MINE_WAITING, /* parcels the delivery account recorded, still waiting (parcel.record)
                              */
    WB_VOLUNTEER_HOURS_DUE,  /* sign-ups of started projects in scope with no service time
                              * recorded yet (volunteer.manage) */
    /* medical resources (docs/supplies.md "Medical resources") */
    WB_MEDICAL_FULL,       /* institutions in scope without a free bed (medical.read) */
    WB_MEDICAL_UNREPORTED, /* institutions in scope not reported today (medical.report) */
    WB_CLOCKIN_ABNORMAL,   /* abnormal staff clock-ins today in scope (enterprise.monitor) */
    WB_KEY_ROTATION,       /* key rotations not finished (key.admin; docs/keys.md) */
    WB__COUNT
};

struct workbench_entry {
    enum workbench_item item;
    const char *key;   /* "visitors_pending": stable, for the web and tests */
    const char *title; /* 待审核访客 */
    const char *unit;  /* 人, 条, 台, 个 */
    bool todo;         /* something to act on (shown first, highlighted when > 0) */
    int64_t count;
    const char *console; /* the console's filtered list ("/visitors?status=pending"), or NULL */
    const char *mobile;  /* the mobile page ("/staff/visitors"), or NULL */
};

/*
 * The entries `who` may see, with their counts inside who->scope at `now`,
 * into out[] (room for WB__COUNT), in enum order; *n_r gets how many. A
 * resident gets none. E_DB when a count fails (nothing is guessed).
 */
err workbench_counts(db *d, const struct principal *who, int64_t now,
                     struct workbench_entry out[WB__COUNT], size_t *n_r) MUST_USE;

#endif
