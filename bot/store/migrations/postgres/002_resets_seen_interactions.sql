-- A reset to automatic is a recorded choice: a row with no language and the time of the reset, so that it wins by
-- time like any other choice (copy-store and imports cannot bring back what a member reset).
ALTER TABLE preferences ALTER COLUMN language DROP NOT NULL;

-- Signed interactions already answered, until Discord's 5-minute signature window has passed: a replay is refused
-- by whichever replica it reaches.
CREATE TABLE seen_interactions (
    key        TEXT PRIMARY KEY,
    expires    DOUBLE PRECISION NOT NULL
);
CREATE INDEX seen_interactions_expires ON seen_interactions (expires);
