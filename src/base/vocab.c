/*
 * Look-ups in a vocabulary table (base/vocab.h).
 */
#include "base/vocab.h"

#include <string.h>

const char *vocab_name(const struct vocab *v, size_t i)
{
    return i < v->n && v->words[i].name ? v->words[i].name : "";
}

const char *vocab_label(const struct vocab *v, size_t i)
{
    return i < v->n && v->words[i].name && v->words[i].label ? v->words[i].label : "";
}

int vocab_parse(const struct vocab *v, const char *s)
{
    for (size_t i = 0; s && i < v->n; i++)
        if (v->words[i].name && !strcmp(v->words[i].name, s))
            return (int)i;
    return -1;
}

const char *vocab_label_of(const struct vocab *v, const char *s)
{
    int i = vocab_parse(v, s);
    return i < 0 ? "" : vocab_label(v, (size_t)i);
}
