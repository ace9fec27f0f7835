/*
 * Face access with consent (人脸识别通行; seed 002 二(二)1, issue 14;
 * docs/face.md). A resident consents (the text shown, its version and the
 * time recorded), then enrols one photo (or community staff enrol it for
 * them, only once that consent is on record). The photo is an attachment
 * (attach.h: sniffed, SM4-sealed) held by the enrolment; the platform sends
 * it to every face terminal (device kind "face") of the resident's community
 * as a command over the device channel (device_command_publish), one command
 * per terminal with its own id, which the terminal acknowledges.
 *
 * Withdrawing consent deletes the photo on the platform at once (the
 * attachment row is gone in the same transaction) and sends a delete
 * command to every terminal that holds it or was sent it; the enrolment
 * stays "withdrawing" (撤回中) until every one of them acknowledged the
 * deletion, then "deleted" (已删除). A command not acknowledged is sent
 * again when its terminal is next heard from (a heartbeat after a
 * reconnect), at most once per FK_FACE_RETRY_S seconds, and by a periodic
 * sweep once it is FK_FACE_RESEND_S old; after FK_FACE_ATTEMPTS sends it
 * is "failed" (下发失败 / 删除失败 on the console) and the enrolment raises
 * one face_failed alert. A terminal registered or enabled after enrolments
 * exist is sent every enrolled face of its community; a terminal deleted
 * has its pending commands dropped and no withdrawal waits for it.
 *
 * Terminals report passages with the enrolment they recognised; a passage
 * of a consenting person is an access record of the terminal's venue
 * (access_submit, method "device"), so entry limits, traces and exports see
 * it; a passage of a withdrawn person is refused and the terminal flagged
 * (face_flags and a face_withdrawn alert): it still holds a face it was told
 * to delete.
 *
 * Messages from terminals (fk/devices/<id>/<topic>, JSON):
 *   acks      {"command_id": "…", "ok": true}
 *   passages  {"face_id": "…", "direction": "in"|"out", "temperature"?: 36.5, "at"?: ms}
 * Commands to terminals (fk/devices/<id>/commands):
 *   {"command_id","op":"enrol","face_id","name" (masked),"mime","photo" (base64)}
 *   {"command_id","op":"delete","face_id"}
 */
#ifndef FK_FACE_FACE_H
#define FK_FACE_FACE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

/* The consent text a resident reads and its version; a new text takes a new
 * version, and consent given to another version is refused. */
#define FACE_CONSENT_VERSION "face-2026-1"
extern const char face_consent_text[];

#define FACE_PHOTO_MAX  (2u << 20) /* bytes: a face needs no more */
#define FACE_OWNER_KIND "face"     /* the attachments' owner_kind */

enum face_state { FACE_CONSENTED = 1, FACE_ENROLLED, FACE_WITHDRAWING, FACE_DELETED };
const char *face_state_name(enum face_state s);  /* consented, enrolled, withdrawing, deleted */
const char *face_state_label(enum face_state s); /* Chinese */

struct face_enrolment {
    int64_t id, person_id, region_code, community;
    int64_t consent_user;
    const char *consent_version;
    int64_t consent_at;
    enum face_state state;
    int64_t photo_id, enrolled_by, enrolled_at, withdrawn_at, deleted_at;
};

/* The resident's live (not deleted) enrolment: E_NOT_FOUND "no_consent"
 * when none. */
err face_mine(db *d, arena *a, int64_t person_id, struct face_enrolment *f_r) MUST_USE;

/*
 * Record the consent of `person_id` (region: the residence) given by account
 * user_id to `version`. E_INPUT "consent_version_stale" (field version) for
 * another version; E_CONFLICT "consent_exists" when a live one exists;
 * E_INPUT "not_in_community" when the residence is above community level.
 * In the caller's transaction.
 */
err face_consent(db *d, int64_t person_id, int64_t region_code, int64_t user_id,
                 const char *version, struct face_enrolment *f_r) MUST_USE;

