-- The expiry sweep on every cache write finds what has expired through this index instead of reading every row
-- (2,000 rows of ~16 KB charts at the cap): a cache write costs the same at any table size.
CREATE INDEX cache_expires ON cache (expires);
