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

/*
 * The type of `bytes` by content: its MIME type ("image/jpeg", …) and class
 * into *mime_r / *class_r. `claimed` (the request's Content-Type, may be
 * NULL) must name the same type. E_INPUT "unsupported_type" (field "file")
 * for bytes of no allowed format, "type_mismatch" when the claim disagrees,
 * "too_large" over the class's limit, "empty" for no bytes. Pure.
 */
err attach_sniff(const void *bytes, size_t n, const char *claimed, const char **mime_r,
                 enum attach_class *class_r) MUST_USE;

/* Store an upload of `who` (sniffed first), unclaimed; audited as
 * attachment.upload. *id_r gets its id. */
err attach_put(db *d, const struct principal *who, const char *claimed, const void *bytes, size_t n,
               int64_t *id_r) MUST_USE;

/*
 * Inside the caller's transaction: the record (owner_kind "incident",
 * "check", …; owner_id) takes upload `id`, which must be who's own and
 * unclaimed (E_INPUT "invalid_attachment" with `field` otherwise, so a
 * report naming someone else's upload is refused and changes nothing); the
 * attachment gets region_code. At most ATTACH_PER_OWNER_MAX per record.
 */
err attach_claim(db *d, const struct principal *who, int64_t id, const char *owner_kind,
                 int64_t owner_id, int64_t region_code, const char *field) MUST_USE;

/* attach_claim for every id of a JSON array of id strings (the body's
 * "attachments"), the field named "attachments[i]"; NULL or [] is none. */
err attach_claim_all(db *d, const struct principal *who, json_t *ids, const char *owner_kind,
                     int64_t owner_id, int64_t region_code) MUST_USE;

/* The attachments of a record as JSON [{id, mime, class, size, created_at}]
 * (no bytes), oldest first; the caller has checked the record's scope. */
err attach_list(db *d, const char *owner_kind, int64_t owner_id, json_t **items_r) MUST_USE;

/*
 * The decrypted bytes of attachment id for `who`: its uploader, or anyone
 * whose scope holds its region (E_NOT_FOUND otherwise, also for an
 * unclaimed upload of someone else). Audited by the caller's request.
 */
err attach_get(db *d, arena *a, const struct principal *who, int64_t id, const char **mime_r,
               const void **bytes_r, size_t *n_r) MUST_USE;

/* Delete unclaimed uploads older than ATTACH_UNCLAIMED_MS; *n_r counts. */
err attach_purge(db *d, int64_t now, int64_t *n_r) MUST_USE;

#endif
