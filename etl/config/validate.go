package config

import (
	"errors"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/robfig/cron/v3"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Validate derives Targets, Location and Start (and a simulator's token
// when none is given) from the settings, then checks ranges and
// cross-field rules, naming the variable in every message.
func (c *Config) Validate(now time.Time) error {
	c.derive(now)
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, args...)...))
	}
	c.checkDialpadAccess(bad)
	c.checkDialpadRequests(bad)
	c.checkEvents(bad)
	c.checkKPIs(bad)
	c.checkStaffing(bad)
	c.checkClickHouse(bad)
	c.checkLoads(bad)
	c.checkStart(now, bad)
	c.checkReconcile(bad)
	c.checkReports(bad)
	c.checkLogs(bad)
	return errors.Join(errs...)
}

// complaint records that the variable env is wrong, and why.
type complaint func(env, format string, args ...any)

// derive sets what follows from the settings: Targets, Location (UTC
// when ETL_TIMEZONE is not a zone), Start in it, and, against a
// simulator, its token when none is set. What cannot be read is left
// for the checks to report.
func (c *Config) derive(now time.Time) {
	if u, simulator, _ := c.baseURL(); simulator && u.User == nil && u.RawQuery == "" && c.Token == "" {
		c.Token = SimulatorToken
	}
	c.Targets, _ = dialpad.ParseTargets(c.TargetList)
	var err error
	if c.Location, err = time.LoadLocation(c.Timezone); err != nil || !namedZone(c.Timezone) {
		c.Location = time.UTC
	}
	c.Start, _ = ParseInstant(c.StartText, c.Location, now)
	c.StaffingExclude, _ = parseDays(c.StaffingExcludeText, c.Location)
}

// parseDays reads a comma list of dates (YYYY-MM-DD) as midnights in
// loc; on a bad one it returns the days before it and the bad one.
func parseDays(list string, loc *time.Location) (days []time.Time, bad string) {
	for _, d := range strings.Split(list, ",") {
		if d = strings.TrimSpace(d); d == "" {
			continue
		}
		t, err := time.ParseInLocation(time.DateOnly, d, loc)
		if err != nil {
			return days, d
		}
		days = append(days, t)
	}
	return days, ""
}

// baseURL is DIALPAD_BASE_URL read, and whether it is a simulator's:
// plain http, which only a loopback address or a host named in
// DIALPAD_INSECURE_HOSTS may use, since the token would cross the
// network unencrypted.
func (c *Config) baseURL() (u *url.URL, simulator bool, err error) {
	u, err = url.Parse(c.BaseURL)
	return u, err == nil && u.Scheme == "http" && insecureOK(u.Hostname(), c.InsecureText), err
}

// namedZone reports whether name is an explicit zone name: the machine's
// own ("Local", or the empty name) would change with the machine.
func namedZone(name string) bool { return name != "" && name != "Local" }

// checkDialpadAccess checks where Dialpad is, the token, and the targets.
func (c *Config) checkDialpadAccess(bad complaint) {
	u, simulator, err := c.baseURL()
	switch {
	case err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https"):
		bad("DIALPAD_BASE_URL", "%q is not an http(s) URL", c.BaseURL)
	case u.User != nil || u.RawQuery != "":
		bad("DIALPAD_BASE_URL", "must carry no credentials or query; the token goes in DIALPAD_API_TOKEN")
	case u.Scheme == "http" && !simulator:
		bad("DIALPAD_BASE_URL", "%q is plain http, which would send the API token unencrypted: use https, "+
			"or, for a simulator, name its host %q in DIALPAD_INSECURE_HOSTS", c.BaseURL, u.Hostname())
	case c.Token == "" && u.Scheme == "https" && !c.offline:
		bad("DIALPAD_API_TOKEN", "is required: a Dialpad company-admin API key with the calls:list scope")
	}
	if _, err := dialpad.ParseTargets(c.TargetList); err != nil {
		bad("DIALPAD_TARGETS", "%v", err)
	} else if len(c.Targets) == 0 {
		bad("DIALPAD_TARGETS", "is required: a comma list such as department:4869792674824192,callcenter:123")
	}
}

