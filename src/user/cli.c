/*
 * `fangkong user add`: the operator's way to create accounts, above all the
 * first administrators, whom no one can create through the API (see the
 * grant rules in user/user.h). Checks are the API's (user_create); the
 * command line is trusted with every region and every role.
 */
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/regcode.h"
#include "cli.h"
#include "security/audit.h"
#include "user/user.h"

#define MAX_ROLE_ARGS USER_ROLES_MAX

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "fangkong user add: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fputs("用法: fangkong user add --username U --password P --role ROLE[,ROLE2] --region CODE "
          "[--name NAME] [--department ID]\n",
          stderr);
    return 2;
}

/* Read a password from standard input (`--password -`), so it appears
 * neither in the process list nor in the shell history. */
static char *read_password(char *buf, size_t n)
{
    if (!fgets(buf, (int)n, stdin))
        return NULL;
    buf[strcspn(buf, "\r\n")] = '\0';
    return buf;
}

int cmd_user_add(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    const char *username = NULL, *password = NULL, *roles = NULL, *region = NULL, *name = NULL,
               *dept = NULL;
    static const struct {
        const char *flag;
        size_t off;
    } opts[] = {{"--username", 0}, {"--password", 1}, {"--role", 2},
                {"--region", 3},   {"--name", 4},     {"--department", 5}};
    const char **slots[] = {&username, &password, &roles, &region, &name, &dept};
    for (int i = 0; i < argc; i++) {
        size_t k = 0;
        while (k < sizeof opts / sizeof opts[0] && strcmp(argv[i], opts[k].flag))
            k++;
        if (k == sizeof opts / sizeof opts[0])
            return usage_error("unexpected argument", argv[i]);
        if (i + 1 >= argc)
            return usage_error("missing value for", argv[i]);
        *slots[opts[k].off] = argv[++i];
    }
    if (!username || !password || !roles || !region)
        return usage_error("--username, --password, --role and --region are required", NULL);

    char pwbuf[256];
    if (!strcmp(password, "-") && !(password = read_password(pwbuf, sizeof pwbuf))) {
        fprintf(stderr, "fangkong user add: no password on standard input\n");
        return 1;
    }

    /* split --role a,b,c */
    char rolebuf[512];
    snprintf(rolebuf, sizeof rolebuf, "%s", roles);
    const char *keys[MAX_ROLE_ARGS + 1];
    size_t nkeys = 0;
    for (char *save = NULL, *t = strtok_r(rolebuf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        if (nkeys == MAX_ROLE_ARGS + 1)
            break;
        keys[nkeys++] = t;
    }

    int64_t code = regcode_parse(region, NULL);
    if (code <= 0) {
        fprintf(stderr, "fangkong user add: 区划代码格式不正确: %s\n", region);
        return 1;
    }
    int64_t dept_id = 0;
    if (dept && (dept_id = id_parse(dept)) <= 0) {
        fprintf(stderr, "fangkong user add: 部门编号不正确: %s\n", dept);
        return 1;
    }

    db *d;
    if (app_open(&c, &d))
        return 1;
    struct user_new in = {
        .username = username,
        .display_name = name ? name : username,
        .password = password,
        .region_code = code,
        .department_id = dept_id,
        .roles = keys,
        .n_roles = nkeys,
        /* the operator chose this password and hands it over in person */
        .must_change_password = false,
    };
    int64_t id = 0;
    arena *ua = arena_new(0); /* the command's own, as a handler has the request's */
    err e = user_create(d, ua, NULL, &in, &id);
    arena_free(&ua);
    if (e) {
        const struct err_detail *det = err_last();
        fprintf(stderr, "fangkong user add: %s%s%s\n",
                det->code == e && det->message[0] ? det->message : err_message(e),
                det->code == e && det->field[0] ? " — " : "",
                det->code == e && det->field[0] ? det->field : "");
        db_close(&d);
        return 1;
    }
    printf("user %s created (id %lld)\n", username, (long long)id);

    struct principal p;
    if ((e = auth_principal_load(d, id, &p))) {
        db_close(&d);
        return cli_fail(e, "user add");
    }
    if (p.totp_required) {
        char secret[64], uri[256];
        if ((e = user_totp_enrol(d, id, username, secret, uri))) {
            db_close(&d);
            return cli_fail(e, "TOTP enrolment");
        }
        printf("TOTP secret: %s\n", secret);
        printf("TOTP URI: %s\n", uri);
        explicit_bzero(secret, sizeof secret);
    }

    char detail[160];
    snprintf(detail, sizeof detail, "roles=%.100s,via=cli", roles);
    struct audit_entry a = {
        .user_id = 0,
        .username = "",
        .role = "cli",
        .ip = "",
        .action = "user.create",
        .object_type = "user",
        .object_id = id,
        .result = "ok",
        .detail = detail,
    };
    e = audit_log(d, &a);
    explicit_bzero(pwbuf, sizeof pwbuf);
    db_close(&d);
    /* the account exists; say that its audit entry is missing */
    return e ? cli_fail(e, "audit") : 0;
}
