/*
 * The subcommands of the fangkong binary and the configuration they share.
 * Each returns the process exit status.
 */
#ifndef FK_CLI_H
#define FK_CLI_H

#include "http/http.h"

struct config {
    const char *data_dir;      /* FK_DATA_DIR, default ./data */
    const char *db_url;        /* FK_DB, default <data_dir>/fangkong.db */
    const char *key_file;      /* FK_KEY_FILE, default <data_dir>/keys/master.key */
    const char *audit_anchors; /* FK_AUDIT_ANCHORS, default audit-anchors.log beside the key */
    const char *bind;          /* FK_BIND, default 127.0.0.1 */
    int port;                  /* FK_PORT, default 8080 */
    int threads;               /* FK_THREADS, default: the number of cores */
    int node;                  /* FK_NODE, 0..1023 */
};

/*
 * Read flags (--db, --port, --bind, --data-dir, --key-file, --threads,
 * --node) from argv into the environment, then the configuration from the
 * environment. Other arguments are left in argv, compacted; *argc is
 * updated. Returns nonzero (after printing why) on a bad flag.
 */
int config_load(int *argc, char **argv, struct config *c);

/* Open the database, load the key and apply migrations; prints errors. */
int app_open(const struct config *c, db **d_r);

int cmd_serve(int argc, char **argv);
int cmd_init(int argc, char **argv);
int cmd_demo(int argc, char **argv);
int cmd_user_add(int argc, char **argv);
int cmd_import_regions(int argc, char **argv);
int cmd_audit_verify(int argc, char **argv);
int cmd_audit_prune(int argc, char **argv);
int cmd_backup(int argc, char **argv);
int cmd_restore(int argc, char **argv);
int cmd_routes(int argc, char **argv);
int cmd_code_recompute(int argc, char **argv);
int cmd_code_tokens(int argc, char **argv);
int cmd_devices_broker_config(int argc, char **argv);
int cmd_attach_purge(int argc, char **argv);
int cmd_stats_verify(int argc, char **argv);
int cmd_case_sweep(int argc, char **argv);
/* contact tracing (trace/cli.c) */
int cmd_trace_sweep(int argc, char **argv);
int cmd_trace_load_access(int argc, char **argv);
int cmd_check_sweep(int argc, char **argv);
/* publishing (publish/cli.c) */
int cmd_publish_render(int argc, char **argv);
int cmd_stats_verify(int argc, char **argv);

/* the data exchange's callers (exchange/cli.c) */
int cmd_exchange_caller(int argc, char **argv);

/* retention of the large datasets (retention/cli.c) */
int cmd_retention(int argc, char **argv);

/* Print an error's detail to stderr as "fangkong: <message>". */
int cli_fail(err e, const char *what);

/* FK_BACKUP_DIR, else <data dir>/backups: where scheduled backups go (backup/cli.c). */
const char *backup_dir(const struct config *c);

#endif
