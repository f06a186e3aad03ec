// Package config reads the job's settings from flags, the environment and
// a .env file (in that order of precedence) and checks them once, naming
// the variable in every message.
package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math"
	"net"
	"net/mail"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/compose-spec/compose-go/v2/dotenv"
	"github.com/robfig/cron/v3"
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
	WebhookSecret string        `env:"DIALPAD_WEBHOOK_SECRET"`
	LiveMaxAge    time.Duration `env:"ETL_LIVE_MAX_AGE, default=4h"`
	EventsKeep    time.Duration `env:"ETL_EVENTS_RETENTION, default=2160h"`

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

	// Reconciliation with Dialpad's records exports (docs/reconciliation.md).
	ReconcileDays       int           `env:"RECONCILE_DAYS, default=7"`
	ReconcileReloadDays int           `env:"RECONCILE_MAX_RELOAD_DAYS, default=7"`
	ExportTimeout       time.Duration `env:"RECONCILE_EXPORT_TIMEOUT, default=10m"`
	ExportsPerHour      int           `env:"DIALPAD_EXPORTS_PER_HOUR, default=20"`

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
	flags := map[string]string{}
	if fs != nil {
		fs.Visit(func(f *flag.Flag) {
			if env, ok := flagEnv[f.Name]; ok {
				flags[env] = f.Value.String()
			}
		})
	}
	var c Config
	err := envconfig.ProcessWith(ctx, &envconfig.Config{
		Target: &c.Env,
		Lookuper: envconfig.MultiLookuper(
			envconfig.MapLookuper(flags),
			envconfig.LookuperFunc(getenv),
			envconfig.MapLookuper(dotenv),
		),
	})
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

