-- The same tables as the SQLite store (bot/store/migrations/*.sql), shared by every process of the bot.

-- Derived bytes (rendered answers, charts), keyed with the data version so edits never serve stale output.
CREATE TABLE cache (
    key        TEXT PRIMARY KEY,
    value      BYTEA NOT NULL,
    created    DOUBLE PRECISION NOT NULL,
    expires    DOUBLE PRECISION NOT NULL
);
CREATE INDEX cache_created ON cache (created);

-- Answer language per user and per server (absence means automatic).
CREATE TABLE preferences (
    scope      TEXT NOT NULL CHECK (scope IN ('user', 'guild')),
    id         BIGINT NOT NULL,
    language   TEXT NOT NULL CHECK (language IN ('en', 'zh-TW', 'zh-CN')),
    updated    DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (scope, id)
);

-- Small named values, e.g. the hash of the last synced command payload, the gateway heartbeat.
CREATE TABLE meta (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated    DOUBLE PRECISION NOT NULL
);

-- Market-data snapshots from the price API (JSON).
CREATE TABLE market_snapshots (
    id         BIGSERIAL PRIMARY KEY,
    fetched_at DOUBLE PRECISION NOT NULL,
    payload    TEXT NOT NULL
);
CREATE INDEX market_snapshots_fetched_at ON market_snapshots (fetched_at);

-- Named leases: one holder at a time until `expires` (command sync, the market fetch of a TTL).
CREATE TABLE leases (
    name       TEXT PRIMARY KEY,
    holder     TEXT NOT NULL,
    expires    DOUBLE PRECISION NOT NULL
);

-- Per-user cooldown windows shared by every process: the times of the latest uses.
CREATE TABLE cooldowns (
    user_id    BIGINT PRIMARY KEY,
    hits       DOUBLE PRECISION[] NOT NULL,
    last       DOUBLE PRECISION NOT NULL
);
CREATE INDEX cooldowns_last ON cooldowns (last);

-- One round trip per check: the row lock makes concurrent uses by one user from several processes count once each.
CREATE FUNCTION k401_cooldown_hit(p_user BIGINT, p_rate INTEGER, p_per DOUBLE PRECISION, p_now DOUBLE PRECISION)
RETURNS DOUBLE PRECISION LANGUAGE plpgsql AS $$
DECLARE
    recent DOUBLE PRECISION[];
BEGIN
    INSERT INTO cooldowns (user_id, hits, last) VALUES (p_user, '{}', p_now) ON CONFLICT (user_id) DO NOTHING;
    SELECT hits INTO recent FROM cooldowns WHERE user_id = p_user FOR UPDATE;
    recent := ARRAY(SELECT h FROM unnest(recent) AS h WHERE p_now - h < p_per ORDER BY h);
    IF coalesce(array_length(recent, 1), 0) >= p_rate THEN
        UPDATE cooldowns SET hits = recent, last = p_now WHERE user_id = p_user;
        RETURN p_per - (p_now - recent[1]);
    END IF;
    UPDATE cooldowns SET hits = recent || p_now, last = p_now WHERE user_id = p_user;
    RETURN 0;
END
$$;
