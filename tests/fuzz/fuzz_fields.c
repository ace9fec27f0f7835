/* Field validators and normalisers fed from user input: id numbers of
 * every type, credit codes, phones, region codes, ids and the name-search
 * tokenizer. The input is split at NUL bytes into the strings to check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/error.h"
#include "base/json.h"
#include "base/regcode.h"
#include "base/validate.h"
#include "person/person.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

static void one(const char *s)
{
    for (int t = ID_RESIDENT; t <= ID_OTHER; t++)
        (void)check_id_number((enum id_type)t, s, "id_number");
    (void)id_type_parse(s);
    (void)check_credit_code(s, "credit_code");
    (void)check_phone(s, "phone");
    int32_t birth;
    bool male;
    (void)check_resident_id(s, "id_number", &birth, &male);
    enum region_level lv;
    int64_t code = regcode_parse(s, &lv);
    if (code > 0) {
        char out[19];
        regcode_format(code, out);
        (void)regcode_end(code);
        (void)regcode_parent(code);
    }
    (void)region_level_parse(s);
    (void)id_parse(s);

    char buf[PERSON_TOKEN_BUF];
    const char *tok[PERSON_TOKENS_MAX];
    (void)person_name_tokens(s, buf, sizeof buf, tok, PERSON_TOKENS_MAX);
    (void)person_name_query_tokens(s, buf, sizeof buf, tok, 8);
    (void)person_name_matches(s, "张三");
    (void)person_name_matches("欧阳娜娜", s);

    size_t len = strlen(s);
    char *copy = malloc(len + 1);
    memcpy(copy, s, len + 1);
    (void)person_id_normalise(copy);
    free(copy);
    err_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    char *s = malloc(n + 1);
    memcpy(s, data, n);
    s[n] = '\0';
    for (char *p = s; p < s + n + 1; p += strlen(p) + 1)
        one(p);
    free(s);
    return 0;
}
