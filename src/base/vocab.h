/*
 * Vocabularies: the enumerated values a record field may take, each with
 * the name the API and the database use ("home_isolation") and the Chinese
 * label a person reads ("居家隔离"). A capability holds each of its
 * vocabularies in ONE table of this type; its name/label/parse functions,
 * its JSON checks and GET /api/v1/vocabularies (src/vocab/) all read that
 * table, so a value is never spelt in two places.
 *
 * Tables are indexed by the enum they describe; a slot whose name is NULL
 * is a hole (an enum that starts at 1 leaves slot 0 empty) and is skipped
 * by every function here.
 */
#ifndef FK_BASE_VOCAB_H
#define FK_BASE_VOCAB_H

#include <stddef.h>

struct vocab_word {
    const char *name;  /* API and stored form, ASCII */
    const char *label; /* Chinese, for people */
};

struct vocab {
    const char *key;   /* the vocabulary's name in GET /api/v1/vocabularies */
    const char *label; /* what it is, in Chinese ("人员状态") */
    const struct vocab_word *words;
    size_t n; /* slots in words, holes included */
};

#define VOCAB(key, label, words)                                                                   \
    {                                                                                              \
        key, label, words, sizeof(words) / sizeof((words)[0])                                      \
    }

/* The name / label of slot i; "" for a hole or an index out of range. */
const char *vocab_name(const struct vocab *v, size_t i);
const char *vocab_label(const struct vocab *v, size_t i);

/* The slot whose name is s; -1 when none (s NULL included). */
int vocab_parse(const struct vocab *v, const char *s);

/* The label of the word named s; "" when none. */
const char *vocab_label_of(const struct vocab *v, const char *s);

#endif
