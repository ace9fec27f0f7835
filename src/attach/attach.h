/*
 * Attachments (附件, issue 9; docs/attachments.md): the photos, voice notes
 * and videos that come with a report, a check, a clue, a notice — seed 000
 * §7.3.2 (图片、音频、视频).
 *
 * Bytes are checked by content, never by the name or the claimed type: the
 * first bytes must be those of an allowed format (JPEG, PNG, WebP; MP3, AAC
 * in MP4/M4A, AMR, WAV; MP4, WebM), the claimed Content-Type must agree with
 * them, and each class has its own size limit. They are stored SM4-encrypted
 * in the database (attachments.data_enc) like other personal data, so the
 * plaintext scan of the database file covers them.
 *
 * Two steps, because a phone uploads before the form is sent:
 *   1. attach_put: the upload, owned by its uploader and by no record yet;
 *      only the uploader may read it; unclaimed uploads are purged after
 *      ATTACH_UNCLAIMED_MS;
 *   2. attach_claim: the record that uses it (a report, a check) takes it
 *      inside its own transaction and gives it its region; from then on it
 *      is read under that region's scope (and by its uploader), audited.
 */
#ifndef FK_ATTACH_ATTACH_H
#define FK_ATTACH_ATTACH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "db/db.h"
#include "security/auth.h"

enum attach_class { ATTACH_IMAGE = 1, ATTACH_AUDIO, ATTACH_VIDEO };

#define ATTACH_IMAGE_MAX     (8u << 20) /* bytes */
#define ATTACH_AUDIO_MAX     (10u << 20)
#define ATTACH_VIDEO_MAX     (50u << 20)
#define ATTACH_UNCLAIMED_MS  (24LL * 3600 * 1000)
#define ATTACH_PER_OWNER_MAX 9 /* attachments one record may claim */

/* Upload limits per user and hour, so that nobody fills the disk
 * (FK_ATTACH_UPLOADS_PER_HOUR, FK_ATTACH_MB_PER_HOUR: attach_limits_set). */
#define ATTACH_UPLOADS_PER_HOUR 60
#define ATTACH_BYTES_PER_HOUR   (200LL << 20)

/* "image", "audio", "video". */
const char *attach_class_name(enum attach_class c);

/*
 * The type of `bytes` by content: its MIME type ("image/jpeg", …) and class
 * into *mime_r / *class_r. `claimed` (the request's Content-Type, may be
 * NULL: no claim) must name the same type; its parameters (";codecs=…")
 * and case are ignored, and a few aliases phones send are accepted
 * (audio/x-m4a, audio/mp3, audio/x-wav, image/jpg …). E_INPUT
 * "unsupported_type" (field "file") for bytes of no allowed format (HTML,
 * SVG: scriptable, refused), "type_mismatch" when the claim disagrees,
 * "empty" for no bytes; E_TOO_LARGE "too_large" (413, field "file") over
 * the class's limit (exactly the limit passes). Pure.
 */
err attach_sniff(const void *bytes, size_t n, const char *claimed, const char **mime_r,
                 enum attach_class *class_r) MUST_USE;

/* Store an upload of `who` (sniffed first), unclaimed. *id_r gets its id.
 * The caller audits it ("attachment.upload") in the same transaction
 * (db_hold, req_audit), since only it knows the request's address. */
err attach_put(db *d, const struct principal *who, const char *claimed, const void *bytes, size_t n,
               int64_t *id_r) MUST_USE;

/*
 * Inside the caller's transaction: the record (owner_kind "incident",
 * "check", …; owner_id) takes upload `id`, which must be who's own and
 * unclaimed (E_INPUT "invalid_attachment" with `field` otherwise, so a
 * report naming someone else's upload is refused and changes nothing); the
 * attachment gets region_code. At most ATTACH_PER_OWNER_MAX per record
 * (E_INPUT "too_many_attachments" with `field`).
 */
err attach_claim(db *d, const struct principal *who, int64_t id, const char *owner_kind,
                 int64_t owner_id, int64_t region_code, const char *field) MUST_USE;

