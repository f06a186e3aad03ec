-- The times the job had no connection to Dialpad's websocket
-- (DIALPAD_EVENTS=websocket), when events went unheard: Dialpad does not
-- send again what a websocket missed (docs/events.md). One row per gap
-- and host: from a drop until a connection was made again or the
-- process stopped (to_ms 0 and to_at 1970-01-01 while it lasts). The ETL
-- health dashboard shows them.
CREATE TABLE IF NOT EXISTS events_gaps
(
    host    String,
    from_ms Int64,
    from_at DateTime('UTC'),
    to_ms   Int64,
    to_at   DateTime('UTC'),
    version UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(from_at)
ORDER BY (host, from_ms);
