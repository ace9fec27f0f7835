/*
 * Observers of exchange calls (contract in exchange.h): the metrics and the
 * monitoring register here, the fronts, the outbox and the connectors
 * report here, and neither side includes the other.
 */
#include "exchange/exchange.h"

#define OBSERVERS_MAX 8

/* Written before the server starts its threads, read-only afterwards. */
static void (*observers[OBSERVERS_MAX])(const struct exchange_call_record *);
static int nobservers;

err exchange_on_call(void (*fn)(const struct exchange_call_record *rec))
{
    if (nobservers == OBSERVERS_MAX)
        return err_set(E_INTERNAL, "too_many_observers", NULL, "内部错误");
    observers[nobservers++] = fn;
    return E_OK;
}

void exchange_record_call(const struct exchange_call_record *rec)
{
    for (int i = 0; i < nobservers; i++)
        observers[i](rec);
}
