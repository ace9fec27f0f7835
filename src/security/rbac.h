/*
 * Permissions and the built-in roles.
 *
 * A permission is a fixed capability of the program (`person.read`); a role
 * is a configurable set of permissions stored in the database, so editing a
 * role changes the rights of all its users at their next request. A user's
 * rights are the union of their roles' permissions, always within the
 * user's scope (the subtree of regions under the user's region).
 *
 * The three separate administrators (三员分立) are built in: the system
 * admin manages users and configuration but not the audit log; the security
 * admin manages roles, permissions and keys; the audit admin reads the audit
 * log and nothing else. The built-in roles' permission sets are fixed
 * (editing them is refused) so the separation cannot be undone by accident.
 */
#ifndef FK_SECURITY_RBAC_H
#define FK_SECURITY_RBAC_H

#include <assert.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/error.h"
#include "base/vocab.h"

enum perm {
    PERM_NONE = 0,
    PERM_REGION_READ,
    PERM_REGION_WRITE,
    PERM_PERSON_READ,
    PERM_PERSON_WRITE,
    PERM_PERSON_DELETE,
    PERM_PERSON_REVEAL, /* see full values of masked fields (audited) */
    PERM_PLACE_READ,
    PERM_PLACE_WRITE,
    PERM_ENTERPRISE_READ,
    PERM_ENTERPRISE_WRITE,
    PERM_USER_READ,
    PERM_USER_WRITE, /* users and departments */
    PERM_ROLE_READ,
    PERM_ROLE_WRITE,
    PERM_AUDIT_READ,
    PERM_KEY_ADMIN,
    PERM_CONFIG,
    PERM_SELF,            /* a resident's own record */
    PERM_HEALTH_READ,     /* declarations, temperatures and code inputs of people in scope */
    PERM_HEALTH_WRITE,    /* declare on someone's behalf, record temperatures */
    PERM_CODE_READ,       /* a person's health code and its history; zones, risk areas */
    PERM_CODE_RULES,      /* edit the health-code rules (recomputes everyone) */
    PERM_ISOLATION_WRITE, /* retired: the observation list (case.manage) writes isolations;
                           * kept so stored roles keep their grants (docs/cases.md) */
    PERM_TRACE_WRITE,     /* record contacts and stays in risk areas */
    PERM_NAT_WRITE,       /* record nucleic-acid test results */
    PERM_ZONE_WRITE,      /* sealed / controlled / prevention zones, risk areas */
    PERM_VENUE_READ,      /* venues, their codes and posters */
    PERM_VENUE_WRITE,     /* create and change venues, regenerate their codes */
    PERM_VISITOR_CONFIRM, /* list, confirm and refuse visitors of communities in scope */
    PERM_VISITOR_SCAN,    /* scan visitor codes at a checkpoint */
    PERM_VEHICLE_READ,    /* vehicles of households in scope and their passages */
    PERM_VEHICLE_WRITE,   /* register vehicles for households in scope */
    PERM_VEHICLE_GATE,    /* post plate reads of a gate camera system */
    PERM_DEVICE_READ,     /* the device registry and device status */
    PERM_DEVICE_WRITE,    /* register devices, reset their secrets */
    PERM_ACCESS_SCAN,     /* scan residents' codes at a venue's gate (卡口核验) */
    PERM_ACCESS_READ,     /* access records of venues in scope */
    PERM_ALERT_READ,      /* alerts in scope, live and listed */
    PERM_ALERT_ACK,       /* acknowledge alerts */
    /* the case workflow (issue 9, docs/cases.md) */
    PERM_CASE_REPORT,   /* file a report as staff: patrol, canvass, checkpoint one-tap */
    PERM_CASE_READ,     /* incidents, the observation list, checks and their timelines in scope */
    PERM_CASE_MANAGE,   /* route and close incidents, keep the observation list, rooms, release */
    PERM_CASE_STATUS,   /* change a person's epidemic status (the state machine) */
    PERM_CASE_RULES,    /* routing rules, check rules, isolation periods */
    PERM_CASE_IMPORT,   /* import and export the observation list (xlsx) */
    PERM_CHECK_WRITE,   /* record a check of a person on the observation list */
    PERM_CERT_VERIFY,   /* verify a release certificate's QR */
    PERM_TASK_READ,     /* the tasks board of the scope */
    PERM_TASK_DISPATCH, /* dispatch, reassign and cancel tasks */
    PERM_TASK_WORK,     /* receive tasks: my tasks, accept, complete, return */
    PERM_STATS_READ,    /* statistics of the scope (counters) */
    PERM_NAT_READ,      /* testing sites, clock-ins, plans and their figures in scope */
    PERM_NAT_SITE,      /* create, change and delete testing sites */
    PERM_NAT_PLAN,      /* mass-testing plans, their planned figures, the industries list */
    PERM_NAT_CORRECT,   /* a street's correction of a plan's actual figure */
    /* hotline tickets (接诉即办, docs/hotline.md) */
    PERM_HOTLINE_READ,   /* tickets, their matches and counts in scope; the rules */
    PERM_HOTLINE_IMPORT, /* import tickets (xlsx, CSV) in scope */
    PERM_HOTLINE_RULES,  /* edit the extraction rules (re-applied to every ticket) */
    PERM_NAT_LOOKUP,     /* results by id number, batch look-ups (批量查询) in scope */
    PERM_NAT_TRANSPORT,  /* take boxes of tubes over from the sites of the scope (转运交接) */
    PERM_NAT_RECEIVE,    /* sign for boxes of tubes at the laboratory (签收) */
    PERM_NAT_INGEST,     /* post hand-over records of an outside system (转运数据接入) */
    PERM_NAT_RESULT,     /* a laboratory's results of tubes (single, batch, upload) */
    PERM_COMMISSION_INGEST, /* post the health commission's doctors and investigations */
    PERM_COMMISSION_READ,   /* the health commission's doctors and investigations in scope */
    PERM_TRACE_READ,        /* key persons' trips, traces, investigations and clusters in scope */
    PERM_TRACE_RULES,       /* edit the contact-tracing rules (classification, windows) */
    PERM_ITINERARY_VERIFY,  /* verify a resident's 14-day itinerary card (scan), or ask for one */
    /* publishing (docs/publish.md) */
    PERM_PUBLISH_EDIT,    /* compose publications, submit them, import feed items */
    PERM_PUBLISH_APPROVE, /* approve, reject and withdraw publications; decide feed items */
    /* automatic monitoring (监测预警, docs/monitor.md) */
    PERM_MONITOR_READ,  /* the monitoring rules and the breaches in scope */
    PERM_MONITOR_WRITE, /* edit the rules, run them now */
    /* the camera ledger (issue 12, docs/video.md) */
    PERM_CAMERA_READ,  /* cameras in scope, near look-ups */
    PERM_CAMERA_WRITE, /* register, change and delete cameras; see stream addresses */
    PERM_CAMERA_PLAY,  /* play a camera's stream (each play audited) */
    /* play the public cameras near a home-isolated person's building
     * (居家隔离视频核查; each look-up and play audited with the person) */
    PERM_CAMERA_PLAY_ISOLATION,
    PERM_REPORT_DEFINE, /* define, change, copy and delete custom reports */
    PERM_REPORT_RUN,    /* run and export custom reports in scope */
    /* data exchange (docs/exchange.md) */
    PERM_EXCHANGE_ADMIN, /* register callers and their keys, peers and connectors */
    PERM_EXCHANGE_READ,  /* the exchange monitoring: calls, errors, peers, outbox */
    /* community services for residents (居民服务, docs/community-services.md) */
    PERM_SERVICE_READ,   /* emergency calls, duty roster, check-ins, help requests in scope */
    PERM_SERVICE_MANAGE, /* keep the duty roster, enrolments, inspection objects */
    PERM_ASSIST_WORK,    /* handle help requests assigned to one (staff, volunteers) */
    /* notices to residents with read receipts (docs/community.md) */
    PERM_NOTICE_READ,  /* notices in scope and their receipts; articles; poll results */
    PERM_NOTICE_WRITE, /* publish notices, articles and polls; withdraw; remind the unread */
    /* daily goods (issue 14, docs/community-life.md) */
    PERM_SHOP_MANAGE, /* create shops and their accounts in scope; orders in scope, group orders */
    PERM_SHOP_SELL,   /* a shop's own goods, stock and orders */
    /* parcels and take-away notices (issue 14) */
    PERM_PARCEL_RECORD, /* record arrivals at buildings of the scope (role delivery) */
    PERM_PARCEL_READ,   /* uncollected parcels per building in scope, the list masked */
    /* face access with consent (docs/face.md) */
    PERM_FACE_MANAGE, /* enrolments in scope, their terminals, photos (audited), staff enrol */
    /* parking guidance (docs/parking.md) */
    PERM_PARKING_READ,  /* garages in scope, occupancy, the cars inside (masked) */
    PERM_PARKING_WRITE, /* register and change garages, recount */
    /* supplies and dispatch (docs/supplies.md) */
    PERM_SUPPLY_READ,     /* catalogue, warehouses, stock, reports, requests, balance in scope */
    PERM_SUPPLY_REPORT,   /* report stock, production, needs; file requests; sign receipts */
    PERM_SUPPLY_DISPATCH, /* dispatch requests, place orders, move deliveries, add products
                             and warehouses */
    /* enterprises resuming work (docs/enterprise.md) */
    PERM_EMPLOYEE_READ,     /* employees of the reached enterprises, applications */
    PERM_EMPLOYEE_WRITE,    /* add/change employees, submit resume-work applications */
    PERM_ENTERPRISE_REVIEW, /* approve or return resume-work applications in scope */
    PERM_VOLUNTEER_MANAGE,  /* review volunteers, publish projects, record service hours */
    /* medical resources (docs/supplies.md "Medical resources") */
    PERM_MEDICAL_READ,       /* institutions, beds and their history in scope; transfer proposals */
    PERM_MEDICAL_REPORT,     /* report an institution's beds, ICU beds and testing capacity */
    PERM_SUPPLY_FULFIL,      /* the bound supplier's electronic orders: list, accept, ship */
    PERM_ENTERPRISE_MONITOR, /* resume-work monitoring per street and industry in scope */
    PERM_STAFF_PASS_VERIFY,  /* verify enterprise passes at a reached enterprise's gate */
    /* supplies: a request and its receipt are the receiving region's staff's, not
     * the reporting enterprises' (docs/supplies.md "Permissions") */
    PERM_SUPPLY_REQUEST, /* file and cancel requests; list and sign deliveries to the scope */
    PERM__COUNT
};

