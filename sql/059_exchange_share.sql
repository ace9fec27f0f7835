-- Shared recognition (共享互认; issue 13; docs/exchange.md "Shared
-- recognition"; src/exchange/share.c): a health code issued by another
-- instance of the federation, verified through the parent at our gate.

-- The FK_NODE numbers of the instances behind a peer ("32" or "32,40-47";
-- '' none): a code whose subject id carries one of them is verified there.
ALTER TABLE exchange_peers ADD COLUMN nodes TEXT NOT NULL DEFAULT '';

-- The people of other instances seen at our gates: what the access-record
-- lists, traces and exports show for a person id that is not ours (ids
-- never collide across nodes). Names are kept masked only, as the issuer
-- answered them; region_name is the issuer's street.
CREATE TABLE exchange_share_people (
    person_id    BIGINT PRIMARY KEY,
    masked_name  TEXT NOT NULL,
    region_name  TEXT NOT NULL DEFAULT '',
    issuer_node  INTEGER NOT NULL,
    colour       TEXT NOT NULL,
    seen_at      BIGINT NOT NULL
);
