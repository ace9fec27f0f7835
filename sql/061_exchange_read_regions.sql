-- Data exchange: read-only region grants (issue 13; docs/exchange.md
-- "Federation", src/exchange/caller.c). A caller reads in its regions and
-- in read_regions (padded codes joined by ',', '' for none), and writes in
-- its regions only: a street child reads the zones of its district and
-- writes persons of its street.
ALTER TABLE exchange_callers ADD COLUMN read_regions TEXT NOT NULL DEFAULT '';
