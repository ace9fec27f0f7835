/*
 * The change log (contract in exchange.h, tables in
 * sql/054_exchange_changes.sql): every write of a record of an exchanged
 * dataset appends one numbered row, in the writer's own transaction, so a
 * change is logged exactly when the write commits. The change cursors
 * (datasets.c) and the outbox read it.
 */
#include "exchange/exchange.h"

#include <string.h>

#include "base/id.h"

err exchange_change(db *d, enum exchange_dataset ds, int64_t object_id, int64_t region_code,
                    const char *op)
{
    if ((unsigned)ds >= DS__COUNT || !op || (strcmp(op, "upsert") && strcmp(op, "delete")))
        return err_set(E_INTERNAL, "exchange_change", NULL, "内部错误");
    /* outside a transaction the number and the write could commit apart:
     * a reader would see a change of a write that failed, or miss one */
    if (!db_in_tx(d))
        return err_set(E_INTERNAL, "exchange_change_outside_tx", NULL, "内部错误");
    const char *name = exchange_dataset_name(ds);
    db_stmt *s;
    err e =
        db_prepare(d, "UPDATE exchange_seq SET seq = seq + 1 WHERE dataset = ? RETURNING seq", &s);
    if (e)
        return e;
    db_bind_text(s, 1, name);
    bool row = false;
    int64_t seq = 0;
    if (!(e = db_row(s, &row)) && row)
        seq = db_col_int64(s, 0);
    db_done(s);
    if (e)
        return e;
    if (!row)
        return err_set(E_INTERNAL, "exchange_seq_missing", NULL, "内部错误");
    if ((e = db_prepare(d,
                        "INSERT INTO exchange_changes (dataset, seq, object_id, region_code, op, "
                        "at) VALUES (?, ?, ?, ?, ?, ?)",
                        &s)))
        return e;
    db_bind_text(s, 1, name);
    db_bind_int64(s, 2, seq);
    db_bind_int64(s, 3, object_id);
    db_bind_int64(s, 4, region_code);
    db_bind_text(s, 5, op);
    db_bind_int64(s, 6, now_ms());
    return db_run(s, NULL);
}
