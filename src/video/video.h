/*
 * The camera ledger (视频监控台账, issue 12 "Zones and cameras"; seed 004
 * 三, 二3, 二5; seed 002 二(一)2 d): the cameras of the public video
 * network, each with its position, its kind, the stream the network serves
 * (http(s) HLS or rtsp), the objects it watches (testing sites, venues,
 * places, zones, public toilets, anything else by name) and the state its
 * last stream check found (线上线下一致性); public toilets and their
 * cameras; and the look-up of the cameras near a home-isolated person's
 * building for checking on public video (居家隔离视频核查).
 *
 * Cameras are regional records: every function takes the caller's scope
 * and binds it in the same statement; a camera outside it is answered like
 * an unknown one (E_NOT_FOUND). Nothing here knows HTTP. Strings a function
 * returns are allocated from its arena. Cameras hold no personal data.
 */
#ifndef FK_VIDEO_VIDEO_H
#define FK_VIDEO_VIDEO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define CAMERA_URL_MAX     500
#define CAMERA_EXPORT_MAX  10000
#define CAMERA_RADIUS_MAX  5000 /* metres, the near look-up's */
#define CAMERA_NEAR_MAX    200  /* cameras a near look-up returns at most */
#define CAMERA_OBJECTS_MAX 50   /* objects one camera watches at most */
/* How far from an isolated person's building a camera may be for a home
 * isolation check (camera_isolation_camera), metres. */
#define CAMERA_ISOLATION_RADIUS_MAX 1000

enum camera_kind {
    CAMERA_BULLET = 1, /* 枪机 */
    CAMERA_DOME,       /* 球机 */
    CAMERA_MINI_DOME,  /* 半球 */
    CAMERA_OTHER,      /* 其他 */
    CAMERA_KIND__COUNT
};
extern const struct vocab camera_kind_vocab;

/* What a camera watches: a record by id (nat_site, venue, place, zone, and
 * toilet: a place of kind toilet) or by name (other, or any kind without an
 * id). A camera watches any number of objects. */
enum camera_object {
    CAMERA_OBJ_NAT_SITE = 1, /* 核酸采样点 */
    CAMERA_OBJ_VENUE,        /* 场所码点位 */
    CAMERA_OBJ_PLACE,        /* 场所（含方舱） */
    CAMERA_OBJ_ZONE,         /* 封控/管控/防范区 */
    CAMERA_OBJ_TOILET,       /* 公共厕所 */
    CAMERA_OBJ_OTHER,        /* 其他 */
    CAMERA_OBJ__COUNT
};
extern const struct vocab camera_object_vocab;

/* The last stream check's finding. */
enum camera_state {
    CAMERA_UNKNOWN = 0, /* never checked */
    CAMERA_ONLINE,      /* the stream answered with a playlist */
    CAMERA_OFFLINE,     /* it did not */
    CAMERA_UNCHECKED,   /* rtsp: not checked by the server */
    CAMERA_STATE__COUNT
};
extern const struct vocab camera_state_vocab;

/* One object a camera watches (a row of camera_objects). */
struct camera_binding {
    int64_t id; /* the binding's */
    enum camera_object kind;
    int64_t object_id; /* 0: bound by name */
    const char *name;  /* the record's name when bound by id */
};

struct camera {
    int64_t id;
    const char *name;
    const char *code;
    enum camera_kind kind;
    int64_t region_code; /* padded */
    double lng, lat;
    const char *stream_url;
    const struct camera_binding *objects; /* by kind, then name */
    size_t n_objects;
    const char *region_name;
    enum camera_state state;
    int64_t checked_at;
    int64_t version, created_at, updated_at;
    double distance_m; /* the near look-up's; 0 elsewhere */
};

enum {
    CF_NAME = 1 << 0,
    CF_CODE = 1 << 1,
    CF_KIND = 1 << 2,
    CF_REGION = 1 << 3,
    CF_LNG = 1 << 4,
    CF_LAT = 1 << 5,
    CF_URL = 1 << 6,
    CF_OBJECT_KIND = 1 << 7,
    CF_OBJECT_ID = 1 << 8,
    CF_OBJECT_NAME = 1 << 9,
};

/* The fields whose CF_ bit is in `set`. A create needs name, kind, region,
 * lng, lat and stream_url, and may name a first watched object
 * (object_kind with object_id or object_name); an update changes the
 * columns only (objects are bound by camera_bind). */
struct camera_input {
    unsigned set;
    const char *name;
    const char *code;
    enum camera_kind kind;
    int64_t region_code;
    double lng, lat;
    const char *stream_url;
    enum camera_object object_kind;
    int64_t object_id;
    const char *object_name;
};

/*
 * Whether `url` is a stream address the console may play and the server
 * may check: http://, https:// or rtsp:// (any case) followed by a host,
 * no white space or control characters, at most CAMERA_URL_MAX bytes.
 * E_INPUT "invalid_url" naming `field` otherwise.
 */
