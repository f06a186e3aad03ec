// Package config reads the job's settings from flags, the environment and
// a .env file (in that order of precedence) and checks them once, naming
// the variable in every message.
//
// It imports dialpad only (a target is a dialpad.Target); it is the only
// package that reads the environment, and the commands hand the others
// plain values.
package config

import (
	"context"
	"flag"
	"fmt"
	"net"
	"net/mail"
	"reflect"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/sethvargo/go-envconfig"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Config holds every setting and what Validate derives from them.
type Config struct {
	Env

	// Derived by Validate.
	Targets  []dialpad.Target
	Location *time.Location
	Start    time.Time
	// StaffingExclude are STAFFING_EXCLUDE_DAYS's days, midnight in
	// Location, in the order given.
	StaffingExclude []time.Time

	offline bool // see WithoutDialpad
}

// LoadOption changes how Load checks the settings.
type LoadOption func(*Config)

// WithoutDialpad is for the commands that only read or rework the
// warehouse (migrate, status, report, rebuild): DIALPAD_API_TOKEN is not
// required.
func WithoutDialpad() LoadOption { return func(c *Config) { c.offline = true } }

// Env holds the settings as given. Each field's env tag names its variable
// and default; .env.example documents them.
type Env struct {
	Token        string        `env:"DIALPAD_API_TOKEN"`
	BaseURL      string        `env:"DIALPAD_BASE_URL, default=https://dialpad.com"`
	InsecureText string        `env:"DIALPAD_INSECURE_HOSTS"`
	TargetList   string        `env:"DIALPAD_TARGETS"`
	RateLimit    float64       `env:"DIALPAD_RATE_LIMIT, default=15"`
	Timeout      time.Duration `env:"DIALPAD_TIMEOUT, default=60s"`
	MaxAttempts  int           `env:"DIALPAD_MAX_ATTEMPTS, default=8"`
	BackoffMin   time.Duration `env:"DIALPAD_BACKOFF_MIN, default=500ms"`
	BackoffMax   time.Duration `env:"DIALPAD_BACKOFF_MAX, default=30s"`
	MaxPages     int           `env:"DIALPAD_MAX_PAGES, default=0"`
	OperatorsTTL time.Duration `env:"DIALPAD_OPERATORS_TTL, default=1h"`
	// WebhookSecret, when set, makes schedule receive Dialpad's events
	// at /webhooks/dialpad: bodies are JWTs signed HS256 with it.
	WebhookSecret string `env:"DIALPAD_WEBHOOK_SECRET"`
	// Events is how the events arrive: EventsWebhook (Dialpad posts them
	// to the job) or EventsWebsocket (the job connects out to Dialpad's
	// websocket; the secret signs them all the same).
	Events string `env:"DIALPAD_EVENTS, default=webhook"`
	// WebsocketLifetime is how long Dialpad keeps a websocket connection
	// open (an hour): the job connects a fresh URL before then, and
	// learns a shorter one from Dialpad's close.
	WebsocketLifetime time.Duration `env:"DIALPAD_WEBSOCKET_LIFETIME, default=1h"`
	LiveMaxAge        time.Duration `env:"ETL_LIVE_MAX_AGE, default=4h"`
	EventsKeep        time.Duration `env:"ETL_EVENTS_RETENTION, default=2160h"`
	// DutyStatusEvery is how often schedule, when it receives events,
	// reads each call-center operator's duty status to repair missed
	// status changes (0: never).
	DutyStatusEvery time.Duration `env:"DIALPAD_DUTY_STATUS_INTERVAL, default=5m"`
	// CallCenterStatusEvery is how often schedule polls each call-center
	// target's live status (0: never); CallCenterStatusKeep how long the
	// polls are kept.
	CallCenterStatusEvery time.Duration `env:"CALLCENTER_STATUS_INTERVAL, default=15s"`
	CallCenterStatusKeep  time.Duration `env:"CALLCENTER_STATUS_KEEP, default=840h"`

	ClickHouseAddr     string `env:"CLICKHOUSE_ADDR, default=127.0.0.1:9000"`
	ClickHouseDatabase string `env:"CLICKHOUSE_DATABASE, default=dialpad"`
	ClickHouseUsername string `env:"CLICKHOUSE_USERNAME, default=default"`
	ClickHousePassword string `env:"CLICKHOUSE_PASSWORD"`
	// ClickHouseCluster turns on cluster mode: the warehouse is spread
	// over that cluster of the servers' remote_servers.
	ClickHouseCluster      string `env:"CLICKHOUSE_CLUSTER"`
	ClickHouseInsertQuorum int    `env:"CLICKHOUSE_INSERT_QUORUM, default=0"`

	Timezone        string        `env:"ETL_TIMEZONE, default=UTC"`
	Lookback        time.Duration `env:"ETL_LOOKBACK, default=24h"`
	StartText       string        `env:"ETL_START, default=336h"`
	HourlySchedule  string        `env:"ETL_HOURLY_SCHEDULE, default=5 * * * *"`
	NightlySchedule string        `env:"ETL_NIGHTLY_SCHEDULE, default=30 2 * * *"`
	NightlyLookback time.Duration `env:"ETL_NIGHTLY_LOOKBACK, default=72h"`
	Concurrency     int           `env:"ETL_CONCURRENCY, default=8"`
	WindowTimeout   time.Duration `env:"ETL_WINDOW_TIMEOUT, default=10m"`
	HTTPAddr        string        `env:"ETL_HTTP_ADDR, default=:9108"`
	HealthMaxAge    time.Duration `env:"ETL_HEALTH_MAX_AGE, default=3h"`

	// The contact-center KPIs' thresholds (docs/counting.md, "Contact-center KPIs"),
	// recorded with the rows they produced.
	ShortAbandon     time.Duration `env:"KPI_SHORT_ABANDON, default=5s"`
	ServiceLevel     time.Duration `env:"KPI_SERVICE_LEVEL_THRESHOLD, default=60s"`
	ServiceLevelGoal float64       `env:"KPI_SERVICE_LEVEL_GOAL, default=80"`

	// The provisioned Grafana alert rules' thresholds (docs/alerts.md),
	// recorded in etl_settings at each start, where the rules read them.
	AlertMinOffered     int           `env:"ALERT_MIN_OFFERED, default=10"`
	AlertAbandonmentMax float64       `env:"ALERT_ABANDONMENT_MAX, default=10"`
	AlertLongestWait    time.Duration `env:"ALERT_LONGEST_WAIT, default=120s"`
	// The same rules' conditions e-mailed by schedule itself, for an
	// installation without Grafana: through the reports' SMTP settings,
	// to ALERT_TO (default REPORT_TO).
	AlertMail bool   `env:"ALERT_MAIL, default=false"`
	AlertTo   string `env:"ALERT_TO"`

	// Staffing (docs/commands.md, "staffing"): the agents an interval
	// needs to reach the service-level goal above. Percentages, like it.
	StaffingWeeks        int     `env:"STAFFING_WEEKS, default=8"`
	StaffingExcludeText  string  `env:"STAFFING_EXCLUDE_DAYS"`
	StaffingShrinkage    float64 `env:"STAFFING_SHRINKAGE, default=30"`
	StaffingMaxOccupancy float64 `env:"STAFFING_MAX_OCCUPANCY, default=85"`

	// Reconciliation with Dialpad's records exports (docs/reconciliation.md).
	ReconcileDays       int           `env:"RECONCILE_DAYS, default=7"`
	ReconcileReloadDays int           `env:"RECONCILE_MAX_RELOAD_DAYS, default=7"`
	ExportTimeout       time.Duration `env:"RECONCILE_EXPORT_TIMEOUT, default=10m"`
	ExportsPerHour      int           `env:"DIALPAD_EXPORTS_PER_HOUR, default=20"`
	// BackfillExportAfter is, for backfill --via auto, how many days back
	// the records export takes over from the call list.
	BackfillExportAfter int `env:"BACKFILL_EXPORT_AFTER_DAYS, default=7"`

	// E-mailed reports (docs/reports.md); off while
	// both schedules are empty.
	ReportDailySchedule  string `env:"REPORT_DAILY_SCHEDULE"`
	ReportWeeklySchedule string `env:"REPORT_WEEKLY_SCHEDULE"`
	ReportTo             string `env:"REPORT_TO"`
	ReportFrom           string `env:"REPORT_FROM"`
	SMTPAddr             string `env:"SMTP_ADDR"`
	SMTPUsername         string `env:"SMTP_USERNAME"`
	SMTPPassword         string `env:"SMTP_PASSWORD"`
	SMTPTLS              string `env:"SMTP_TLS, default=starttls"`

	LogLevel  string `env:"LOG_LEVEL, default=info"`
	LogFormat string `env:"LOG_FORMAT, default=text"`
}

// The ways events arrive (DIALPAD_EVENTS).
const (
	EventsWebhook   = "webhook"
	EventsWebsocket = "websocket"
)

// MinWebhookSecret is the shortest DIALPAD_WEBHOOK_SECRET accepted.
const MinWebhookSecret = 16

// MinLookback is the shortest ETL_LOOKBACK accepted.
const MinLookback = time.Hour

// PlainHTTPAllowed reports whether host may be spoken to over plain http
// (the token, or the webhook's events, would cross the network
// unencrypted): a loopback address, or a host in the comma list named
// (DIALPAD_INSECURE_HOSTS).
func PlainHTTPAllowed(host, named string) bool { return insecureOK(host, named) }

// insecureOK reports whether host may be sent the token over plain http:
// a loopback address, or a host in the comma list named.
func insecureOK(host, named string) bool {
	if host == "localhost" {
		return true
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return true
	}
	for _, h := range strings.Split(named, ",") {
		if h = strings.TrimSpace(h); h != "" && strings.EqualFold(h, host) {
			return true
		}
	}
	return false
}

// SimulatorToken is the token used against a simulator (a plain-http base
// URL that may have one) when none is set: the simulator's default.
const SimulatorToken = "sim-token"

// Load reads the settings: flags set in fs win over the environment
// (getenv), which wins over the .env file's values (dotenv, may be nil).
// Then it validates them, with now as the present.
func Load(ctx context.Context, fs *flag.FlagSet, getenv func(string) (string, bool), dotenv map[string]string, now time.Time,
	opts ...LoadOption) (*Config, error) {
	var c Config
	err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &c.Env, Lookuper: lookuper(fs, getenv, dotenv)})
	if err != nil {
		return nil, nameVariable(err)
	}
	for _, o := range opts {
		o(&c)
	}
	if err := c.Validate(now); err != nil {
		return nil, err
	}
	return &c, nil
}