/* attach_claim for every id of a JSON array of id strings (the body's
 * "attachments"), the field named "attachments[i]"; NULL or [] is none.
 * Not an array: "invalid_attachment" on "attachments"; more than
 * ATTACH_PER_OWNER_MAX: "too_many_attachments" on "attachments". */
err attach_claim_all(db *d, const struct principal *who, json_t *ids, const char *owner_kind,
                     int64_t owner_id, int64_t region_code) MUST_USE;

/* The attachments of a record as JSON [{id, mime, class, size, created_at}]
 * (no bytes), oldest first; the caller has checked the record's scope. */
err attach_list(db *d, const char *owner_kind, int64_t owner_id, json_t **items_r) MUST_USE;

/*
 * The decrypted bytes of attachment id for `who`: its uploader, or staff
 * whose scope holds the region of a claimed one and who see the records
 * that hold attachments (case.read, case.report or check.write; not
 * residents: a resident's scope is where they live, not a licence to read
 * the neighbours' reports). E_NOT_FOUND otherwise, also for an unclaimed
 * upload of someone else. Audited by the caller's request.
 */
err attach_get(db *d, arena *a, const struct principal *who, int64_t id, const char **mime_r,
               const void **bytes_r, size_t *n_r) MUST_USE;

/* What attach_get checks and the /meta reply shows, without the bytes. */
struct attach_meta {
    int64_t id, uploader_id, owner_id, region_code, size, created_at, claimed_at;
    char owner_kind[32]; /* "" while unclaimed */
    char mime[24];
    enum attach_class class;
    uint8_t sm3[32]; /* of the plaintext */
};

/* The metadata of attachment id for `who`, under attach_get's rule
 * (E_NOT_FOUND otherwise). */
err attach_meta(db *d, const struct principal *who, int64_t id, struct attach_meta *m) MUST_USE;

/* Delete unclaimed uploads older than ATTACH_UNCLAIMED_MS; *n_r counts. */
err attach_purge(db *d, int64_t now, int64_t *n_r) MUST_USE;

/* Count one upload of n bytes by `who` against the hourly limits: E_RATE
 * "upload_rate_limited" (429) past ATTACH_UPLOADS_PER_HOUR attempts (every
 * attempt counts, refused ones too: security/ratelimit.h, key
 * "attach_upload:<user id>") or past ATTACH_BYTES_PER_HOUR stored in the
 * last hour including these n. Call outside the upload's transaction, so a
 * refused upload still counts. */
err attach_rate_check(db *d, const struct principal *who, size_t n, int64_t now) MUST_USE;

/* The limits (<= 0: the default); set once at start-up. */
void attach_limits_set(int uploads_per_hour, int64_t bytes_per_hour);

/* A thread that runs attach_purge every `every_s` seconds (0: none) with
 * its own connection to db_url; stop joins it. */
err attach_worker_start(const char *db_url, int every_s) MUST_USE;
void attach_worker_stop(void);

/* ---- records that hold their photo themselves (face enrolments, face.h) ---- */

/* The decrypted bytes of attachment `id` when the record owner_kind /
 * owner_id holds it: the owning module's own read (a face photo sent to
 * the terminals), not a person's; the caller audits it. E_NOT_FOUND
 * otherwise (also once deleted). */
err attach_read_owned(db *d, arena *a, int64_t id, const char *owner_kind, int64_t owner_id,
                      const char **mime_r, const void **bytes_r, size_t *n_r) MUST_USE;

/* Delete at once, in the caller's transaction, every attachment the record
 * owner_kind / owner_id holds (a withdrawn consent); *n_r (may be NULL)
 * counts them. */
err attach_delete_owned(db *d, const char *owner_kind, int64_t owner_id, int64_t *n_r) MUST_USE;

/* Delete attachment id, in the caller's transaction, when the record
 * owner_kind / owner_id holds it (an image taken out of an article's body);
 * E_NOT_FOUND otherwise. */
err attach_delete_one_owned(db *d, int64_t id, const char *owner_kind, int64_t owner_id) MUST_USE;

#endif
