-- Simplified Chinese answers: preferences may now hold 'zh-CN'. SQLite cannot change a CHECK constraint in place,
-- so the table is rebuilt with the same columns and rows.
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