// lookuper looks a variable up in the flags set in fs (may be nil), then
// getenv, then dotenv (may be nil).
func lookuper(fs *flag.FlagSet, getenv func(string) (string, bool), dotenv map[string]string) envconfig.Lookuper {
	flags := map[string]string{}
	if fs != nil {
		fs.Visit(func(f *flag.Flag) {
			if env, ok := flagEnv[f.Name]; ok {
				flags[env] = f.Value.String()
			}
		})
	}
	return envconfig.MultiLookuper(
		envconfig.MapLookuper(flags),
		envconfig.LookuperFunc(getenv),
		envconfig.MapLookuper(dotenv),
	)
}

// flagEnv maps each flag name to its variable: --clickhouse-addr sets
// CLICKHOUSE_ADDR.
var flagEnv = map[string]string{}

// secret are the variables that have no flag: a command line is visible
// to every user of the machine.
var secret = map[string]bool{"DIALPAD_API_TOKEN": true, "CLICKHOUSE_PASSWORD": true, "DIALPAD_WEBHOOK_SECRET": true,
	"SMTP_PASSWORD": true}

// RegisterFlags adds a flag for every variable but the secrets to fs, so
// that any other setting can be given on the command line.
func RegisterFlags(fs *flag.FlagSet) {
	t := reflect.TypeOf(Env{})
	for i := 0; i < t.NumField(); i++ {
		env, def := envTag(t.Field(i))
		if env == "" || secret[env] {
			continue
		}
		name := strings.ToLower(strings.ReplaceAll(env, "_", "-"))
		flagEnv[name] = env
		help := "sets " + env
		if def != "" {
			help += " (default " + def + ")"
		}
		fs.String(name, "", help)
	}
}