// checkDialpadRequests checks the pace, patience and retries of the
// requests to Dialpad.
func (c *Config) checkDialpadRequests(bad complaint) {
	// Above 20/s only against a simulator (benchmarks): Dialpad allows
	// 20/s per company.
	_, simulator, _ := c.baseURL()
	switch {
	case !(c.RateLimit > 0) || math.IsInf(c.RateLimit, 0):
		bad("DIALPAD_RATE_LIMIT", "%v requests/s is not a positive number", c.RateLimit)
	case c.RateLimit > 20 && !simulator:
		bad("DIALPAD_RATE_LIMIT", "%v requests/s is outside (0, 20]: Dialpad allows 20/s per company, shared with its other integrations", c.RateLimit)
	}
	if c.Timeout <= 0 {
		bad("DIALPAD_TIMEOUT", "must be positive, got %s", c.Timeout)
	}
	if c.MaxAttempts < 1 || c.MaxAttempts > 100 {
		bad("DIALPAD_MAX_ATTEMPTS", "must be 1 to 100 (the first attempt included), got %d", c.MaxAttempts)
	}
	if c.BackoffMin < 0 {
		bad("DIALPAD_BACKOFF_MIN", "must not be negative, got %s", c.BackoffMin)
	}
	if c.BackoffMax < c.BackoffMin {
		bad("DIALPAD_BACKOFF_MAX", "must be at least DIALPAD_BACKOFF_MIN (%s), got %s", c.BackoffMin, c.BackoffMax)
	}
	if c.MaxPages < 0 {
		bad("DIALPAD_MAX_PAGES", "must be 0 (no cap) or more, got %d", c.MaxPages)
	}
	if c.OperatorsTTL <= 0 {
		bad("DIALPAD_OPERATORS_TTL", "must be positive, got %s", c.OperatorsTTL)
	}
}

// checkEvents checks the settings of Dialpad's real-time events.
func (c *Config) checkEvents(bad complaint) {
	switch w := c.WebhookSecret; {
	case w != "" && len(w) < MinWebhookSecret:
		bad("DIALPAD_WEBHOOK_SECRET", "is %d characters; use at least %d (random, e.g. openssl rand -hex 32)", len(w), MinWebhookSecret)
	case strings.ContainsAny(w, "\r\n"):
		bad("DIALPAD_WEBHOOK_SECRET", "must be a single line (Dialpad refuses others)")
	}
	switch c.Events {
	case EventsWebhook:
	case EventsWebsocket:
		if c.WebhookSecret == "" {
			bad("DIALPAD_EVENTS", "websocket needs DIALPAD_WEBHOOK_SECRET: Dialpad signs the websocket's events with it")
		}
	default:
		bad("DIALPAD_EVENTS", "must be %s or %s, got %q", EventsWebhook, EventsWebsocket, c.Events)
	}
	if c.WebsocketLifetime < 10*time.Second {
		bad("DIALPAD_WEBSOCKET_LIFETIME", "must be at least 10s, got %s", c.WebsocketLifetime)
	}
	if c.EventsKeep < 24*time.Hour {
		bad("ETL_EVENTS_RETENTION", "must be at least 24h, got %s", c.EventsKeep)
	}
	if c.DutyStatusEvery != 0 && c.DutyStatusEvery < time.Minute {
		bad("DIALPAD_DUTY_STATUS_INTERVAL", "must be 0 (never) or at least 1m, got %s", c.DutyStatusEvery)
	}
	if c.LiveMaxAge < time.Minute {
		bad("ETL_LIVE_MAX_AGE", "must be at least 1m, got %s", c.LiveMaxAge)
	}
	if c.CallCenterStatusEvery != 0 && (c.CallCenterStatusEvery < 5*time.Second || c.CallCenterStatusEvery > time.Hour) {
		bad("CALLCENTER_STATUS_INTERVAL", "must be 0 (never) or from 5s to 1h, got %s", c.CallCenterStatusEvery)
	}
	if c.CallCenterStatusKeep < 24*time.Hour {
		bad("CALLCENTER_STATUS_KEEP", "must be at least 24h, got %s", c.CallCenterStatusKeep)
	}
}

// checkKPIs checks the contact-center KPIs' thresholds.
func (c *Config) checkKPIs(bad complaint) {
	if c.ShortAbandon < 0 || c.ShortAbandon > time.Hour || c.ShortAbandon%time.Millisecond != 0 {
		bad("KPI_SHORT_ABANDON", "must be whole milliseconds from 0s to 1h, got %s", c.ShortAbandon)
	}
	c.checkServiceLevel(bad)
}

// checkServiceLevel checks the service level's threshold and goal.
func (c *Config) checkServiceLevel(bad complaint) {
	if c.ServiceLevel <= 0 || c.ServiceLevel > time.Hour || c.ServiceLevel%time.Millisecond != 0 {
		bad("KPI_SERVICE_LEVEL_THRESHOLD", "must be whole milliseconds above 0s, at most 1h, got %s", c.ServiceLevel)
	}
	if !(c.ServiceLevelGoal > 0 && c.ServiceLevelGoal <= 100) {
		bad("KPI_SERVICE_LEVEL_GOAL", "must be a percentage above 0, at most 100, got %v", c.ServiceLevelGoal)
	}
}