/*
 * Enrol upload `attachment` (who's own, unclaimed) as the photo of the live
 * enrolment of `person_id` inside sc, and queue an enrol command for every
 * enabled face terminal of its community. E_CONFLICT "consent_required"
 * without a consent on record, "already_enrolled" when a photo is held;
 * E_INPUT "invalid_attachment", "unsupported_type" (field attachment: not a
 * JPEG or PNG), E_TOO_LARGE "too_large" over FACE_PHOTO_MAX. In the caller's
 * transaction; *f_r the enrolment, *terminals_r the commands queued.
 */
err face_enrol(db *d, arena *a, const struct principal *who, const struct scope *sc,
               int64_t person_id, int64_t attachment, struct face_enrolment *f_r,
               int64_t *terminals_r) MUST_USE;

/*
 * Withdraw the consent of enrolment f (live): delete its photo now, and
 * queue a delete command for every terminal that holds it or was sent it;
 * with none, the enrolment is deleted at once, else withdrawing. In the
 * caller's transaction; *pending_r the delete commands queued.
 */
err face_withdraw(db *d, struct face_enrolment *f, int64_t *pending_r) MUST_USE;

/*
 * Retry (重新下发) the failed commands of enrolment f (staff, face.manage):
 * each goes back to pending with its attempts reset, so the resends and the
 * failure rule start over, and the enrolment may raise a new face_failed
 * alert should they fail again. E_CONFLICT "nothing_failed" when none of
 * its commands is failed. In the caller's transaction; *n_r the commands
 * reset, which face_send_pending sends once it committed.
 */
err face_retry(db *d, const struct face_enrolment *f, int64_t *n_r) MUST_USE;

/* Send the pending commands of enrolment id (after its transaction
 * committed), or of device_id when enrolment_id is 0 and only those last
 * sent before `before` (the retry). Each send is audited (a photo read by
 * the platform). *sent_r counts those handed to the broker. */
err face_send_pending(db *d, arena *a, int64_t enrolment_id, int64_t device_id, int64_t before,
                      int64_t *sent_r) MUST_USE;

/* The enrolment's JSON for a resident (no ids of terminals) or staff (the
 * terminals one by one, the flags); the person's masked name when staff. */
err face_json(db *d, arena *a, const struct face_enrolment *f, bool staff, json_t **o_r) MUST_USE;

/* A live or deleted enrolment by id inside sc; E_NOT_FOUND otherwise. */
err face_find(db *d, arena *a, const struct scope *sc, int64_t id,
              struct face_enrolment *f_r) MUST_USE;

/* Enrolments inside sc, newest first; state 0 any. Items as face_json(staff). */
err face_list(db *d, arena *a, const struct scope *sc, enum face_state state, int64_t page,
              int64_t page_size, json_t **items_r, int64_t *total_r) MUST_USE;

/* The photo's bytes (live enrolments with a photo); E_NOT_FOUND otherwise.
 * The caller audits the read. */
err face_photo(db *d, arena *a, const struct face_enrolment *f, const char **mime_r,
               const void **bytes_r, size_t *n_r) MUST_USE;

/* Register the terminal topics (acks, passages), the retry hook and the
 * registry hook (terminals added, enabled, deleted) with the device
 * channel; call before device_mqtt_start. FK_FACE_RETRY_S (1..3600,
 * default 30): the least time between two sends of a command when its
 * terminal is heard from; FK_FACE_RESEND_S (1..86400, default 600): the
 * age of an unacknowledged send the sweep sends again; FK_FACE_ATTEMPTS
 * (1..100, default 5): the sends of a command before it is failed. */
err face_register(void) MUST_USE;

/*
 * One sweep at `now` (the worker's, or a test's): every live face terminal
 * gets the enrolments of its community it misses; pending commands sent
 * FK_FACE_RESEND_S ago or never, with sends left, are sent again; those
 * sent FK_FACE_ATTEMPTS times and unanswered FK_FACE_RESEND_S after the
 * last are failed, each enrolment raising one face_failed alert. Every row
 * is claimed in its own transaction. *n_r counts commands queued, sent and
 * failed.
 */
err face_sweep(db *d, int64_t now, int64_t *n_r) MUST_USE;
/* The sweep's thread every every_s seconds (FK_FACE_SWEEP; 0: off). */
err face_worker_start(const char *db_url, int every_s) MUST_USE;
void face_worker_stop(void);

#endif
