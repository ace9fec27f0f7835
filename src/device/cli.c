/*
 * `fangkong devices broker-config DIR`: the mosquitto broker's password,
 * ACL and configuration files from the device registry (device.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "cli.h"
#include "device/device.h"
#include "device/internal.h"

int cmd_devices_broker_config(int argc, char **argv)
{
    struct config c;
    if (config_load(&argc, argv, &c))
        return 2;
    if (argc != 1) {
        fprintf(stderr, "usage: fangkong devices broker-config DIR\n");
        return 2;
    }
    const char *url = getenv("FK_MQTT_URL");
    struct mqtt_url u;
    if (!url || !*url) {
        fprintf(stderr, "fangkong: FK_MQTT_URL is not set (mqtt://user:password@host:port)\n");
        return 2;
    }
    err e = mqtt_url_parse(url, &u);
    if (e)
        return cli_fail(e, "FK_MQTT_URL");
    if (!u.user[0] || !u.pass[0]) {
        fprintf(stderr, "fangkong: FK_MQTT_URL must carry the server's user and password\n");
        return 2;
    }
    mkdir(argv[0], 0700);
    db *d;
    if (app_open(&c, &d))
        return 1;
    e = device_broker_write(d, argv[0], u.user, u.pass);
    if (!e)
        e = device_broker_conf(argv[0], &u);
    db_close(&d);
    if (e)
        return cli_fail(e, "broker-config");
    printf("%s/mosquitto.conf\n", argv[0]);
    return 0;
}
