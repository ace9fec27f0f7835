/*
 * `fangkong audit verify`: walk every node's audit hash chain in the
 * configured database and report the first broken link, for operators and
 * for scripts (exit status 0 intact, 1 broken or not verifiable, 2 usage).
 * It only reads: a check run on a tampered log must not extend the chain.
 */
#include <stdio.h>

#include "cli.h"
#include "security/audit.h"

int cmd_audit_verify(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc) {
        fprintf(stderr, "fangkong audit verify: unexpected argument '%s'\n", argv[0]);
        return 2;
    }
    db *d;
    if (app_open(&c, &d))
        return 1;
    struct audit_verify_result v;
    err e = audit_verify(d, &v);
    db_close(&d);
    if (e)
        return cli_fail(e, "audit verify");
    if (v.broken_id == 0) {
        printf("audit chain intact: %lld entries checked\n", (long long)v.checked);
        return 0;
    }
    if (v.broken_id > 0)
        printf("audit chain BROKEN at entry %lld (node %d): %s\n", (long long)v.broken_id, v.node,
               v.reason);
    else /* a recorded chain head whose chain has no entries left */
        printf("audit chain BROKEN at the end of the chain (node %d): %s\n", v.node, v.reason);
    printf("%lld entries checked before the break\n", (long long)v.checked);
    return 1;
}
