/*
 * Volunteers (志愿者, issue 14; seed 002 二(七); docs/community-life.md).
 *
 * A resident applies online: the application is bound to their registered
 * person record (real name), with skills and availability. Staff with
 * volunteer.manage review the applications of their scope; approving grants
 * the resident's account the role `volunteer` (in the same transaction), a
 * rejection lets the resident apply again. Staff publish service projects
 * (title, time, place, places needed) for a community of their scope; the
 * approved volunteers living there sign up, never more than the places (one
 * conditional UPDATE reserves a place: 409 project_full), and staff record
 * the service time of each sign-up. A volunteer's history is their sign-ups
 * with the recorded time, and the total.
 *
 * Names come from the person record (sealed there, unsealed here); the API
 * masks them for staff lists. Nothing here knows HTTP; strings come from the
 * caller's arena.
 */
#ifndef FK_VOLUNTEER_VOLUNTEER_H
#define FK_VOLUNTEER_VOLUNTEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"

#define VOLUNTEER_SKILLS_MAX  200 /* characters */
#define VOLUNTEER_AVAIL_MAX   100
#define VOLUNTEER_NOTE_MAX    200
#define VOLUNTEER_TITLE_MAX   60
#define VOLUNTEER_PLACE_MAX   100
#define VOLUNTEER_CONTENT_MAX 1000
#define VOLUNTEER_PLACES_MAX  1000
#define VOLUNTEER_SPAN_MAX_MS (31LL * 86400000LL) /* a project lasts at most 31 days */
#define VOLUNTEER_MINUTES_MAX 1440                /* service time of one sign-up */
#define VOLUNTEER_HISTORY_MAX 500
#define VOLUNTEER_EXPORT_MAX  10000
#define VOLUNTEER_ROLE        "volunteer"

enum volunteer_status {
    VOL_PENDING = 1,
    VOL_APPROVED,
    VOL_REJECTED,
    VOL_REVOKED,
    VOL_STATUS__COUNT
};
/* pending 待审核, approved 已通过, rejected 未通过, revoked 已撤销 */
extern const struct vocab volunteer_status_vocab;

struct volunteer {
    int64_t id, user_id, person_id;
    int64_t region_code;     /* the residence when applying */
    const char *region_name; /* reads only */
    const char *name;        /* reads only: the person's real name, unsealed */
    const char *phone;       /* reads only: the person's phone, unsealed */
    const char *skills, *availability;
    enum volunteer_status status;
    const char *note; /* the reviewer's reason */
    int64_t reviewed_at, created_at;
    int64_t signups, minutes; /* reads only: sign-ups and total service minutes */
};

/*
 * The resident `v->user_id` (bound to person v->person_id living in
 * v->region_code) applies with v->skills and v->availability (checked by the
 * caller). A rejected or revoked application is reopened (its history kept); a pending or approved
 * one is E_CONFLICT "volunteer_applied". Call inside a transaction. v gets id, status and times.
 */
err volunteer_apply(db *d, struct volunteer *v) MUST_USE;

/* The application of user `user_id`: E_NOT_FOUND "volunteer_not_found". */
err volunteer_of_user(db *d, arena *a, int64_t user_id, struct volunteer *v_r) MUST_USE;

/* Application `id` whose residence lies inside sc (E_NOT_FOUND
 * "volunteer_not_found" otherwise). */
err volunteer_find(db *d, arena *a, const struct scope *sc, int64_t id,
                   struct volunteer *v_r) MUST_USE;

struct volunteer_filter {
    enum volunteer_status status; /* 0: any */
    int64_t page, page_size;      /* page_size <= 0: an export */
};

/* Applications inside sc, newest first, with sign-ups and total minutes. */
err volunteer_list(db *d, arena *a, const struct scope *sc, const struct volunteer_filter *f,
                   struct volunteer **items_r, size_t *n_r, int64_t *total_r) MUST_USE;

/*
 * Review application `id` inside sc: approve (the user gains the role
 * `volunteer`) or reject with `note`. Only a pending one: E_CONFLICT
 * "volunteer_state" otherwise. Call inside a transaction; v_r is the result.
 */
err volunteer_review(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by, bool approve,
                     const char *note, struct volunteer *v_r) MUST_USE;

/*
 * Revoke approved volunteer `id` inside sc (撤销志愿者资格) with `note`, the
 * reason the resident sees: status revoked, the role `volunteer` removed
 * from the account (cached principals reload at commit), their sign-ups for
 * projects not started yet dropped (places returned); past sign-ups and
 * their hours stay as history. E_CONFLICT "volunteer_state" unless approved.
 * Call inside a transaction; v_r is the result.
 */
err volunteer_revoke(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by,
                     const char *note, int64_t now, struct volunteer *v_r) MUST_USE;

struct volunteer_project {
    int64_t id;
    int64_t region_code; /* a community of the publisher's scope, or lower */
    const char *region_name;
    const char *title, *place, *content;
    int64_t starts_at, ends_at; /* ms */
    int64_t places, taken;
    int64_t created_at;
    int64_t cancelled_at;    /* 0: not cancelled */
    const char *cancel_note; /* the reason, when cancelled */
    int64_t signup_id;       /* reads for a volunteer: their sign-up, 0 if none */
    int64_t minutes;         /* reads for a volunteer: the time recorded for it */
};

