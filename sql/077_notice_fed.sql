-- Notices downward (docs/exchange.md "Notices downward"; src/exchange/federation.c,
-- src/notice/notice.c notice_on_write): the exchange's change log numbers the
-- dataset "notices" (notices to all residents of a region, published or
-- withdrawn) like every other logged dataset, from its own counter row.
INSERT INTO exchange_seq (dataset, seq) VALUES ('notices', 0);