// checkStaffing checks the settings of the staffing forecast.
func (c *Config) checkStaffing(bad complaint) {
	if c.StaffingWeeks < 1 || c.StaffingWeeks > 52 {
		bad("STAFFING_WEEKS", "must be 1 to 52 weeks, got %d", c.StaffingWeeks)
	}
	if _, day := parseDays(c.StaffingExcludeText, c.Location); day != "" {
		bad("STAFFING_EXCLUDE_DAYS", "%q is not a date (YYYY-MM-DD); give a comma list such as 2026-12-25,2027-01-01", day)
	}
	c.checkStaffingGoals(bad)
}

// checkStaffingGoals checks the shrinkage and the occupancy cap.
func (c *Config) checkStaffingGoals(bad complaint) {
	if !(c.StaffingShrinkage >= 0 && c.StaffingShrinkage < 100) {
		bad("STAFFING_SHRINKAGE", "must be a percentage from 0, below 100, got %v", c.StaffingShrinkage)
	}
	if !(c.StaffingMaxOccupancy > 0 && c.StaffingMaxOccupancy <= 100) {
		bad("STAFFING_MAX_OCCUPANCY", "must be a percentage above 0, at most 100, got %v", c.StaffingMaxOccupancy)
	}
}

// checkClickHouse checks where the warehouse is and how it is written.
func (c *Config) checkClickHouse(bad complaint) {
	for _, addr := range strings.Split(c.ClickHouseAddr, ",") {
		if addr == "" || !strings.Contains(addr, ":") {
			bad("CLICKHOUSE_ADDR", "%q is not host:port (or a comma-separated list of them)", addr)
			break
		}
	}
	if c.ClickHouseCluster != "" && !validCluster.MatchString(c.ClickHouseCluster) {
		bad("CLICKHOUSE_CLUSTER", "%q is not a cluster name (letters, digits, '_', '-' and '.')", c.ClickHouseCluster)
	}
	switch {
	case c.ClickHouseInsertQuorum < 0 || c.ClickHouseInsertQuorum > 16:
		bad("CLICKHOUSE_INSERT_QUORUM", "must be from 0 to 16, got %d", c.ClickHouseInsertQuorum)
	case c.ClickHouseInsertQuorum > 1 && c.ClickHouseCluster == "":
		bad("CLICKHOUSE_INSERT_QUORUM", "is for a cluster: set CLICKHOUSE_CLUSTER too")
	}
	if c.ClickHouseDatabase == "" {
		bad("CLICKHOUSE_DATABASE", "must not be empty")
	}
}

// validCluster is a name of remote_servers that the job can write into
// its statements.
var validCluster = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// checkLoads checks the reporting zone, the loads' windows and
// schedules, and the health check.
func (c *Config) checkLoads(bad complaint) {
	if _, err := time.LoadLocation(c.Timezone); err != nil || !namedZone(c.Timezone) {
		bad("ETL_TIMEZONE", "%q is not an IANA time zone name such as America/Chicago", c.Timezone)
	}
	if c.Lookback < MinLookback {
		bad("ETL_LOOKBACK", "must be at least %s, got %s: Dialpad lists a call only once it has ended, "+
			"so a call still running at a load must be read again by a later one", MinLookback, c.Lookback)
	}
	if c.NightlyLookback <= 0 {
		bad("ETL_NIGHTLY_LOOKBACK", "must be positive, got %s", c.NightlyLookback)
	}
	for env, spec := range map[string]string{"ETL_HOURLY_SCHEDULE": c.HourlySchedule, "ETL_NIGHTLY_SCHEDULE": c.NightlySchedule} {
		if _, err := cron.ParseStandard(spec); err != nil {
			bad(env, "%q is not a cron schedule (minute hour day month weekday): %v", spec, err)
		}
	}
	if c.Concurrency < 1 || c.Concurrency > 64 {
		bad("ETL_CONCURRENCY", "must be 1 to 64, got %d", c.Concurrency)
	}
	if c.HealthMaxAge <= 0 {
		bad("ETL_HEALTH_MAX_AGE", "must be positive, got %s", c.HealthMaxAge)
	}
	if c.WindowTimeout <= 0 {
		bad("ETL_WINDOW_TIMEOUT", "must be positive, got %s", c.WindowTimeout)
	}
	if c.AlertMinOffered < 1 {
		bad("ALERT_MIN_OFFERED", "must be at least 1, got %d", c.AlertMinOffered)
	}
	if c.AlertAbandonmentMax <= 0 || c.AlertAbandonmentMax >= 100 {
		bad("ALERT_ABANDONMENT_MAX", "must be above 0 and below 100 (a percentage), got %g", c.AlertAbandonmentMax)
	}
	if c.AlertLongestWait < time.Second || c.AlertLongestWait%time.Second != 0 {
		bad("ALERT_LONGEST_WAIT", "must be whole seconds, at least 1s, got %s", c.AlertLongestWait)
	}
}