func envTag(f reflect.StructField) (env, def string) {
	tag := f.Tag.Get("env")
	if tag == "" || tag == "-" {
		return "", ""
	}
	parts := strings.Split(tag, ",")
	for _, p := range parts[1:] {
		if v, ok := strings.CutPrefix(strings.TrimSpace(p), "default="); ok {
			def = v
		}
	}
	return strings.TrimSpace(parts[0]), def
}

// nameVariable rewrites envconfig's "Field: problem" into "VARIABLE: problem".
func nameVariable(err error) error {
	msg := err.Error()
	field, rest, ok := strings.Cut(msg, ": ")
	if !ok {
		return err
	}
	if f, found := reflect.TypeOf(Env{}).FieldByName(field); found {
		if env, _ := envTag(f); env != "" {
			return fmt.Errorf("%s: %s", env, rest)
		}
	}
	return err
}

// ParseInstant reads a date (YYYY-MM-DD, midnight in loc), an RFC 3339
// instant, or a duration meaning that long before now (e.g. 336h).
func ParseInstant(s string, loc *time.Location, now time.Time) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a date (2026-01-31), an RFC 3339 time or a duration ago (336h)", s)
}

// String describes the settings without secrets.
func (c *Config) String() string {
	return fmt.Sprintf("targets=%v base_url=%s clickhouse=%s/%s zone=%s", c.Targets, c.BaseURL, c.ClickHouseAddr, c.ClickHouseDatabase, c.Timezone)
}

