package config

import (
	"strings"
	"testing"
	"time"
)

// Each range rule refuses the first value outside it with a message that
// names the variable, the rule and the value given, and accepts the
// values at its edges. The secret is never shown.
func TestRangesNameTheVariableTheRuleAndTheValue(t *testing.T) {
	for _, c := range []struct {
		set  func(*Config)
		want string // "" when the value is accepted
	}{
		{func(c *Config) { c.Timeout = 0 }, "DIALPAD_TIMEOUT: must be positive, got 0s"},
		{func(c *Config) { c.MaxAttempts = 0 }, "DIALPAD_MAX_ATTEMPTS: must be 1 to 100 (the first attempt included), got 0"},
		{func(c *Config) { c.MaxAttempts = 101 }, "DIALPAD_MAX_ATTEMPTS: must be 1 to 100 (the first attempt included), got 101"},
		{func(c *Config) { c.MaxAttempts = 1 }, ""},
		{func(c *Config) { c.MaxAttempts = 100 }, ""},
		{func(c *Config) { c.BackoffMin = -time.Millisecond }, "DIALPAD_BACKOFF_MIN: must not be negative, got -1ms"},
		{func(c *Config) { c.BackoffMin = 0 }, ""},
		{func(c *Config) { c.BackoffMax = 499 * time.Millisecond },
			"DIALPAD_BACKOFF_MAX: must be at least DIALPAD_BACKOFF_MIN (500ms), got 499ms"},
		{func(c *Config) { c.BackoffMax = 500 * time.Millisecond }, ""},
		{func(c *Config) { c.MaxPages = -1 }, "DIALPAD_MAX_PAGES: must be 0 (no cap) or more, got -1"},
		{func(c *Config) { c.OperatorsTTL = 0 }, "DIALPAD_OPERATORS_TTL: must be positive, got 0s"},
		{func(c *Config) { c.WebhookSecret = "s3cr3t-15-chars" },
			"DIALPAD_WEBHOOK_SECRET: is 15 characters; use at least 16 (random, e.g. openssl rand -hex 32)"},
		{func(c *Config) { c.WebhookSecret = "s3cr3t-16-chars!" }, ""},
		{func(c *Config) { c.WebhookSecret = "s3cr3t-16-chars!\nsecond line" },
			"DIALPAD_WEBHOOK_SECRET: must be a single line (Dialpad refuses others)"},
		{func(c *Config) { c.Events = "websockets" }, `DIALPAD_EVENTS: must be webhook or websocket, got "websockets"`},
		{func(c *Config) { c.Events = EventsWebsocket },
			"DIALPAD_EVENTS: websocket needs DIALPAD_WEBHOOK_SECRET: Dialpad signs the websocket's events with it"},
		{func(c *Config) { c.Events, c.WebhookSecret = EventsWebsocket, "s3cr3t-16-chars!" }, ""},
		{func(c *Config) { c.WebsocketLifetime = 9 * time.Second }, "DIALPAD_WEBSOCKET_LIFETIME: must be at least 10s, got 9s"},
		{func(c *Config) { c.WebsocketLifetime = 10 * time.Second }, ""},
		{func(c *Config) { c.EventsKeep = 24*time.Hour - time.Second }, "ETL_EVENTS_RETENTION: must be at least 24h, got 23h59m59s"},
		{func(c *Config) { c.EventsKeep = 24 * time.Hour }, ""},
		{func(c *Config) { c.DutyStatusEvery = 30 * time.Second }, "DIALPAD_DUTY_STATUS_INTERVAL: must be 0 (never) or at least 1m, got 30s"},
		{func(c *Config) { c.DutyStatusEvery = 0 }, ""},
		{func(c *Config) { c.LiveMaxAge = 59 * time.Second }, "ETL_LIVE_MAX_AGE: must be at least 1m, got 59s"},
		{func(c *Config) { c.CallCenterStatusEvery = 4 * time.Second }, "CALLCENTER_STATUS_INTERVAL: must be 0 (never) or from 5s to 1h, got 4s"},
		{func(c *Config) { c.CallCenterStatusEvery = time.Hour + time.Second }, "CALLCENTER_STATUS_INTERVAL: must be 0 (never) or from 5s to 1h, got 1h0m1s"},
		{func(c *Config) { c.CallCenterStatusEvery = 0 }, ""},
		{func(c *Config) { c.CallCenterStatusEvery = 5 * time.Second }, ""},
		{func(c *Config) { c.CallCenterStatusKeep = 23 * time.Hour }, "CALLCENTER_STATUS_KEEP: must be at least 24h, got 23h0m0s"},
		{func(c *Config) { c.CallCenterStatusKeep = 24 * time.Hour }, ""},
		{func(c *Config) { c.LiveMaxAge = time.Minute }, ""},
		{func(c *Config) { c.ShortAbandon = 0 }, ""},
		{func(c *Config) { c.ShortAbandon = time.Hour + time.Millisecond },
			"KPI_SHORT_ABANDON: must be whole milliseconds from 0s to 1h, got 1h0m0.001s"},
		{func(c *Config) { c.ServiceLevel = time.Hour }, ""},
		{func(c *Config) { c.ServiceLevelGoal = 100 }, ""},
		{func(c *Config) { c.ServiceLevelGoal = 0 }, "KPI_SERVICE_LEVEL_GOAL: must be a percentage above 0, at most 100, got 0"},
		{func(c *Config) { c.StaffingWeeks = 0 }, "STAFFING_WEEKS: must be 1 to 52 weeks, got 0"},
		{func(c *Config) { c.StaffingWeeks = 53 }, "STAFFING_WEEKS: must be 1 to 52 weeks, got 53"},
		{func(c *Config) { c.StaffingWeeks = 52 }, ""},
		{func(c *Config) { c.StaffingShrinkage = 0 }, ""},
		{func(c *Config) { c.StaffingShrinkage = 100 }, "STAFFING_SHRINKAGE: must be a percentage from 0, below 100, got 100"},
		{func(c *Config) { c.StaffingShrinkage = -1 }, "STAFFING_SHRINKAGE: must be a percentage from 0, below 100, got -1"},
		{func(c *Config) { c.StaffingMaxOccupancy = 100 }, ""},
		{func(c *Config) { c.StaffingMaxOccupancy = 0 }, "STAFFING_MAX_OCCUPANCY: must be a percentage above 0, at most 100, got 0"},
		{func(c *Config) { c.StaffingExcludeText = "2026-12-25, 2027-01-01" }, ""},
		{func(c *Config) { c.StaffingExcludeText = "2026-12-25,25/12/2026" },
			`STAFFING_EXCLUDE_DAYS: "25/12/2026" is not a date (YYYY-MM-DD); give a comma list such as 2026-12-25,2027-01-01`},
		{func(c *Config) { c.ClickHouseDatabase = "" }, "CLICKHOUSE_DATABASE: must not be empty"},
		{func(c *Config) { c.ClickHouseInsertQuorum = 17 }, "CLICKHOUSE_INSERT_QUORUM: must be from 0 to 16, got 17"},
		{func(c *Config) { c.ClickHouseInsertQuorum = 1 }, ""}, // one replica: no cluster needed
		{func(c *Config) { c.NightlyLookback = 0 }, "ETL_NIGHTLY_LOOKBACK: must be positive, got 0s"},
		{func(c *Config) { c.Concurrency = 0 }, "ETL_CONCURRENCY: must be 1 to 64, got 0"},
		{func(c *Config) { c.Concurrency = 65 }, "ETL_CONCURRENCY: must be 1 to 64, got 65"},
		{func(c *Config) { c.Concurrency = 64 }, ""},
		{func(c *Config) { c.HealthMaxAge = 0 }, "ETL_HEALTH_MAX_AGE: must be positive, got 0s"},
		{func(c *Config) { c.WindowTimeout = -time.Minute }, "ETL_WINDOW_TIMEOUT: must be positive, got -1m0s"},
		{func(c *Config) { c.AlertMinOffered = 0 }, "ALERT_MIN_OFFERED: must be at least 1, got 0"},
		{func(c *Config) { c.AlertAbandonmentMax = 100 }, "ALERT_ABANDONMENT_MAX: must be above 0 and below 100 (a percentage), got 100"},
		{func(c *Config) { c.AlertAbandonmentMax = 2.5 }, ""},
		{func(c *Config) { c.AlertLongestWait = 1500 * time.Millisecond }, "ALERT_LONGEST_WAIT: must be whole seconds, at least 1s, got 1.5s"},
		{func(c *Config) { c.StartText = "2026-11-25" }, "ETL_START: 2026-11-25T00:00:00Z is not in the past"},
		{func(c *Config) { c.ReconcileDays = 0 }, ""},
		{func(c *Config) { c.ReconcileDays = 367 }, "RECONCILE_DAYS: must be 0 (no nightly reconciliation) to 366 days, got 367"},
		{func(c *Config) { c.ReconcileReloadDays = -1 }, "RECONCILE_MAX_RELOAD_DAYS: must be 0 (report only) to 366 days, got -1"},
		{func(c *Config) { c.ReconcileReloadDays = 366 }, ""},
		{func(c *Config) { c.ExportTimeout = 0 }, "RECONCILE_EXPORT_TIMEOUT: must be positive, got 0s"},
		{func(c *Config) { c.ExportsPerHour = 201 },
			"DIALPAD_EXPORTS_PER_HOUR: must be 1 to 200 (Dialpad allows a company 200 an hour, shared by every integration), got 201"},
		{func(c *Config) { c.ExportsPerHour = 200 }, ""},
		{func(c *Config) { c.LogLevel = "WARN" }, ""},
		{func(c *Config) { c.LogLevel = "trace" }, `LOG_LEVEL: "trace" is not one of debug, info, warn, error`},
	} {
		cfg, err := load(t, good, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.set(cfg)
		err = cfg.Validate(now)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v; want it accepted", err)
		case c.want != "" && (err == nil || err.Error() != c.want):
			t.Errorf("%v; want %q", err, c.want)
		case err != nil && strings.Contains(err.Error(), "s3cr3t"):
			t.Errorf("the error shows the webhook secret: %v", err)
		}
	}
}

