#include "base/paging.h"

#include <stddef.h>

int64_t paging_offset(int64_t page, int64_t page_size)
{
    return (page > 1 ? page - 1 : 0) * page_size;
}

err paging_window(int64_t total, int64_t page, int64_t page_size, int64_t export_max,
                  int64_t *limit_r, int64_t *offset_r, int64_t *want_r)
{
    int64_t limit = page_size, offset = 0;
    if (limit <= 0) {
        if (total > export_max)
            return err_set(E_TOO_LARGE, "export_too_large", "format",
                           "一次最多导出%lld条记录，请缩小筛选范围", (long long)export_max);
        limit = export_max;
    } else {
        offset = paging_offset(page, limit);
    }
    *limit_r = limit;
    *offset_r = offset;
    *want_r = offset < total ? (total - offset < limit ? total - offset : limit) : 0;
    return E_OK;
}