// Validate checks ranges and cross-field rules and derives Targets,
// Location and Start.
func (c *Config) Validate(now time.Time) error {
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, args...)...))
	}
	u, err := url.Parse(c.BaseURL)
	// A simulator: plain http, which only a loopback address or a host
	// named in DIALPAD_INSECURE_HOSTS may use, since the token would cross
	// the network unencrypted.
	simulator := err == nil && u.Scheme == "http" && insecureOK(u.Hostname(), c.InsecureText)
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
	case c.Token == "" && simulator:
		c.Token = SimulatorToken
	}
	if c.Targets, err = dialpad.ParseTargets(c.TargetList); err != nil {
		bad("DIALPAD_TARGETS", "%v", err)
	} else if len(c.Targets) == 0 {
		bad("DIALPAD_TARGETS", "is required: a comma list such as department:4869792674824192,callcenter:123")
	}
	// Above 20/s only against a simulator (benchmarks): Dialpad allows
	// 20/s per company.
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
	switch w := c.WebhookSecret; {
	case w != "" && len(w) < MinWebhookSecret:
		bad("DIALPAD_WEBHOOK_SECRET", "is %d characters; use at least %d (random, e.g. openssl rand -hex 32)", len(w), MinWebhookSecret)
	case strings.ContainsAny(w, "\r\n"):
		bad("DIALPAD_WEBHOOK_SECRET", "must be a single line (Dialpad refuses others)")
	}
	if c.EventsKeep < 24*time.Hour {
		bad("ETL_EVENTS_RETENTION", "must be at least 24h, got %s", c.EventsKeep)
	}
	if c.ShortAbandon < 0 || c.ShortAbandon > time.Hour || c.ShortAbandon%time.Millisecond != 0 {
		bad("KPI_SHORT_ABANDON", "must be whole milliseconds from 0s to 1h, got %s", c.ShortAbandon)
	}
	if c.ServiceLevel <= 0 || c.ServiceLevel > time.Hour || c.ServiceLevel%time.Millisecond != 0 {
		bad("KPI_SERVICE_LEVEL_THRESHOLD", "must be whole milliseconds above 0s, at most 1h, got %s", c.ServiceLevel)
	}
	if !(c.ServiceLevelGoal > 0 && c.ServiceLevelGoal <= 100) {
		bad("KPI_SERVICE_LEVEL_GOAL", "must be a percentage above 0, at most 100, got %v", c.ServiceLevelGoal)
	}
	if c.LiveMaxAge < time.Minute {
		bad("ETL_LIVE_MAX_AGE", "must be at least 1m, got %s", c.LiveMaxAge)
	}
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
	if c.Location, err = time.LoadLocation(c.Timezone); err != nil || c.Timezone == "" || c.Timezone == "Local" {
		bad("ETL_TIMEZONE", "%q is not an IANA time zone name such as America/Chicago", c.Timezone)
		c.Location = time.UTC
	}
	if c.Lookback < MinLookback {
		bad("ETL_LOOKBACK", "must be at least %s, got %s: Dialpad lists a call only once it has ended, "+
			"so a call still running at a load must be read again by a later one", MinLookback, c.Lookback)
	}
	if c.NightlyLookback <= 0 {
		bad("ETL_NIGHTLY_LOOKBACK", "must be positive, got %s", c.NightlyLookback)
	}
	if c.ReconcileDays < 0 || c.ReconcileDays > 366 {
		bad("RECONCILE_DAYS", "must be 0 (no nightly reconciliation) to 366 days, got %d", c.ReconcileDays)
	}
	if c.ReconcileReloadDays < 0 || c.ReconcileReloadDays > 366 {
		bad("RECONCILE_MAX_RELOAD_DAYS", "must be 0 (report only) to 366 days, got %d", c.ReconcileReloadDays)
	}
	if c.ExportTimeout <= 0 {
		bad("RECONCILE_EXPORT_TIMEOUT", "must be positive, got %s", c.ExportTimeout)
	}
	c.validateReports(bad)
	if c.ExportsPerHour < 1 || c.ExportsPerHour > 200 {
		bad("DIALPAD_EXPORTS_PER_HOUR", "must be 1 to 200 (Dialpad allows a company 200 an hour, shared by every integration), got %d", c.ExportsPerHour)
	}
	if c.Start, err = ParseInstant(c.StartText, c.Location, now); err != nil {
		bad("ETL_START", "%v", err)
	} else if !c.Start.Before(now) {
		bad("ETL_START", "%s is not in the past", c.Start.Format(time.RFC3339))
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
	switch strings.ToLower(c.LogLevel) {
	case "debug", "info", "warn", "error":
	default:
		bad("LOG_LEVEL", "%q is not one of debug, info, warn, error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		bad("LOG_FORMAT", "%q is not text or json", c.LogFormat)
	}
	return errors.Join(errs...)
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

// Recipients are REPORT_TO's addresses (nil when it is not a list of
// addresses: Validate says so).
func (c *Config) Recipients() []string {
	list, err := mail.ParseAddressList(c.ReportTo)
	if err != nil {
		return nil
	}
	out := make([]string, len(list))
	for i, a := range list {
		out[i] = a.String()
	}
	return out
}

// validateReports checks the e-mail settings, when a report is scheduled.
func (c *Config) validateReports(bad func(env, format string, args ...any)) {
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
	if !c.ReportsOn() {
		return
	}
	if _, err := mail.ParseAddressList(c.ReportTo); strings.TrimSpace(c.ReportTo) == "" {
		bad("REPORT_TO", "is empty: a scheduled report needs its recipients (comma-separated addresses)")
	} else if err != nil {
		bad("REPORT_TO", "%q is not a comma-separated list of e-mail addresses: %v", c.ReportTo, err)
	}
	if _, err := mail.ParseAddress(c.ReportFrom); err != nil {
		bad("REPORT_FROM", "%q is not an e-mail address: a scheduled report needs its sender", c.ReportFrom)
	}
	host, port, err := net.SplitHostPort(c.SMTPAddr)
	switch {
	case c.SMTPAddr == "":
		bad("SMTP_ADDR", "is empty: a scheduled report needs the mail server (host:port, e.g. smtp.example.com:587)")
	case err != nil || host == "" || port == "":
		bad("SMTP_ADDR", "%q is not host:port (e.g. smtp.example.com:587)", c.SMTPAddr)
	case c.SMTPTLS == "none" && !insecureOK(host, ""):
		bad("SMTP_TLS", "none sends the mail (and SMTP_PASSWORD) unencrypted: only to a loopback server, not %s", host)
	}
	if (c.SMTPUsername == "") != (c.SMTPPassword == "") {
		bad("SMTP_USERNAME", "and SMTP_PASSWORD go together: set both, or neither for a server without login")
	}
}

// validCluster is a name of remote_servers that the job can write into
// its statements.
var validCluster = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
