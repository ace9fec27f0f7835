/*
 * The measurements `fangkong doctor` and the /metrics gauges share
 * (doctor.h): the data folder's disk, the certificate's expiry, and
 * PostgreSQL's replication state and lag.
 */
#include "doctor/doctor.h"

#include <errno.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

bool doctor_disk(const char *dir, uint64_t *free_r, uint64_t *total_r)
{
    struct statvfs st;
    if (statvfs(dir, &st) != 0)
        return false;
    /* f_bavail: what an unprivileged writer (the service user) can still use */
    *free_r = (uint64_t)st.f_bavail * st.f_frsize;
    *total_r = (uint64_t)st.f_blocks * st.f_frsize;
    return true;
}

err doctor_cert_expiry(const char *file, int64_t *seconds_r)
{
    FILE *f = fopen(file, "r");
    if (!f)
        return err_set(E_IO, "cert_unreadable", NULL, "无法读取证书文件 %s: %s", file,
                       strerror(errno));
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    if (!x)
        return err_set(E_IO, "cert_invalid", NULL, "证书文件不是 PEM 格式的 X.509 证书");
    int days = 0, secs = 0;
    /* the difference from now (NULL) to notAfter, as days and seconds */
    int ok = ASN1_TIME_diff(&days, &secs, NULL, X509_get0_notAfter(x));
    X509_free(x);
    if (!ok)
        return err_set(E_IO, "cert_invalid", NULL, "证书的有效期无法解析");
    *seconds_r = (int64_t)days * 86400 + secs;
    return E_OK;
}

err doctor_replication(db *d, bool *standby_r, double *lag_r, int64_t *standbys_r)
{
    if (db_kind(d) != DB_POSTGRES)
        return E_NOT_FOUND;
    /* one round trip: the role, then the lag as the role defines it. A
     * standby that has replayed everything it received is not behind, however
     * old its last transaction (an idle primary sends none). */
    db_stmt *s;
    err e = db_prepare(
        d,
        "SELECT CASE WHEN pg_is_in_recovery() THEN 1 ELSE 0 END,"
        " CASE WHEN pg_is_in_recovery() THEN"
        "  CASE WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0"
        "  ELSE COALESCE(CAST(EXTRACT(EPOCH FROM (now() - pg_last_xact_replay_timestamp()))"
        "   AS DOUBLE PRECISION), 0) END"
        " ELSE (SELECT COALESCE(MAX(CAST(EXTRACT(EPOCH FROM replay_lag) AS DOUBLE PRECISION)), 0)"
        "  FROM pg_stat_replication) END,"
        " (SELECT COUNT(*) FROM pg_stat_replication)",
        &s);
    if (e)
        return e;
    bool has = false;
    e = db_row(s, &has);
    if (!e && has) {
        *standby_r = db_col_int64(s, 0) == 1;
        *lag_r = db_col_double(s, 1);
        *standbys_r = db_col_int64(s, 2);
    }
    db_done(s);
    return e ? e : has ? E_OK : E_DB;
}
