/*
 * Registers every capability's routes with the router.
 */
#include "app.h"

#include "code/code.h"
#include "person/person.h"

#define ADD(name) router_add(name##_routes, name##_routes_n)

void app_routes(void)
{
    ADD(http_builtin);
    ADD(auth);
    ADD(user);
    ADD(place);
    ADD(region);
    ADD(enterprise);
    ADD(role);
    ADD(audit);
    ADD(person);
    ADD(person_self);
    ADD(health);
    ADD(code);
    ADD(job);
    /* a change of status or residence recomputes the person's code */
    person_on_change(code_person_changed);
    ADD(venue);
    ADD(alert);
    ADD(access);
    ADD(visitor);
    ADD(vehicle);
    ADD(device);
    ADD(workbench);
}
