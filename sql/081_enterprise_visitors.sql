-- Visitors of enterprises (issue 14 "Enterprises", seed 003 复工复产: 访客登记).
--
-- A visitor may be registered for an enterprise instead of a resident's
-- community: enterprise_id names the host enterprise (0: a community
-- visitor, as before), region_code is then the enterprise's region, so the
-- street's scope is the same range as for any visitor. The enterprise
-- account confirms or refuses it and its gate checks the visitor code; the
-- gate's checks are rows of visitor_passages with venue_id 0 and method
-- 'enterprise_gate'.
ALTER TABLE visitors ADD COLUMN enterprise_id BIGINT NOT NULL DEFAULT 0;
CREATE INDEX visitors_enterprise ON visitors (enterprise_id, valid_from) WHERE enterprise_id <> 0;
