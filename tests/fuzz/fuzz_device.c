/* Device payloads as they arrive over MQTT and HTTP: temperature readings
 * and heartbeats, parsed and checked before anything is written. */
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "device/device.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t n)
{
    arena *a = arena_new(4096);
    if (!a)
        return 0;
    struct device_reading r;
    (void)device_reading_parse(a, (const char *)data, n, &r);
    (void)device_heartbeat_parse((const char *)data, n);
    arena_free(&a);
    err_clear();
    return 0;
}
