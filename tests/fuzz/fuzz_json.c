/* Request bodies: the JSON parser and the declarative field checks every
 * route runs before its handler. */
#include <stddef.h>
#include <stdint.h>

#include "base/error.h"
#include "base/json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static const char *const kinds[] = {"community", "factory", NULL};
static const struct jfield fields[] = {
    {"name", J_STRING, JF_REQUIRED, 1, 20, "名称"},
    {"kind", J_STRING, 0, 0, 0, "类型", kinds},
    {"count", J_INT, JF_NULLABLE, 0, 100000, "数量"},
    {"area", J_NUMBER, 0, 0, 0, "面积"},
    {"flag", J_BOOL, 0, 0, 0, "标记"},
    {"tags", J_ARRAY, 0, 0, 0, "标签"},
    {"geo", J_OBJECT, 0, 0, 0, "范围"},
    {NULL},
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    json_t *j = NULL;
    if (json_parse_body((const char *)data, n, &j) == E_OK) {
        (void)json_check(j, fields, false);
        (void)json_check(j, fields, true);
        const char *s = json_str(j, "name");
        if (s) {
            (void)utf8_len(s);
            (void)utf8_valid_text(s);
            (void)id_parse(s);
        }
        (void)json_int(j, "count", 0);
        (void)json_num(j, "area", 0);
        json_decref(j);
    }
    err_clear();
    return 0;
}
