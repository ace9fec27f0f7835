/*
 * Id generation with one atomic word of state: the last id handed out.
 */
#include "base/id.h"

#include <stdatomic.h>
#include <time.h>

#define EPOCH_MS 1704067200000LL /* 2024-01-01T00:00:00Z */

static int node_no;
static _Atomic int64_t last_id;
static _Atomic int64_t shift_ms; /* clock_shift: the demo's past, 0 otherwise */

void id_set_node(int node)
{
    node_no = node & 1023;
}

int id_node(void)
{
    return node_no;
}

int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000 + atomic_load(&shift_ms);
}

void clock_shift(int64_t ms)
{
    atomic_store(&shift_ms, ms);
}

uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The id after `id` in its millisecond; overflowing the sequence borrows the
 * next millisecond. */
static int64_t successor(int64_t id)
{
    return (id & 0xFFF) == 0xFFF ? (((id >> 22) + 1) << 22) | ((int64_t)node_no << 12) : id + 1;
}

int64_t id_new(void)
{
    int64_t prev = atomic_load(&last_id);
    for (;;) {
        int64_t t = now_ms() - EPOCH_MS;
        int64_t next = (t << 22) | ((int64_t)node_no << 12);
        /* same millisecond (or the clock stepped back): continue the sequence
         * of the last id; overflowing it borrows the next millisecond */
        if (next <= prev)
            next = successor(prev);
        if (atomic_compare_exchange_weak(&last_id, &prev, next))
            return next;
    }
}

int64_t id_after(int64_t taken)
{
    int64_t prev = atomic_load(&last_id), next;
    do
        next = successor(prev > taken ? prev : taken);
    while (!atomic_compare_exchange_weak(&last_id, &prev, next));
    return next;
}

int64_t id_min_at(int64_t ms)
{
    return ms <= EPOCH_MS ? 0 : (ms - EPOCH_MS) << 22;
}

int64_t id_time_ms(int64_t id)
{
    return (id >> 22) + EPOCH_MS;
}
