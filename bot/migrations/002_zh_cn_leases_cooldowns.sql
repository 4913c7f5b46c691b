-- Simplified Chinese joins the languages a preference may hold (SQLite cannot alter a CHECK: rebuild the table).
CREATE TABLE preferences_new (
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'guild')),
    id         INTEGER NOT NULL,
    language   TEXT NOT NULL CHECK (language IN ('en', 'zh-TW', 'zh-CN')),
    updated    REAL NOT NULL,
    PRIMARY KEY (scope, id)
);
INSERT INTO preferences_new (scope, id, language, updated) SELECT scope, id, language, updated FROM preferences;
DROP TABLE preferences;
ALTER TABLE preferences_new RENAME TO preferences;

-- Named leases: one holder at a time until `expires` (command sync, the market fetch of a TTL).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires    REAL NOT NULL
);

-- Per-user cooldown windows: the times (JSON list) of the latest uses.
CREATE TABLE cooldowns (
    user_id    INTEGER PRIMARY KEY,
    hits       TEXT NOT NULL,
    last       REAL NOT NULL
);
