/*
 * The window of a paged list or a whole export, from the number of matches.
 */
#ifndef FK_BASE_PAGING_H
#define FK_BASE_PAGING_H

#include <stdint.h>

#include "base/error.h"

/*
 * The OFFSET of page `page` (from 1; anything below counts as 1) of
 * page_size rows: the one place a list turns its paging parameters into SQL.
 */
int64_t paging_offset(int64_t page, int64_t page_size);

/*
 * page_size > 0: the rows of page `page` (from 1). page_size <= 0: every
 * match, at most export_max (E_TOO_LARGE "export_too_large", 413, on field
 * "format" beyond it, as every export's cap answers). Sets the LIMIT and
 * OFFSET to bind and *want_r, the rows that will come back (0 past the
 * end), so the caller can size its array once.
 */
err paging_window(int64_t total, int64_t page, int64_t page_size, int64_t export_max,
                  int64_t *limit_r, int64_t *offset_r, int64_t *want_r) MUST_USE;

#endif
