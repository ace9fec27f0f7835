-- Statistics of nucleic-acid testing (issue 10, docs/nat.md "Statistics"):
-- the emergency bureau's live API says when a plan's figures last changed.
-- Kept by nat_plan_count (every counted or uncounted sample), the planned
-- figures and the streets' corrections; 0 for rows written before.
ALTER TABLE nat_plan_figures ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
