/*
 * The datasets' stable names and the caller's region grants (contract in
 * exchange.h), shared by every front, operation and connector.
 */
#include "exchange/exchange.h"

#include <string.h>

#include "security/auth.h"

static const char *const names[DS__COUNT] = {
    [DS_PERSONS] = "persons",       [DS_RETURNS] = "returns",
    [DS_CONTACTS] = "contacts",     [DS_ITINERARIES] = "itineraries",
    [DS_ISOLATIONS] = "isolations", [DS_CASES] = "cases",
    [DS_RESULTS] = "results",       [DS_NAT] = "nat",
    [DS_ZONES] = "zones",           [DS_RISK_AREAS] = "risk_areas",
    [DS_STATS] = "stats",           [DS_CODES] = "codes",
    [DS_CODE_RULES] = "code_rules", [DS_NOTICES] = "notices",
};

const char *exchange_dataset_name(enum exchange_dataset ds)
{
    return (unsigned)ds < DS__COUNT ? names[ds] : "";
}

int exchange_dataset_of(const char *name)
{
    for (int i = 0; name && i < DS__COUNT; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

bool exchange_caller_has_region(const struct exchange_caller *c, int64_t region_code)
{
    for (int i = 0; i < c->nregions; i++) {
        struct scope s = scope_of(c->regions[i]);
        if (scope_has(&s, region_code))
            return true;
    }
    return false;
}

bool exchange_caller_reads_region(const struct exchange_caller *c, int64_t region_code)
{
    if (exchange_caller_has_region(c, region_code))
        return true;
    for (int i = 0; i < c->nread_regions; i++) {
        struct scope s = scope_of(c->read_regions[i]);
        if (scope_has(&s, region_code))
            return true;
    }
    return false;
}
