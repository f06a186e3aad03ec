-- Small tables that the dashboards read instead of the legs, so that
-- their cost does not grow with the history. Both are recomputed from the
-- legs with agent_daily (Store.Recompute); once 006 is applied, the
-- job rebuilds every target-month of the derived tables (Store.Migrate).

-- Every target with legs, and its name as its entry legs give it: the
-- dashboards' target lists. A row without a name has version 0, so it
-- never replaces one with a name.
CREATE TABLE IF NOT EXISTS targets
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    name        String,
    updated_at  DateTime('UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY tuple()
ORDER BY (target_type, target_id);

-- The legs counted per target, day, agent, direction and status: what the
-- call explorer's and the agent dashboard's counts read for the whole
-- days of a range. day_start and day_end are the instants the day begins
-- and ends in the reporting zone, so that a dashboard can tell which days
-- lie wholly inside its range without knowing the zone.
CREATE TABLE IF NOT EXISTS calls_daily
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    day         Date,
    day_start   DateTime('UTC'),
    day_end     DateTime('UTC'),
    agent_id    UInt64,
    direction   Enum8('inbound' = 1, 'outbound' = 2),
    status      Enum8('completed' = 1, 'missed' = 2, 'voicemail' = 3, 'cancelled' = 4),
    legs        UInt32,
    duration_ms UInt64,
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY (target_type, target_id, toYYYYMM(day))
ORDER BY (target_type, target_id, day, agent_id, direction, status);

CREATE TABLE IF NOT EXISTS calls_daily_stage AS calls_daily;
