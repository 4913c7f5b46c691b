-- Derived bytes (rendered answers, charts), keyed with the data version so edits never serve stale output.
CREATE TABLE cache (
    key        TEXT PRIMARY KEY,
    value      BLOB NOT NULL,
    created    REAL NOT NULL,
    expires    REAL NOT NULL
);
CREATE INDEX cache_created ON cache (created);

-- Answer language per user and per server: 'en', 'zh-TW' (absence means automatic).
CREATE TABLE preferences (
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'guild')),
    id         INTEGER NOT NULL,
    language   TEXT NOT NULL CHECK (language IN ('en', 'zh-TW')),
    updated    REAL NOT NULL,
    PRIMARY KEY (scope, id)
);

-- Small named values, e.g. the hash of the last synced command payload.
CREATE TABLE meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated    REAL NOT NULL
);

-- Market-data snapshots from the price API (JSON), newest last.
CREATE TABLE market_snapshots (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    fetched_at REAL NOT NULL,
    payload    TEXT NOT NULL
);
