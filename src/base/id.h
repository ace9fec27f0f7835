/*
 * 64-bit time-ordered ids made by the application, and the clock.
 *
 * An id is (milliseconds since 2024-01-01 UTC) << 22 | node << 12 | sequence:
 * 41 bits of time (69 years), 10 bits of node (1024 servers or levels), 12
 * bits of sequence (4096 ids per millisecond per node). Ids sort by creation
 * time and never collide across nodes, so records can move between a
 * district and a city instance without renumbering.
 */
#ifndef FK_BASE_ID_H
#define FK_BASE_ID_H

#include <stdint.h>

/* Set this instance's node number (0..1023, FK_NODE). */
void id_set_node(int node);
int id_node(void);

/* A new id; thread-safe. */
int64_t id_new(void);
/* The next id above `taken` and every id handed out: another process of
 * this node (a CLI command beside the server) took the ids up to `taken`. */
int64_t id_after(int64_t taken);

/* The creation time of an id, in epoch milliseconds. */
int64_t id_time_ms(int64_t id);
/* The smallest id made at or after `ms` (Unix ms): time ranges over
 * time-ordered rows become id ranges on the primary key. */
int64_t id_min_at(int64_t ms);

/* A monotonic clock in microseconds, for durations. */
uint64_t mono_us(void);

/* Wall-clock time in epoch milliseconds (UTC). */
int64_t now_ms(void);

/*
 * Shift now_ms() (and so id_new()) by `ms` from the real clock, for the
 * whole process: `fangkong demo` builds its district a week in the past and
 * lives the week through to the present, so every record keeps the time it
 * was written through the capabilities' own functions. Never the server.
 * Shifting back after ids were handed out keeps ids unique (id_new never
 * goes back) but no longer time-ordered: shift before the first id.
 */
void clock_shift(int64_t ms);

#endif
