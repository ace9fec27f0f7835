/*
 * The vocabularies of enterprises resuming work (enterprise.h), on their
 * own so that the vocabulary document (vocab/api.c) can list them without
 * the whole contract, whose record names (struct declaration) another
 * capability's header also uses.
 */
#ifndef FK_ENTERPRISE_VOCAB_H
#define FK_ENTERPRISE_VOCAB_H

#include "base/vocab.h"

/* The symptoms a clock-in may name: "cough", "fatigue", "sore_throat",
 * "short_breath", "diarrhea", "taste_loss" (干咳, 乏力, 咽痛, 气促, 腹泻,
 * 嗅味觉减退). */
extern const struct vocab clockin_symptom_vocab;
/* The transport kinds: "car", "train", "plane", "bus", "ship", "other". */
extern const struct vocab decl_transport_vocab;
/* "none", "pending", "returned", "approved" with their Chinese labels. */
extern const struct vocab resume_status_vocab;

#endif
