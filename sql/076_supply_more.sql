-- The supplier's own view of its electronic orders (电子订货; issue 14;
-- docs/supplies.md "The supplier's orders", src/supply/delivery.c): the
-- enterprise account bound to the supplier accepts (接单) an order's
-- delivery before it ships it. Acceptance is a mark on the delivery, not a
-- logistics state: the delivery stays 待发货 until it ships.
ALTER TABLE supply_deliveries ADD COLUMN accepted_at BIGINT NOT NULL DEFAULT 0;
ALTER TABLE supply_deliveries ADD COLUMN accepted_by BIGINT NOT NULL DEFAULT 0;
-- a supplier's orders: source = 'order' by enterprise_id
CREATE INDEX supply_deliveries_enterprise ON supply_deliveries (enterprise_id, created_at);
