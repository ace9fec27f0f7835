-- Supplies and dispatch (物资保障调度, seed 003 "国家重点医疗物资保障调度平台";
-- issue 14; docs/supplies.md, src/supply/): the catalogue in the seed's nine
-- categories, warehouses per region and their stock, the reports (填报) of
-- stock, production and needs with their history, requests from
-- communities, quarantine sites and testing sites, their dispatch from
-- warehouses or as electronic orders to supplier enterprises, deliveries
-- with logistics states and the requester's receipt, and each request's
-- chain of events from need to receipt.

-- The nine categories (the seed's "9大类"), by stable code.
CREATE TABLE supply_categories (
    code        TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    sort        INTEGER NOT NULL
);
INSERT INTO supply_categories (code, name, sort) VALUES ('protective', '防护用品', 1);
INSERT INTO supply_categories (code, name, sort) VALUES ('disinfection', '消杀用品', 2);
INSERT INTO supply_categories (code, name, sort) VALUES ('testing', '检测试剂', 3);
INSERT INTO supply_categories (code, name, sort) VALUES ('device', '医疗器械', 4);
INSERT INTO supply_categories (code, name, sort) VALUES ('medicine', '药品', 5);
INSERT INTO supply_categories (code, name, sort) VALUES ('sampling', '采样耗材', 6);
INSERT INTO supply_categories (code, name, sort) VALUES ('isolation', '隔离物资', 7);
INSERT INTO supply_categories (code, name, sort) VALUES ('living', '生活保障物资', 8);
INSERT INTO supply_categories (code, name, sort) VALUES ('other', '其他', 9);

-- A product: its category, name, specification and unit. The seeded ones
-- have ids below 1000; those admins add get generated ids.
CREATE TABLE supply_products (
    id          BIGINT PRIMARY KEY,
    category    TEXT NOT NULL,
    name        TEXT NOT NULL,
    spec        TEXT NOT NULL DEFAULT '',
    unit        TEXT NOT NULL,
    created_by  BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX supply_products_name ON supply_products (category, name, spec);
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (1, 'protective', '医用外科口罩', 'YY 0469 一次性 独立包装', '只');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (2, 'protective', '医用防护口罩', 'GB 19083 N95 级', '只');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (3, 'protective', '一次性使用医用口罩', 'YY/T 0969', '只');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (4, 'protective', '医用一次性防护服', 'GB 19082 连体 L 号', '套');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (5, 'protective', '医用隔离衣', '一次性 无纺布', '件');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (6, 'protective', '护目镜', '防雾 可重复消毒', '副');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (7, 'protective', '防护面屏', '全脸 一次性', '个');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (8, 'protective', '医用检查手套', '丁腈 M 号', '副');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (9, 'protective', '一次性鞋套', '防水 长筒', '双');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (10, 'protective', '一次性医用帽', '圆帽', '个');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (20, 'disinfection', '84 消毒液', '有效氯 5% 500ml', '瓶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (21, 'disinfection', '75% 医用酒精', '500ml', '瓶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (22, 'disinfection', '免洗手消毒凝胶', '500ml', '瓶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (23, 'disinfection', '含氯消毒泡腾片', '500mg×100 片', '瓶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (24, 'disinfection', '过氧乙酸消毒液', '15% 2.5L', '桶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (25, 'disinfection', '背负式喷雾器', '16L', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (30, 'testing', '新型冠状病毒核酸检测试剂盒', '荧光 PCR 法 48 人份', '盒');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (31, 'testing', '新型冠状病毒抗原检测试剂盒', '胶体金法 1 人份', '盒');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (32, 'testing', '核酸提取试剂', '磁珠法 96 人份', '盒');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (40, 'device', '红外额温枪', '非接触', '支');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (41, 'device', '电子体温计', '腋下', '支');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (42, 'device', '指夹式脉搏血氧仪', '', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (43, 'device', '无创呼吸机', '双水平', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (44, 'device', '有创呼吸机', 'ICU 级', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (45, 'device', '医用制氧机', '5L', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (46, 'device', '心电监护仪', '多参数', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (50, 'medicine', '布洛芬缓释胶囊', '0.3g×20 粒', '盒');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (51, 'medicine', '对乙酰氨基酚片', '0.5g×20 片', '盒');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (52, 'medicine', '连花清瘟胶囊', '0.35g×24 粒', '盒');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (53, 'medicine', '医用氧气', '40L 钢瓶', '瓶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (60, 'sampling', '一次性采样拭子', '植绒 咽拭子', '支');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (61, 'sampling', '病毒采样管', '10 混 1 灭活型', '支');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (62, 'sampling', '标本转运箱', 'UN3373 生物安全', '个');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (63, 'sampling', '医疗废物袋', '黄色 50L', '个');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (70, 'isolation', '隔离警示带', '100 米', '卷');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (71, 'isolation', '移动隔离围挡', '2 米', '片');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (72, 'isolation', '门磁报警器', '无线', '个');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (73, 'isolation', '折叠床', '单人', '张');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (80, 'living', '大米', '10kg', '袋');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (81, 'living', '食用油', '5L', '桶');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (82, 'living', '饮用水', '550ml×24 瓶', '箱');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (83, 'living', '方便面', '5 连包', '包');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (84, 'living', '蔬菜包', '约 5kg', '份');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (90, 'other', '对讲机', '', '台');
INSERT INTO supply_products (id, category, name, spec, unit) VALUES (91, 'other', '帐篷', '3×3 米', '顶');

-- A warehouse: owned by a region (district, street or community; who sees
-- it and who dispatches from it), optionally run by a supplier enterprise.
CREATE TABLE supply_warehouses (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,          -- padded
    name          TEXT NOT NULL,
    address       TEXT NOT NULL DEFAULT '',
    enterprise_id BIGINT NOT NULL DEFAULT 0,
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX supply_warehouses_region ON supply_warehouses (region_code);

-- Stock of a product in a warehouse, and the threshold under which the
-- region is short of it (0: none). Dispatch takes units out with a
-- conditional UPDATE (quantity >= taken) so two dispatches of the last
-- units cannot both succeed.
CREATE TABLE supply_stock (
    warehouse_id  BIGINT NOT NULL,
    product_id    BIGINT NOT NULL,
    quantity      BIGINT NOT NULL,
    threshold     BIGINT NOT NULL DEFAULT 0,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (warehouse_id, product_id)
);

-- Reports (填报) with their history, one row each: kind 'stock' (a
-- warehouse's counted stock), 'production' (a supplier enterprise's daily
-- capacity and output), 'need' (a community's, quarantine site's or
-- testing site's expected need per day).
CREATE TABLE supply_reports (
    id            BIGINT PRIMARY KEY,
    kind          TEXT NOT NULL,
    region_code   BIGINT NOT NULL,          -- padded: the reporter's object's region
    warehouse_id  BIGINT NOT NULL DEFAULT 0,
    enterprise_id BIGINT NOT NULL DEFAULT 0,
    product_id    BIGINT NOT NULL,
    quantity      BIGINT NOT NULL DEFAULT 0, -- stock: counted; need: per day
    capacity      BIGINT NOT NULL DEFAULT 0, -- production: per day
    output        BIGINT NOT NULL DEFAULT 0, -- production: today
    note          TEXT NOT NULL DEFAULT '',
    reported_by   BIGINT NOT NULL,
    reported_at   BIGINT NOT NULL
);
CREATE INDEX supply_reports_region ON supply_reports (region_code, reported_at);

-- A request (需求) from a community, quarantine site or testing site at
-- region_code; state open → dispatched (every line covered by allocations
-- and orders) → received (every delivery signed for); cancelled.
CREATE TABLE supply_requests (
    id            BIGINT PRIMARY KEY,
    region_code   BIGINT NOT NULL,          -- padded
    requester     TEXT NOT NULL,            -- community | quarantine | testing
    site_name     TEXT NOT NULL DEFAULT '',
    urgency       TEXT NOT NULL,            -- normal | urgent | critical
    needed_by     BIGINT NOT NULL,          -- epoch ms
    note          TEXT NOT NULL DEFAULT '',
    state         TEXT NOT NULL,
    created_by    BIGINT NOT NULL,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE INDEX supply_requests_region ON supply_requests (region_code, created_at);
CREATE INDEX supply_requests_state ON supply_requests (state, region_code);

-- The lines of a request: what is needed, how much was allocated from
-- warehouses, ordered from suppliers, and received.
CREATE TABLE supply_request_lines (
    id            BIGINT PRIMARY KEY,
    request_id    BIGINT NOT NULL,
    product_id    BIGINT NOT NULL,
    quantity      BIGINT NOT NULL,
    allocated     BIGINT NOT NULL DEFAULT 0,
    ordered       BIGINT NOT NULL DEFAULT 0,
    received      BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX supply_request_lines_request ON supply_request_lines (request_id);

-- A delivery of a request: from a warehouse (source 'warehouse') or an
-- electronic order to a supplier enterprise (source 'order', 电子订货);
-- logistics state pending (待发货) → shipping (运输中) → arrived (已送达)
-- → signed (已签收), with the time of each step. The driver's phone is
-- sealed.
CREATE TABLE supply_deliveries (
    id               BIGINT PRIMARY KEY,
    request_id       BIGINT NOT NULL,
    region_code      BIGINT NOT NULL,       -- padded: the request's
    source           TEXT NOT NULL,         -- warehouse | order
    warehouse_id     BIGINT NOT NULL DEFAULT 0,
    enterprise_id    BIGINT NOT NULL DEFAULT 0,
    state            TEXT NOT NULL,
    carrier          TEXT NOT NULL DEFAULT '',
    vehicle          TEXT NOT NULL DEFAULT '',
    driver_phone_enc BYTEA,
    shortfall        BIGINT NOT NULL DEFAULT 0, -- units sent but not received
    created_by       BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    shipped_at       BIGINT NOT NULL DEFAULT 0,
    arrived_at       BIGINT NOT NULL DEFAULT 0,
    signed_at        BIGINT NOT NULL DEFAULT 0,
    signed_by        BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX supply_deliveries_request ON supply_deliveries (request_id);
CREATE INDEX supply_deliveries_state ON supply_deliveries (state, region_code);

CREATE TABLE supply_delivery_lines (
    delivery_id   BIGINT NOT NULL,
    line_id       BIGINT NOT NULL,
    product_id    BIGINT NOT NULL,
    quantity      BIGINT NOT NULL,
    received      BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (delivery_id, line_id)
);

-- A request's chain (链路): every step from need to receipt, in order.
CREATE TABLE supply_events (
    id            BIGINT PRIMARY KEY,
    request_id    BIGINT NOT NULL,
    delivery_id   BIGINT NOT NULL DEFAULT 0,
    action        TEXT NOT NULL,            -- filed | allocated | ordered | shipping | arrived | signed | cancelled
    detail        TEXT NOT NULL DEFAULT '',
    user_id       BIGINT NOT NULL,
    at            BIGINT NOT NULL
);
CREATE INDEX supply_events_request ON supply_events (request_id, at);