/*
 * A set of permissions: a bitset in 64-bit words sized from PERM__COUNT
 * (at least two words, so the step past 64 is exercised by the tests from
 * the start), so the enum grows past 64 without a change of
 * representation. Only bits below PERM__COUNT are ever set from data
 * (roles store permissions by name, never as a mask). Values, copied
 * freely; {{0}} is the empty set.
 */
#define PERM_SET_WORDS ((PERM__COUNT + 63) / 64 > 2 ? (PERM__COUNT + 63) / 64 : 2)
#define PERM_SET_BITS  (PERM_SET_WORDS * 64)
_Static_assert(PERM__COUNT <= PERM_SET_BITS, "enum perm does not fit perm_set");

typedef struct perm_set {
    uint64_t w[PERM_SET_WORDS];
} perm_set;

/* A bit index outside the set is a bug; in release builds it is ignored
 * (never a write or read outside the array) and p is simply not held. */
static inline bool perm_set_valid_bit(unsigned p)
{
    assert(p < PERM_SET_BITS);
    return p < PERM_SET_BITS;
}

/* Is p in s? */
static inline bool perm_set_has(perm_set s, enum perm p)
{
    unsigned b = (unsigned)p;
    return perm_set_valid_bit(b) && (s.w[b / 64] >> (b % 64) & 1);
}

