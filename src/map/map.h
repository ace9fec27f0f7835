/*
 * The one-map (一张图, issue 12 "One-map big screen"; seed 000 §6.7.1-
 * §6.7.3; docs/map.md): what the command centre's big screen draws, as
 * GeoJSON, inside the caller's scope.
 *
 *   - the region map: a region's children with their stored boundaries,
 *     each with the value of one statistics measure (read from the
 *     counters, src/stats/, never recounted), plus the region's own
 *     outline and the path from the scope's root down to it;
 *   - the layers (专题图层): people under control and isolated people
 *     AGGREGATED per grid (one point at the grid's centre with a count:
 *     never a point per person, so no layer is personal data), checkpoints
 *     and venues, testing sites with their live queue, quarantine sites
 *     with their occupancy, medical resources, zones and cameras;
 *   - the card of a clicked point (点击查看): a region's figures and its
 *     grid workers, a site's queue or occupancy, a camera's state;
 *   - live updates: which areas' counters moved, coalesced per community
 *     and second, published on the "map" push channel (map_live_*).
 *
 * A region created without a boundary still works everywhere: its
 * feature's geometry is null (the page shows a table), points fall back
 * to the region's centre, and a thing with neither is left off the map
 * (counted in the layer's `unplaced`).
 *
 * Every function binds the caller's scope in its statements; a region or
 * record outside it is E_NOT_FOUND, as one that does not exist. JSON
 * results are new references the caller owns; strings come from `a`.
 */
#ifndef FK_MAP_MAP_H
#define FK_MAP_MAP_H

#include <jansson.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/error.h"
#include "base/vocab.h"
#include "db/db.h"
#include "security/auth.h"
#include "stats/stats.h"

/* Points one layer reply holds at most (more: `truncated` is true). */
#define MAP_POINTS_MAX 5000

enum map_layer {
    MAP_CONTROLLED = 1, /* 管控人员 (per grid) */
    MAP_ISOLATED,       /* 隔离人员 (per grid) */
    MAP_VENUES,         /* 卡口与场所 */
    MAP_NAT_SITES,      /* 核酸采样点 */
    MAP_QUARANTINE,     /* 隔离点 */
    MAP_MEDICAL,        /* 医疗资源 */
    MAP_ZONES,          /* 封控管控区域 */
    MAP_CAMERAS,        /* 视频监控 */
    MAP_LAYER__COUNT
};
extern const struct vocab map_layer_vocab;

/* What a card can be asked for. */
enum map_card_kind {
    MAP_CARD_REGION = 1, /* a region (a grid: with its grid workers); id is its code */
    MAP_CARD_VENUE,
    MAP_CARD_NAT_SITE,
    MAP_CARD_QUARANTINE,
    MAP_CARD_PLACE,
    MAP_CARD_ZONE,
    MAP_CARD_CAMERA,
    MAP_CARD__COUNT
};
extern const struct vocab map_card_vocab;

/*
 * The region map of `code` (inside sc): a FeatureCollection of its
 * children, each {"type":"Feature","id":code,"properties":{"region_code",
 * "name","level","level_label","has_children","value"[,"today"]},
 * "geometry": the boundary or null}, with the foreign members "region"
 * (the same for `code` itself, with its geometry and centre), "measure"
 * {name,label,kind}, "max" (the largest child value) and "path" (the
 * regions from the scope's root down to `code`, [{region_code,name}]).
 * A value is the statistics API's figure: a level's count now, a flow's
 * cumulative total with today's count in "today".
 */
err map_regions(db *d, arena *a, const struct scope *sc, int64_t code,
                const struct stats_measure *m, json_t **fc_r) MUST_USE;

/*
 * One layer over the subtree of `code` (inside sc): a FeatureCollection
 * of points (zones: the zone's region outline, or its centre) with the
 * foreign members "layer", "label", "unplaced" (things without any
 * position) and "truncated" (more than MAP_POINTS_MAX). Each feature's
 * properties carry "kind" (a map_card_vocab name) and "id" for the card,
 * and "name" for the tooltip; see docs/map.md for each layer's own.
 */
err map_layer(db *d, arena *a, const struct scope *sc, int64_t code, enum map_layer layer,
              json_t **fc_r) MUST_USE;

/*
 * The card of one thing on the map, inside who's scope: {"kind","id",
 * "name","title","rows":[{"label","value"}],...} with what a person on
 * duty reads (names, not codes); a region's card has its "figures" and,
 * for a grid, "grid_workers" [{name}] (accounts with the grid_worker role
 * assigned to it, not disabled). E_NOT_FOUND outside the scope.
 */
err map_card(db *d, arena *a, const struct principal *who, enum map_card_kind kind, int64_t id,
             json_t **card_r) MUST_USE;

/* ---- live updates (live.c) ---- */

/*
 * The stats_on_add subscriber: remembers, for the writer's transaction,
 * the community (or the region itself, when above one) of a counter that
 * moved; once the transaction ends the community is marked changed.
 */
void map_counter_moved(db *d, int64_t region_code);

/*
 * Publish, once a second, one "changed" event per community marked since
 * the last one on the "map" channel ({"region_code": its code}), to the
 * streams whose scope holds it. Runs on its own thread (db/periodic.h);
 * map_live_stop ends it. On PostgreSQL it also tells the other servers
 * (NOTIFY fk_map) and publishes what they tell it (db_listen_start; the
 * listener ends with db_listen_stop).
 */
err map_live_start(const char *db_url) MUST_USE;
void map_live_stop(void);

#endif
