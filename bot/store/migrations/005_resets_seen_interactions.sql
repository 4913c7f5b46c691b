-- A reset to automatic is a recorded choice: a row with no language and the time of the reset, so that it wins by
-- time like any other choice (copy-store and imports cannot bring back what a member reset). SQLite cannot drop a
-- NOT NULL in place, so the table is rebuilt with the same rows.
CREATE TABLE preferences_new (
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'guild')),
    id         INTEGER NOT NULL,
    language   TEXT CHECK (language IN ('en', 'zh-TW', 'zh-CN')),
    updated    REAL NOT NULL,
    PRIMARY KEY (scope, id)
);
INSERT INTO preferences_new (scope, id, language, updated) SELECT scope, id, language, updated FROM preferences;
DROP TABLE preferences;
ALTER TABLE preferences_new RENAME TO preferences;

-- Signed interactions already answered, until Discord's 5-minute signature window has passed: a replay is refused.
CREATE TABLE seen_interactions (
    key        TEXT PRIMARY KEY,
    expires    REAL NOT NULL
);
CREATE INDEX seen_interactions_expires ON seen_interactions (expires);
