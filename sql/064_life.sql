-- Community life (issue 14, seed 002 二(七); docs/community-life.md,
-- src/shop/): daily-goods shops near a community, their goods with price and
-- stock, and the orders residents (or community staff, for a sealed
-- building: 团购) place with them.

-- A shop: created by community or street staff inside their scope, with its
-- own account (role shop, users.id in user_id). region_code is the shop's
-- community (or a lower level); residents of that community see it.
CREATE TABLE shops (
    id          BIGINT PRIMARY KEY,
    name        TEXT NOT NULL,
    region_code BIGINT NOT NULL,
    address     TEXT NOT NULL DEFAULT '',
    phone       TEXT NOT NULL DEFAULT '',   -- the shop's business phone, not personal
    user_id     BIGINT NOT NULL,
    enabled     INTEGER NOT NULL DEFAULT 1,
    created_by  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX shops_user ON shops (user_id);
CREATE INDEX shops_region ON shops (region_code);

-- A shop's goods: price in fen (分), the stock an order reserves from.
CREATE TABLE shop_goods (
    id          BIGINT PRIMARY KEY,
    shop_id     BIGINT NOT NULL,
    name        TEXT NOT NULL,
    unit        TEXT NOT NULL DEFAULT '',
    price       BIGINT NOT NULL,
    stock       BIGINT NOT NULL,
    on_sale     INTEGER NOT NULL DEFAULT 1,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    CHECK (stock >= 0)
);
CREATE INDEX shop_goods_shop ON shop_goods (shop_id, id);

-- An order: a resident's (user_id, person_id; delivery door or pickup) or a
-- group order of community staff for a building (grp = 1, households > 0,
-- delivery to the building). region_code is where it goes: the resident's
-- residence or the building, the scope key for staff. Recipient and address
-- are sealed (labels shop_orders.recipient, shop_orders.address).
-- status: pending -> confirmed -> delivered (paid on delivery) -> received;
-- pending -> cancelled (its stock returned).
CREATE TABLE shop_orders (
    id            BIGINT PRIMARY KEY,
    shop_id       BIGINT NOT NULL,
    region_code   BIGINT NOT NULL,
    user_id       BIGINT NOT NULL,
    person_id     BIGINT NOT NULL DEFAULT 0,
    grp           INTEGER NOT NULL DEFAULT 0,
    households    BIGINT NOT NULL DEFAULT 0,
    delivery      TEXT NOT NULL,              -- door | pickup | building
    recipient_enc BYTEA,
    address_enc   BYTEA,
    note          TEXT NOT NULL DEFAULT '',
    total         BIGINT NOT NULL,            -- fen
    status        TEXT NOT NULL,
    paid          INTEGER NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL,
    confirmed_at  BIGINT NOT NULL DEFAULT 0,
    delivered_at  BIGINT NOT NULL DEFAULT 0,
    received_at   BIGINT NOT NULL DEFAULT 0,
    cancelled_at  BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX shop_orders_shop ON shop_orders (shop_id, status, id);
CREATE INDEX shop_orders_user ON shop_orders (user_id, id);
CREATE INDEX shop_orders_region ON shop_orders (region_code, id);

-- The lines of an order, the goods' name and price as they were ordered.
CREATE TABLE shop_order_items (
    order_id  BIGINT NOT NULL,
    goods_id  BIGINT NOT NULL,
    name      TEXT NOT NULL,
    unit      TEXT NOT NULL DEFAULT '',
    price     BIGINT NOT NULL,
    qty       BIGINT NOT NULL,
    PRIMARY KEY (order_id, goods_id)
);

-- Parcels and take-away arrivals (快递外卖, src/parcel/): recorded by a
-- delivery account (role delivery) at a building of its scope with the
-- locker and pick-up code; the recipient's phone is sealed, and its blind
-- index is the one users.phone_bidx uses, so the resident signed in with
-- that phone sees the parcel (even one recorded before they signed up).
-- status: waiting -> picked.
CREATE TABLE parcels (
    id           BIGINT PRIMARY KEY,
    region_code  BIGINT NOT NULL,
    kind         TEXT NOT NULL,              -- parcel | takeaway
    carrier      TEXT NOT NULL DEFAULT '',
    locker       TEXT NOT NULL DEFAULT '',
    code_enc     BYTEA,                      -- the pick-up code, sealed
    phone_enc    BYTEA NOT NULL,
    phone_bidx   BYTEA NOT NULL,
    status       TEXT NOT NULL,
    recorded_by  BIGINT NOT NULL,
    created_at   BIGINT NOT NULL,
    picked_at    BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX parcels_phone ON parcels (phone_bidx, status);
CREATE INDEX parcels_region ON parcels (region_code, status, created_at);
CREATE INDEX parcels_recorder ON parcels (recorded_by, created_at);