// ETL_START's date is midnight in ETL_TIMEZONE: in Chicago on 1
// November 2026, the night the clocks go back at 02:00, still CDT
// (UTC-5). An unknown zone is refused and the dates are read in UTC.
func TestStartIsDerivedInTheReportingZone(t *testing.T) {
	c, err := load(t, with("ETL_TIMEZONE", "America/Chicago", "ETL_START", "2026-11-01"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.Location.String() != "America/Chicago" || !c.Start.Equal(time.Date(2026, 11, 1, 5, 0, 0, 0, time.UTC)) {
		t.Errorf("zone %s, start %s; want America/Chicago, 2026-11-01T05:00:00Z", c.Location, c.Start.UTC())
	}

	cfg := &Config{Env: c.Env}
	cfg.Timezone, cfg.StartText = "Local", "2026-11-01"
	err = cfg.Validate(now)
	if err == nil || err.Error() != `ETL_TIMEZONE: "Local" is not an IANA time zone name such as America/Chicago` {
		t.Errorf("ETL_TIMEZONE=Local: %v; want it refused by name", err)
	}
	if cfg.Location != time.UTC || !cfg.Start.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("zone %s, start %s after a refused zone; want UTC, 2026-11-01T00:00:00Z", cfg.Location, cfg.Start)
	}
}

// STAFFING_EXCLUDE_DAYS are days of ETL_TIMEZONE: midnight there, in the
// order given, blanks ignored.
func TestStaffingExcludeDaysAreDaysOfTheZone(t *testing.T) {
	c, err := load(t, with("ETL_TIMEZONE", "America/Chicago", "STAFFING_EXCLUDE_DAYS", " 2026-11-26 ,, 2026-12-25"), nil)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range c.StaffingExclude {
		got = append(got, d.UTC().Format(time.RFC3339))
	}
	if len(got) != 2 || got[0] != "2026-11-26T06:00:00Z" || got[1] != "2026-12-25T06:00:00Z" {
		t.Errorf("excluded days %v, want Thanksgiving and Christmas from midnight in Chicago (06:00 UTC)", got)
	}
	if c.StaffingWeeks != 8 || c.StaffingShrinkage != 30 || c.StaffingMaxOccupancy != 85 {
		t.Errorf("staffing defaults: %d weeks, %v %% shrinkage, %v %% occupancy; want 8, 30, 85", c.StaffingWeeks, c.StaffingShrinkage, c.StaffingMaxOccupancy)
	}
}
