-- The e-mailed reports (docs/reports.md, "E-mailed on schedule"): one row per
-- attempt to send a period's report. A period whose report has a 'sent'
-- row is not sent again, by this process or another.
CREATE TABLE IF NOT EXISTS report_sends
(
    kind        Enum8('daily' = 1, 'weekly' = 2),
    period_from Date,
    period_to   Date,
    attempt     UInt32,
    status      Enum8('sent' = 1, 'failed' = 2),
    recipients  String,
    at          DateTime('UTC'),
    error       String,
    host        String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(period_from)
ORDER BY (kind, period_from, at);