// ParseDotenv reads a .env file exactly as Docker Compose reads it (its
// own parser): quotes, escapes, inline # comments, "export ", and ${VAR}
// taken from lookup (which may be nil) or from the file's earlier lines.
func ParseDotenv(text string, lookup func(string) (string, bool)) (map[string]string, error) {
	if lookup == nil {
		lookup = func(string) (string, bool) { return "", false }
	}
	m, err := dotenv.UnmarshalWithLookup(text, dotenv.LookupFn(lookup))
	if err != nil {
		return nil, dotenvError(text, lookup, err)
	}
	return m, nil
}

// dotenvError names the first line of text that cannot be read, and why,
// but never its value: the parser's own message quotes it, and the value
// may be a password.
func dotenvError(text string, lookup func(string) (string, bool), err error) error {
	lines := strings.SplitAfter(text, "\n")
	at := len(lines)
	for n := 1; n <= len(lines); n++ {
		if _, perr := dotenv.UnmarshalWithLookup(strings.Join(lines[:n], ""), dotenv.LookupFn(lookup)); perr != nil {
			at = n
			break
		}
	}
	why := "it is not NAME=value"
	switch msg := err.Error(); {
	case strings.Contains(msg, "unterminated quoted value"):
		why = "a quote is not closed"
	case strings.Contains(msg, "key cannot contain a space"), strings.Contains(msg, "unexpected character"):
		why = "the name is not a variable name"
	}
	return fmt.Errorf(".env line %d cannot be read: %s", at, why)
}

// ReportsOn reports whether a report is e-mailed on a schedule.
func (c *Config) ReportsOn() bool { return c.ReportDailySchedule != "" || c.ReportWeeklySchedule != "" }

// AlertRecipients are the alert mail's addresses: ALERT_TO's, or
// REPORT_TO's when it is empty (nil when it is not a list of addresses:
// Validate says so).
func (c *Config) AlertRecipients() []string {
	if strings.TrimSpace(c.AlertTo) == "" {
		return c.Recipients()
	}
	return addresses(c.AlertTo)
}

// Recipients are REPORT_TO's addresses (nil when it is not a list of
// addresses: Validate says so).
func (c *Config) Recipients() []string { return addresses(c.ReportTo) }

// addresses are list's, or nil when it is not a list of addresses.
func addresses(list string) []string {
	parsed, err := mail.ParseAddressList(list)
	if err != nil {
		return nil
	}
	out := make([]string, len(parsed))
	for i, a := range parsed {
		out[i] = a.String()
	}
	return out
}