err camera_url_check(const char *url, const char *field) MUST_USE;

/* Whether lng/lat are a position in the ranges of the earth (-180..180,
 * -90..90): E_INPUT "out_of_range" naming the field otherwise. */
err camera_position_check(double lng, double lat) MUST_USE;

/*
 * Check the fields `in` sets without the database: name, kind, region,
 * position, URL, the object (an id or a name when a kind is given, and a
 * kind when either is). E_INPUT naming the field: "required",
 * "invalid_value", "out_of_range", "invalid_url".
 */
err camera_input_check(const struct camera_input *in, bool create) MUST_USE;

/* Create a camera inside scope, with its first object when `in` names one:
 * E_INPUT "invalid_region" when its region does not exist or is outside
 * scope, camera_bind's for the object. *id_r gets the new id. */
err camera_create(db *d, arena *a, const struct scope *scope, const struct camera_input *in,
                  int64_t *id_r) MUST_USE;

/* One live camera inside scope, with its objects; E_NOT_FOUND otherwise. */
err camera_find(db *d, arena *a, const struct scope *scope, int64_t id,
                struct camera *c_r) MUST_USE;

/* Update the columns `in` sets (E_INPUT "invalid_value" naming object_kind
 * when it names an object); errors as camera_create, E_INPUT
 * "empty_update", E_NOT_FOUND, E_CONFLICT "version_conflict". */
err camera_update(db *d, arena *a, const struct scope *scope, int64_t id,
                  const struct camera_input *in) MUST_USE;

/* Soft-delete; E_NOT_FOUND when not a live camera inside scope. */
err camera_delete(db *d, const struct scope *scope, int64_t id) MUST_USE;

/* Sort keys: "name", "kind", "region_code", "state", "created_at",
 * "updated_at", optionally prefixed with "-". */
struct camera_filter {
    int64_t region_code; /* 0: the whole scope, else its subtree */
    enum camera_kind kind;
    enum camera_state state;        /* 0 with any_state: any */
    bool any_state;                 /* state unset */
    enum camera_object object_kind; /* 0: any; else cameras watching such an object */
    int64_t object_id;              /* 0: any; else watching this record */
    const char *q;                  /* name or code contains, literally */
    const char *sort;
    int64_t page, page_size; /* page_size 0: all up to CAMERA_EXPORT_MAX */
};

