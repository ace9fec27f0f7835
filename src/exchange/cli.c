/*
 * `fangkong exchange caller add`: the operator's way to register an
 * exchange caller (operators setting up a link, and the tests). The checks
 * are the API's (exchange_caller_parse, exchange_caller_create); the command
 * line is trusted with every region. It prints the caller's id and writes
 * the private key, which is never stored, to the file the operator names
 * (created with mode 0600; an existing file is not overwritten).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/arena.h"
#include "cli.h"
#include "exchange/exchange.h"
#include "security/audit.h"

static int usage_error(const char *msg, const char *arg)
{
    fprintf(stderr, "fangkong exchange caller add: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    fputs("用法: fangkong exchange caller add --name NAME --org ORGANISATION --region CODE[,CODE]\n"
          "       [--read-region CODE[,CODE]] [--read DATASET,...] [--write DATASET,...]\n"
          "       [--rate N] [--contact NAME]\n"
          "       [--phone PHONE] [--expires EPOCH_MS] --key-out FILE\n",
          stderr);
    return 2;
}

/* "a,b,c" as a JSON array of strings ("" is an empty array). */
static json_t *list_json(const char *s)
{
    json_t *v = json_array();
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", s ? s : "");
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save))
        json_array_append_new(v, json_string(t));
    return v;
}

static int write_key(int fd, const char *path, const char *pem)
{
    size_t n = strlen(pem), off = 0;
    while (off < n) {
        ssize_t w = write(fd, pem + off, n - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            fprintf(stderr, "fangkong exchange caller add: writing %s: %s\n", path,
                    strerror(errno));
            close(fd);
            return 1;
        }
        off += (size_t)w;
    }
    if (fsync(fd) || close(fd)) {
        fprintf(stderr, "fangkong exchange caller add: writing %s: %s\n", path, strerror(errno));
        return 1;
    }
    return 0;
}

int cmd_exchange_caller(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc < 1 || strcmp(argv[0], "add"))
        return usage_error("expected 'add'", argc ? argv[0] : NULL);
    const char *name = NULL, *org = NULL, *region = NULL, *rd = "", *wr = "", *rate = NULL,
               *contact = NULL, *phone = NULL, *expires = NULL, *key_out = NULL, *read_region = "";
    /* --read-region: subtrees granted for reading only (docs/exchange.md "Federation") */
    static const char *const flags[] = {"--name",    "--org",     "--region",     "--read",
                                        "--write",   "--rate",    "--contact",    "--phone",
                                        "--expires", "--key-out", "--read-region"};
    const char **slots[] = {&name,    &org,   &region,  &rd,      &wr,         &rate,
                            &contact, &phone, &expires, &key_out, &read_region};
    for (int i = 1; i < argc; i++) {
        size_t k = 0;
        while (k < sizeof flags / sizeof flags[0] && strcmp(argv[i], flags[k]))
            k++;
        if (k == sizeof flags / sizeof flags[0])
            return usage_error("unexpected argument", argv[i]);
        if (i + 1 >= argc)
            return usage_error("missing value for", argv[i]);
        *slots[k] = argv[++i];
    }
    if (!name || !org || !region || !key_out)
        return usage_error("--name, --org, --region and --key-out are required", NULL);
    /* the file first: a caller whose key could not be written is useless */
    int fd = open(key_out, O_WRONLY | O_CREAT | O_EXCL, 0600);
    if (fd < 0) {
        fprintf(stderr, "fangkong exchange caller add: cannot create %s: %s\n", key_out,
                strerror(errno));
        return 1;
    }

    json_t *b = json_object();
    json_object_set_new(b, "name", json_string(name));
    json_object_set_new(b, "organisation", json_string(org));
    json_object_set_new(b, "contact_name", json_string(contact ? contact : "运维人员"));
    json_object_set_new(b, "contact_phone", json_string(phone ? phone : "00000000"));
    json_object_set_new(b, "regions", list_json(region));
    json_object_set_new(b, "read_regions", list_json(read_region));
    json_object_set_new(b, "read", list_json(rd));
    json_object_set_new(b, "write", list_json(wr));
    if (rate)
        json_object_set_new(b, "rate_per_min", json_integer(strtoll(rate, NULL, 10)));
    if (expires)
        json_object_set_new(b, "expires_at", json_integer(strtoll(expires, NULL, 10)));
    struct exchange_caller_input in;
    err e = exchange_caller_parse(b, false, &in);
    db *d = NULL;
    arena *a = arena_new(0); /* the command's own, as a handler has the request's */
    int64_t id = 0;
    char *priv = NULL;
    if (!e && app_open(&c, &d)) {
        json_decref(b);
        arena_free(&a);
        close(fd);
        unlink(key_out);
        return 1;
    }
    if (!e)
        e = exchange_caller_create(d, a, NULL, &in, &id, &priv);
    if (!e) {
        struct audit_entry ae = {.username = "cli",
                                 .role = "cli",
                                 .action = "exchange.caller.create",
                                 .object_type = "exchange_caller",
                                 .object_id = id,
                                 .result = "ok",
                                 .detail = "source=cli"};
        e = audit_log(d, &ae);
    }
    json_decref(b);
    int rc = 0;
    if (e) {
        const struct err_detail *det = err_last();
        fprintf(stderr, "fangkong exchange caller add: %s%s%s\n",
                det->code == e && det->message[0] ? det->message : err_message(e),
                det->code == e && det->field[0] ? " — " : "",
                det->code == e && det->field[0] ? det->field : "");
        rc = 1;
        close(fd);
        unlink(key_out);
    } else if ((rc = write_key(fd, key_out, priv)) == 0) {
        printf("%lld\n", (long long)id);
    }
    if (priv)
        explicit_bzero(priv, strlen(priv));
    if (d) {
        audit_checkpoint();
        db_close(&d);
    }
    arena_free(&a);
    return rc;
}
