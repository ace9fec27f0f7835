/*
 * Private to hotline/: the names its storage (hotline.c) and its jobs
 * (import.c) share.
 */
#ifndef FK_HOTLINE_INTERNAL_H
#define FK_HOTLINE_INTERNAL_H

/* Sealing labels of the caller's fields (security/crypto.h). */
#define HOTLINE_SEAL_NAME  "hotline.caller_name"
#define HOTLINE_SEAL_PHONE "hotline.caller_phone"

/* The measures (stats/): tickets and matched tickets per received day, and
 * the family of matches per rule ("hotline.rule.<rule id>"). */
#define HOTLINE_M_TICKETS "hotline.tickets"
#define HOTLINE_M_MATCHED "hotline.matched"
#define HOTLINE_M_RULE    "hotline.rule"

#endif
