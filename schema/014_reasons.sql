-- Why customers called and how it went (docs/counting.md, "Reasons and
-- satisfaction"): labels, dispositions, CSAT and call quality, and the
-- unanswered inbound conversations split as Dialpad's Analytics splits
-- them. Once this is applied, the job rebuilds every target-month of the
-- derived tables (Store.Migrate).

-- The CSAT survey's comments of a leg (csat_transcriptions), as the list
-- or the csat event gave them.
ALTER TABLE calls ADD COLUMN csat_comments Array(String) DEFAULT [];

-- What call events and exports tell of a leg after it ended, one row per
-- leg and kind, the latest version winning: csat (the survey's score and
-- comments), pcsat (Dialpad's predicted score, kept apart from the
-- survey's), disposition (the dispositions the agent picked, from the
-- dispositions event or the nightly dispositions export). started_at is
-- the leg's start, which bounds what a recompute reads. extra holds the
-- export's columns the job does not read, as a JSON object.
CREATE TABLE IF NOT EXISTS call_feedback
(
    target_type Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id   UInt64,
    call_id     UInt64,
    kind        Enum8('csat' = 1, 'pcsat' = 2, 'disposition' = 3),
    started_at  DateTime('UTC'),
    score       String,
    comments    Array(String),
    names       Array(String),
    source      Enum8('event' = 1, 'export' = 2),
    extra       String,
    at          DateTime('UTC'),
    version     UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(started_at)
ORDER BY (target_type, target_id, call_id, kind);

-- Per conversation: its legs' labels and dispositions (each once,
-- sorted); its CSAT (the agent leg's, else the entry leg's: the raw
-- score, csat 1-5 when the score is one of "1".."5" and 0 otherwise, the
-- comments, and the agent of that leg, 0 for the entry leg's) and
-- predicted CSAT; its connected legs with a MOS and those
-- below 3.5, and the lowest MOS (0 when none); whether an agent was rung;
-- and, of the inbound conversations not answered and without voicemail,
-- which Dialpad calls abandoned (no agent rang) and which missed (an
-- agent rang).
ALTER TABLE conversations ADD COLUMN labels Array(String) DEFAULT [];

ALTER TABLE conversations ADD COLUMN dispositions Array(String) DEFAULT [];

ALTER TABLE conversations ADD COLUMN csat_score String DEFAULT '';

ALTER TABLE conversations ADD COLUMN csat UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN csat_comments Array(String) DEFAULT [];

ALTER TABLE conversations ADD COLUMN pcsat_score String DEFAULT '';

ALTER TABLE conversations ADD COLUMN mos_legs UInt32 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN low_mos_legs UInt32 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN worst_mos Float64 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN agent_rang UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN abandoned_before_agent UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN missed_by_agents UInt8 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN csat_agent_id UInt64 DEFAULT 0;

ALTER TABLE conversations ADD COLUMN csat_agent_name String DEFAULT '';

ALTER TABLE conversations_stage ADD COLUMN labels Array(String) DEFAULT [];

ALTER TABLE conversations_stage ADD COLUMN dispositions Array(String) DEFAULT [];

ALTER TABLE conversations_stage ADD COLUMN csat_score String DEFAULT '';

ALTER TABLE conversations_stage ADD COLUMN csat UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN csat_comments Array(String) DEFAULT [];

ALTER TABLE conversations_stage ADD COLUMN pcsat_score String DEFAULT '';

ALTER TABLE conversations_stage ADD COLUMN mos_legs UInt32 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN low_mos_legs UInt32 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN worst_mos Float64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN agent_rang UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN abandoned_before_agent UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN missed_by_agents UInt8 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN csat_agent_id UInt64 DEFAULT 0;

ALTER TABLE conversations_stage ADD COLUMN csat_agent_name String DEFAULT '';

-- Per agent and day: the agent's connected legs with a MOS, and those
-- below 3.5.
ALTER TABLE agent_daily ADD COLUMN mos_legs UInt32 DEFAULT 0;

ALTER TABLE agent_daily ADD COLUMN low_mos_legs UInt32 DEFAULT 0;

ALTER TABLE agent_daily_stage ADD COLUMN mos_legs UInt32 DEFAULT 0;

ALTER TABLE agent_daily_stage ADD COLUMN low_mos_legs UInt32 DEFAULT 0;

-- Per target and day, of the inbound conversations: Dialpad's abandoned
-- and missed, and voicemail; the answered ones with a CSAT of 1-5, the
-- sum of those scores and how many were 4 or 5. Of all conversations:
-- the connected legs with a MOS and those below 3.5.
ALTER TABLE target_daily ADD COLUMN abandoned_before_agent UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN missed_by_agents UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN voicemail UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN csat_responses UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN csat_total UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN csat_satisfied UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN mos_legs UInt32 DEFAULT 0;

ALTER TABLE target_daily ADD COLUMN low_mos_legs UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN abandoned_before_agent UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN missed_by_agents UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN voicemail UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN csat_responses UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN csat_total UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN csat_satisfied UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN mos_legs UInt32 DEFAULT 0;

ALTER TABLE target_daily_stage ADD COLUMN low_mos_legs UInt32 DEFAULT 0;

-- The inbound conversations per target, day, reason and agent credited
-- with them (agent_id: the agent whose leg has the conversation's CSAT,
-- else the one who answered it; 0: not answered): kind all (reason ''), each of its labels
-- (reason '' for none) and each of its dispositions (reason '' for none).
-- A conversation with two labels counts under both. handle_ms is of the
-- answered ones; csat_* as in target_daily. Recomputed with the
-- conversations of the touched days and those beside them.
CREATE TABLE IF NOT EXISTS reasons_daily
(
    target_type    Enum8('department' = 1, 'callcenter' = 2, 'office' = 3, 'user' = 4),
    target_id      UInt64,
    day            Date,
    kind           Enum8('all' = 1, 'label' = 2, 'disposition' = 3),
    reason         String,
    agent_id       UInt64,
    agent_name     String,
    conversations  UInt32,
    answered       UInt32,
    handle_ms      UInt64,
    csat_responses UInt32,
    csat_total     UInt32,
    csat_satisfied UInt32,
    version        UInt64
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY (target_type, target_id, toYYYYMM(day))
ORDER BY (target_type, target_id, day, kind, reason, agent_id);

CREATE TABLE IF NOT EXISTS reasons_daily_stage AS reasons_daily;