/* A page of live cameras inside scope, each with its objects. */
err camera_list(db *d, arena *a, const struct scope *scope, const struct camera_filter *f,
                struct camera **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * Live cameras inside scope within radius_m (1..CAMERA_RADIUS_MAX) of
 * (lng, lat), nearest first (the id breaking ties), at most
 * CAMERA_NEAR_MAX; each with its distance_m. E_INPUT "out_of_range" for a
 * position or radius outside its range (field lng, lat or radius_m).
 */
err camera_near(db *d, arena *a, const struct scope *scope, double lng, double lat, double radius_m,
                struct camera **items_r, size_t *n_r) MUST_USE;

/* An object a camera watches, bound by id. */
struct camera_target {
    enum camera_object kind;
    int64_t id;
    const char *name;
    bool has_position;
    double lng, lat; /* NAN without a position */
};

/*
 * The record `id` of kind `kind` (nat_site, venue, place, zone, toilet: a
 * place of kind toilet) inside scope, with its position when it has one
 * (testing sites, places and toilets).
 * E_INPUT "invalid_object" (field object_id) when there is none, or for a
 * kind bound by name. Creates and updates that bind an id check it here
 * and store its name.
 */
err camera_object_find(db *d, arena *a, const struct scope *scope, enum camera_object kind,
                       int64_t id, struct camera_target *t_r) MUST_USE;

/*
 * Bind camera camera_id (inside scope) to one more object: a record by id
 * (object_id > 0: camera_object_find's, its name stored unless `name` is
 * given) or an object by name. *binding_id_r gets the binding's id.
 * E_NOT_FOUND for the camera; E_INPUT "invalid_value" (object_kind: no
 * kind; object_id: an id for a kind bound by name), "required" (object_name:
 * neither id nor name), "invalid_object"; E_CONFLICT "already_bound" when
 * the camera watches that object already, "too_many_objects" past
 * CAMERA_OBJECTS_MAX.
 */
err camera_bind(db *d, arena *a, const struct scope *scope, int64_t camera_id,
                enum camera_object kind, int64_t object_id, const char *name,
                int64_t *binding_id_r) MUST_USE;

/* Remove binding binding_id of camera camera_id (inside scope);
 * E_NOT_FOUND when there is none. */
err camera_unbind(db *d, const struct scope *scope, int64_t camera_id, int64_t binding_id) MUST_USE;

/* A public toilet (a place of kind toilet) and the cameras watching it. */
struct camera_toilet {
    int64_t id;
    const char *name, *address, *region_name;
    int64_t region_code;
    bool has_position;
    double lng, lat;
    struct camera *cameras; /* by name */
    size_t n_cameras;
};

/* A page of the public toilets inside scope (by name), each with the live
 * cameras inside scope bound to it (as a toilet or as a place). */
err camera_toilets(db *d, arena *a, const struct scope *scope, int64_t page, int64_t page_size,
                   struct camera_toilet **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * A proposal of bindings by distance: the object (camera_object_find) and
 * the cameras inside scope within radius_m of its position, nearest first
 * (camera_near's). E_INPUT "no_position" when the object has no position.
 */
err camera_proposals(db *d, arena *a, const struct scope *scope, enum camera_object kind,
                     int64_t id, double radius_m, struct camera_target *t_r,
                     struct camera **items_r, size_t *n_r) MUST_USE;

/* ---- home isolation checks on public video (居家隔离视频核查) ------------------------ */

/* An isolated person's home as the video check sees it: the observation's
 * region (the person's building, or the deepest region above it with a
 * recorded centre) and that centre. No personal data but the person's id. */
struct camera_isolation {
    int64_t observation_id, person_id;
    int64_t region_code; /* the region whose centre is used */
    const char *region_name;
    int region_level; /* enum region_level: 7 a building */
    double lng, lat;
};

/*
 * The home of active home observation observation_id (居家隔离 or 居家医学观察)
 * inside scope. E_NOT_FOUND when there is no such observation in scope;
 * E_CONFLICT "not_home_isolation" when it has ended or is not at home;
 * E_INPUT "no_position" when neither its region nor any region above it
 * has a recorded centre.
 */
err camera_isolation_find(db *d, arena *a, const struct scope *scope, int64_t observation_id,
                          struct camera_isolation *iso_r) MUST_USE;

/* The cameras inside scope within radius_m (1..CAMERA_ISOLATION_RADIUS_MAX)
 * of that home, nearest first (camera_near's); errors as
 * camera_isolation_find, E_INPUT "out_of_range" for the radius. */
err camera_isolation_near(db *d, arena *a, const struct scope *scope, int64_t observation_id,
                          double radius_m, struct camera_isolation *iso_r, struct camera **items_r,
                          size_t *n_r) MUST_USE;

/*
 * Camera camera_id inside scope for checking observation observation_id:
 * errors as camera_isolation_find, E_NOT_FOUND for the camera, E_FORBIDDEN
 * "camera_not_near" when it lies farther than CAMERA_ISOLATION_RADIUS_MAX
 * from the home (the permission is for checking a home, not for watching
 * any camera). *c_r gets its distance_m.
 */
err camera_isolation_camera(db *d, arena *a, const struct scope *scope, int64_t observation_id,
                            int64_t camera_id, struct camera_isolation *iso_r,
                            struct camera *c_r) MUST_USE;

/*
 * Queue the stream check (线上线下一致性) of the cameras inside who's scope
 * (camera_id 0) or of one camera as job job_id on the import worker: each
 * http stream's playlist is fetched (3 s, 1 MiB at most, 32 at a time); a
 * 200 reply starting with #EXTM3U marks the camera online, anything else
 * offline (https: a certificate that does not verify for the host too);
 * rtsp streams are marked unchecked. The states and
 * their time, and one audit entry ("camera.check"), commit together. The
 * job's result: {total, online, offline, unchecked}.
 */
err camera_check_submit(db *d, int64_t job_id, const struct principal *who,
                        int64_t camera_id) MUST_USE;

/* A PEM file of certificates https streams are verified against besides
 * the system's (FK_VIDEO_CA_FILE: the video network's own CA); NULL or ""
 * none. E_INPUT when it cannot be read. Called once before serving. */
err camera_check_set_ca_file(const char *path) MUST_USE;

/* ---- import of an offline survey (import.c) ------------------------------------------ */

#define CAMERA_IMPORT_SHEET    "摄像头台账"
#define CAMERA_IMPORT_MAX_ROWS 50000

/* The import template (xlsx) to a temporary file (job/import.h). */
err camera_import_template(int *fd_r, int64_t *size_r) MUST_USE;

/* An upload's check in the request: the template's header, the data rows
 * counted (*rows_r). E_INPUT "invalid_xlsx" / "invalid_csv", "empty",
 * "too_many_rows". */
err camera_import_check(const void *data, size_t n, bool csv, long *rows_r) MUST_USE;

/*
 * Queue the import of an upload checked by camera_import_check as job
 * job_id on the import worker: each row is checked as POST /api/v1/cameras
 * checks a body, in who's scope; the valid rows and one audit entry
 * ("camera.import") commit together, the others go to the job's error
 * report with their cells marked. The result: {total, written, failed,
 * report}.
 */
err camera_import_submit(db *d, int64_t job_id, const struct principal *who, const void *data,
                         size_t n, bool csv, long rows) MUST_USE;

#endif
