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