/*
 * Publish project p (text fields checked by the caller) in scope sc: the
 * region must exist inside sc at community level or below (E_INPUT
 * "invalid_region"), the period must end after now and after its start and
 * last at most 31 days (E_INPUT "invalid_period"), places 1..1000.
 */
err volunteer_project_create(db *d, arena *a, const struct scope *sc, int64_t by,
                             struct volunteer_project *p) MUST_USE;

/*
 * Edit project p->id inside sc: the fields of p as for a new one (region
 * unchanged), places not below the sign-ups (E_INPUT "out_of_range").
 * E_NOT_FOUND "project_not_found", E_CONFLICT "project_cancelled" or
 * "project_ended". Call inside a transaction; p gets the stored project.
 */
err volunteer_project_update(db *d, arena *a, const struct scope *sc, int64_t now,
                             struct volunteer_project *p) MUST_USE;

/*
 * Cancel project `id` inside sc with `note`: it stays listed as cancelled,
 * its sign-ups are marked cancelled (nobody is notified; a volunteer sees
 * 已取消), no more sign-ups, withdrawals or hours. E_NOT_FOUND
 * "project_not_found", E_CONFLICT "project_cancelled" or "project_ended".
 * Call inside a transaction; p_r is the result.
 */
err volunteer_project_cancel(db *d, arena *a, const struct scope *sc, int64_t id, int64_t by,
                             const char *note, int64_t now, struct volunteer_project *p_r) MUST_USE;

/* Who reads projects: staff (scope, every project inside it) or a
 * volunteer (volunteer_id and the scope of their community: projects not
 * ended yet, or signed up for, with their own sign-up). */
struct volunteer_project_viewer {
    const struct scope *scope;
    int64_t volunteer_id; /* 0: staff */
    int64_t now;          /* for a volunteer: hides ended projects not signed up for */
};

err volunteer_project_list(db *d, arena *a, const struct volunteer_project_viewer *v, int64_t page,
                           int64_t page_size, struct volunteer_project **items_r, size_t *n_r,
                           int64_t *total_r) MUST_USE;

/* Project `id` inside sc: E_NOT_FOUND "project_not_found". */
err volunteer_project_find(db *d, arena *a, const struct scope *sc, int64_t id,
                           struct volunteer_project *p_r) MUST_USE;

/*
 * Volunteer `volunteer_id` signs up for project `id` inside sc (their
 * community): E_NOT_FOUND "project_not_found", E_CONFLICT "project_ended"
 * (it ended), "already_signed_up", "project_full" (no place left; nothing
 * written). Call inside a transaction; p_r is the project after the sign-up.
 */
err volunteer_signup(db *d, arena *a, const struct scope *sc, int64_t volunteer_id, int64_t id,
                     int64_t now, struct volunteer_project *p_r) MUST_USE;

/* Withdraw the sign-up before the project starts (its place returned):
 * E_NOT_FOUND "signup_not_found", E_CONFLICT "project_started". In a
 * transaction. */
err volunteer_signup_cancel(db *d, int64_t volunteer_id, int64_t project_id, int64_t now) MUST_USE;

struct volunteer_signup {
    int64_t id, project_id, volunteer_id;
    const char *name, *phone; /* the volunteer's, unsealed */
    int64_t minutes, recorded_at, created_at;
    int64_t cancelled_at; /* the project was cancelled: 0 otherwise */
};

/* The sign-ups of project `id` inside sc, in sign-up order. */
err volunteer_signup_list(db *d, arena *a, const struct scope *sc, int64_t id,
                          struct volunteer_signup **items_r, size_t *n_r) MUST_USE;

/*
 * Record `minutes` (1..1440, at most the project's length) of service for
 * sign-up `signup_id` of a project inside sc, replacing an earlier figure:
 * E_NOT_FOUND "signup_not_found", E_CONFLICT "project_not_started" before
 * the project starts, E_INPUT "out_of_range" on minutes.
 */
err volunteer_hours_record(db *d, arena *a, const struct scope *sc, int64_t signup_id,
                           int64_t minutes, int64_t by, int64_t now,
                           struct volunteer_signup *s_r) MUST_USE;

/* A volunteer's sign-ups (newest project first, at most
 * VOLUNTEER_HISTORY_MAX) with the time recorded; *minutes_r the total. */
err volunteer_history(db *d, arena *a, int64_t volunteer_id, struct volunteer_project **items_r,
                      size_t *n_r, int64_t *minutes_r) MUST_USE;

/*
 * Where the principal may act as a volunteer (the other modules call this
 * before a scope-only check on a permission the role `volunteer` grants,
 * e.g. assist.work): a resident account's scope is the root region, so a
 * volunteer must be narrowed to the community they applied from.
 *   staff account (not a resident): *region_r = 0, E_OK; use p->scope.
 *   approved volunteer: *region_r = the community (padded code) of
 *     volunteers.region_code; use scope_of(*region_r).
 *   any other resident: E_FORBIDDEN "volunteer_not_approved" (fail closed).
 * One indexed read (volunteers_user); no transaction needed.
 */
err volunteer_region(db *d, const struct principal *p, int64_t *region_r) MUST_USE;

#endif
