/*
 * The catch-up hook (db/catchup.h): one function pointer, set at start-up
 * before any reader runs and never changed while serving.
 */
#include "db/catchup.h"

#include <stddef.h>

static void (*catch_up)(void);

void db_catch_up_set(void (*wait)(void))
{
    catch_up = wait;
}

void db_catch_up(void)
{
    if (catch_up)
        catch_up();
}