/* Add p to *s. */
static inline void perm_set_add(perm_set *s, enum perm p)
{
    unsigned b = (unsigned)p;
    if (perm_set_valid_bit(b))
        s->w[b / 64] |= UINT64_C(1) << (b % 64);
}

/* a ∪ b, a ∩ b, a \ b. */
static inline perm_set perm_set_union(perm_set a, perm_set b)
{
    for (int i = 0; i < PERM_SET_WORDS; i++)
        a.w[i] |= b.w[i];
    return a;
}

static inline perm_set perm_set_inter(perm_set a, perm_set b)
{
    for (int i = 0; i < PERM_SET_WORDS; i++)
        a.w[i] &= b.w[i];
    return a;
}

static inline perm_set perm_set_minus(perm_set a, perm_set b)
{
    for (int i = 0; i < PERM_SET_WORDS; i++)
        a.w[i] &= ~b.w[i];
    return a;
}

static inline bool perm_set_empty(perm_set s)
{
    for (int i = 0; i < PERM_SET_WORDS; i++)
        if (s.w[i])
            return false;
    return true;
}

static inline bool perm_set_equal(perm_set a, perm_set b)
{
    return perm_set_empty(perm_set_minus(a, b)) && perm_set_empty(perm_set_minus(b, a));
}

/* The set of a PERM_NONE-terminated list; PERMS(PERM_A, PERM_B) spells one. */
perm_set perm_set_of(const enum perm *list);
#define PERMS(...) perm_set_of((const enum perm[]){__VA_ARGS__, PERM_NONE})

/* "person.read" <-> PERM_PERSON_READ; 0 for an unknown name. */
enum perm perm_parse(const char *name);
const char *perm_name(enum perm p);
/* The Chinese label shown in the role editor. */
const char *perm_label(enum perm p);
/* The Chinese name of a permission area, the part of a name before the dot
 * ("person" -> "人员"), so the role editor groups under words, not keys.
 * Every area of a permission has one (a unit test checks); NULL otherwise. */
const char *perm_area_label(const char *prefix);
/* The tables behind these (base/vocab.h): permissions indexed by enum perm
 * (slot 0 a hole), areas ("person", "人员") in no particular order. */
extern const struct vocab perm_vocab;
extern const struct vocab perm_area_vocab;

struct builtin_role {
    const char *key;         /* glossary name: "grid_worker" */
    const char *name;        /* 网格员 */
    const enum perm *grants; /* PERM_NONE-terminated */
    bool require_totp;
};

/* The permissions of a built-in role. */
perm_set builtin_role_perms(const struct builtin_role *r);

/* The built-in roles, terminated by an entry with key NULL. */
extern const struct builtin_role builtin_roles[];

const struct builtin_role *builtin_role_find(const char *key);

struct db;
/*
 * Create the built-in roles that are missing and reset the permission sets
 * of existing built-in roles to their definition (start-up and init).
 */
err rbac_seed(struct db *d) MUST_USE;

#endif
