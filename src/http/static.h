/*
 * The built web front end (web/dist), served from memory.
 *
 * static_load reads every file under the directory once, at start-up, with
 * its gzip twin (`name.gz`, made by the build) when there is one. Requests
 * then never touch the disk and can only name files that were there: no
 * path is ever joined from user input. Hashed build output under /assets/
 * is cached for a year; pages are revalidated on every visit so a new
 * release is picked up at once.
 *
 * URLs: "/" and "/console" redirect to "/console/"; "/mobile" to "/mobile/";
 * a directory URL serves its index.html.
 */
#ifndef FK_HTTP_STATIC_H
#define FK_HTTP_STATIC_H

#include <stdbool.h>

#include "base/error.h"
#include "http/http.h"

/* Load `dir` (recursively). A missing directory is not an error: the API
 * still serves, and static_count() says 0. E_IO on a read error. */
err static_load(const char *dir) MUST_USE;
int static_count(void);
void static_free(void);

/* Fill r's reply for a GET or HEAD of a front-end path; false when there is
 * no such file (the caller answers 404). `gzip_ok`: the client accepts
 * gzip. */
bool static_serve(struct req *r, bool gzip_ok);

#endif