// checkStart checks ETL_START: readable, and before now.
func (c *Config) checkStart(now time.Time, bad complaint) {
	if _, err := ParseInstant(c.StartText, c.Location, now); err != nil {
		bad("ETL_START", "%v", err)
	} else if !c.Start.Before(now) {
		bad("ETL_START", "%s is not in the past", c.Start.Format(time.RFC3339))
	}
}

// checkReconcile checks the reconciliation with Dialpad's exports.
func (c *Config) checkReconcile(bad complaint) {
	if c.ReconcileDays < 0 || c.ReconcileDays > 366 {
		bad("RECONCILE_DAYS", "must be 0 (no nightly reconciliation) to 366 days, got %d", c.ReconcileDays)
	}
	if c.BackfillExportAfter < 1 || c.BackfillExportAfter > 3660 {
		bad("BACKFILL_EXPORT_AFTER_DAYS", "must be 1 (an export cannot hold today) to 3660 days, got %d", c.BackfillExportAfter)
	}
	if c.ReconcileReloadDays < 0 || c.ReconcileReloadDays > 366 {
		bad("RECONCILE_MAX_RELOAD_DAYS", "must be 0 (report only) to 366 days, got %d", c.ReconcileReloadDays)
	}
	if c.ExportTimeout <= 0 {
		bad("RECONCILE_EXPORT_TIMEOUT", "must be positive, got %s", c.ExportTimeout)
	}
	if c.ExportsPerHour < 1 || c.ExportsPerHour > 200 {
		bad("DIALPAD_EXPORTS_PER_HOUR", "must be 1 to 200 (Dialpad allows a company 200 an hour, shared by every integration), got %d", c.ExportsPerHour)
	}
}

// checkReports checks the e-mail settings, when a report is scheduled
// or ALERT_MAIL is on.
func (c *Config) checkReports(bad complaint) {
	for env, spec := range map[string]string{"REPORT_DAILY_SCHEDULE": c.ReportDailySchedule, "REPORT_WEEKLY_SCHEDULE": c.ReportWeeklySchedule} {
		if spec == "" {
			continue
		}
		if _, err := cron.ParseStandard(spec); err != nil {
			bad(env, "%q is not a cron schedule (minute hour day month weekday): %v", spec, err)
		}
	}
	switch c.SMTPTLS {
	case "starttls", "implicit", "none":
	default:
		bad("SMTP_TLS", "%q is not one of starttls, implicit, none", c.SMTPTLS)
	}
	if c.AlertTo != "" {
		if _, err := mail.ParseAddressList(c.AlertTo); err != nil {
			bad("ALERT_TO", "%q is not a comma-separated list of e-mail addresses: %v", c.AlertTo, err)
		}
	}
	if !c.ReportsOn() && !c.AlertMail {
		return
	}
	// What needs it: a scheduled report, or ALERT_MAIL.
	what := "a scheduled report"
	if !c.ReportsOn() {
		what = "ALERT_MAIL"
	}
	if c.ReportsOn() || strings.TrimSpace(c.AlertTo) == "" {
		needs := what
		if !c.ReportsOn() {
			needs = "ALERT_MAIL (without ALERT_TO)"
		}
		if _, err := mail.ParseAddressList(c.ReportTo); strings.TrimSpace(c.ReportTo) == "" {
			bad("REPORT_TO", "is empty: %s needs its recipients (comma-separated addresses)", needs)
		} else if err != nil {
			bad("REPORT_TO", "%q is not a comma-separated list of e-mail addresses: %v", c.ReportTo, err)
		}
	}
	if _, err := mail.ParseAddress(c.ReportFrom); err != nil {
		bad("REPORT_FROM", "%q is not an e-mail address: %s needs its sender", c.ReportFrom, what)
	}
	host, port, err := net.SplitHostPort(c.SMTPAddr)
	switch {
	case c.SMTPAddr == "":
		bad("SMTP_ADDR", "is empty: %s needs the mail server (host:port, e.g. smtp.example.com:587)", what)
	case err != nil || host == "" || port == "":
		bad("SMTP_ADDR", "%q is not host:port (e.g. smtp.example.com:587)", c.SMTPAddr)
	case c.SMTPTLS == "none" && !insecureOK(host, ""):
		bad("SMTP_TLS", "none sends the mail (and SMTP_PASSWORD) unencrypted: only to a loopback server, not %s", host)
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		bad("SMTP_USERNAME", "and SMTP_PASSWORD go together: set both, or neither for a server without login")
	}
}

// checkLogs checks how the job logs.
func (c *Config) checkLogs(bad complaint) {
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
}
