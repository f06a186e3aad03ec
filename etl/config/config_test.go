package config

import (
	"context"
	"flag"
	"reflect"
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 11, 24, 12, 0, 0, 0, time.UTC)

func load(t *testing.T, env map[string]string, dotenv map[string]string, args ...string) (*Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	RegisterFlags(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	return Load(context.Background(), fs, getenv, dotenv, now)
}

var good = map[string]string{
	"DIALPAD_API_TOKEN": "tok-123",
	"DIALPAD_TARGETS":   "department:4869792674824192, callcenter:123",
}

func with(kv ...string) map[string]string {
	m := map[string]string{}
	for k, v := range good {
		m[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return m
}

func TestDefaults(t *testing.T) {
	c, err := load(t, good, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.RateLimit != 15 || c.Timeout != 60*time.Second || c.ClickHouseDatabase != "dialpad" || c.Location != time.UTC ||
		c.Lookback != 24*time.Hour || c.NightlyLookback != 72*time.Hour || c.HTTPAddr != ":9108" || c.Concurrency != 8 ||
		c.ShortAbandon != 5*time.Second || c.ServiceLevel != 60*time.Second || c.ServiceLevelGoal != 80 {
		t.Errorf("defaults: %+v", c)
	}
	if !c.Start.Equal(now.Add(-14 * 24 * time.Hour)) {
		t.Errorf("ETL_START default %v, want 14 days before now", c.Start)
	}
	if len(c.Targets) != 2 || c.Targets[1].Type != "callcenter" || c.Targets[1].ID != 123 {
		t.Errorf("targets %v", c.Targets)
	}
}

func TestBadSettingsNameTheirVariable(t *testing.T) {
	cases := []struct {
		env  map[string]string
		want string
	}{
		{with("DIALPAD_TARGETS", "team:5"), "DIALPAD_TARGETS"},
		{with("DIALPAD_TARGETS", ""), "DIALPAD_TARGETS"},
		{with("ETL_TIMEZONE", "Mars/Olympus"), "ETL_TIMEZONE"},
		{with("ETL_LOOKBACK", "-2h"), "ETL_LOOKBACK"},
		{with("ETL_LOOKBACK", "soon"), "ETL_LOOKBACK"},
		{with("DIALPAD_RATE_LIMIT", "25"), "DIALPAD_RATE_LIMIT"},
		{with("DIALPAD_RATE_LIMIT", "fast"), "DIALPAD_RATE_LIMIT"},
		{with("DIALPAD_API_TOKEN", ""), "DIALPAD_API_TOKEN"},
		{with("DIALPAD_BASE_URL", "https://u:p@dialpad.com"), "DIALPAD_BASE_URL"},
		{with("ETL_START", "last tuesday"), "ETL_START"},
		{with("ETL_HOURLY_SCHEDULE", "every hour"), "ETL_HOURLY_SCHEDULE"},
		{with("LOG_FORMAT", "xml"), "LOG_FORMAT"},
		{with("CLICKHOUSE_ADDR", "localhost"), "CLICKHOUSE_ADDR"},
		{with("CLICKHOUSE_ADDR", "a:9000,b"), "CLICKHOUSE_ADDR"},
		{with("CLICKHOUSE_CLUSTER", "two words"), "CLICKHOUSE_CLUSTER"},
		{with("CLICKHOUSE_INSERT_QUORUM", "2"), "CLICKHOUSE_INSERT_QUORUM"},
		{with("CLICKHOUSE_CLUSTER", "dialpad", "CLICKHOUSE_INSERT_QUORUM", "-1"), "CLICKHOUSE_INSERT_QUORUM"},
		{with("KPI_SHORT_ABANDON", "-1s"), "KPI_SHORT_ABANDON"},
		{with("KPI_SHORT_ABANDON", "5"), "KPI_SHORT_ABANDON"},
		{with("KPI_SERVICE_LEVEL_THRESHOLD", "0s"), "KPI_SERVICE_LEVEL_THRESHOLD"},
		{with("KPI_SERVICE_LEVEL_THRESHOLD", "20.5us"), "KPI_SERVICE_LEVEL_THRESHOLD"},
		{with("KPI_SERVICE_LEVEL_GOAL", "120"), "KPI_SERVICE_LEVEL_GOAL"},
		{with("KPI_SERVICE_LEVEL_GOAL", "NaN"), "KPI_SERVICE_LEVEL_GOAL"},
	}
	for _, c := range cases {
		_, err := load(t, c.env, nil)
		if err == nil || !strings.HasPrefix(err.Error(), c.want+":") {
			t.Errorf("want an error starting %q, got %v", c.want, err)
		}
		if err != nil && strings.Contains(err.Error(), "tok-123") {
			t.Errorf("error reveals the token: %v", err)
		}
	}
}

func TestFlagsWinOverEnvironmentOverDotenv(t *testing.T) {
	dotenv := map[string]string{"ETL_TIMEZONE": "Asia/Tokyo", "CLICKHOUSE_DATABASE": "from_dotenv", "CLICKHOUSE_ADDR": "dotenv:9000"}
	env := with("ETL_TIMEZONE", "America/Chicago", "CLICKHOUSE_ADDR", "env:9000")
	c, err := load(t, env, dotenv, "--clickhouse-addr", "flag:9000")
	if err != nil {
		t.Fatal(err)
	}
	if c.ClickHouseAddr != "flag:9000" || c.Timezone != "America/Chicago" || c.ClickHouseDatabase != "from_dotenv" {
		t.Errorf("addr %s zone %s db %s", c.ClickHouseAddr, c.Timezone, c.ClickHouseDatabase)
	}
}

func TestSimulatorNeedsNoToken(t *testing.T) {
	c, err := load(t, with("DIALPAD_API_TOKEN", "", "DIALPAD_BASE_URL", "http://127.0.0.1:8089"), nil)
	if err != nil || c.Token != SimulatorToken {
		t.Fatalf("token %q, %v", c.Token, err)
	}
}

// The token crosses plain http only to a loopback address or a host named
// as a simulator; the rest is refused at start, naming DIALPAD_BASE_URL.
func TestTokenNeverCrossesTheNetworkUnencrypted(t *testing.T) {
	for _, ok := range []struct{ url, insecure string }{
		{"http://127.0.0.1:8089", ""}, {"http://localhost:8089", ""}, {"http://[::1]:8089", ""},
		{"http://simulator:8089", "simulator"}, {"http://Simulator:8089", "other, simulator"},
	} {
		if _, err := load(t, with("DIALPAD_BASE_URL", ok.url, "DIALPAD_INSECURE_HOSTS", ok.insecure), nil); err != nil {
			t.Errorf("%s with DIALPAD_INSECURE_HOSTS=%q: %v", ok.url, ok.insecure, err)
		}
	}
	for _, refused := range []struct{ url, insecure string }{
		{"http://dialpad.com", ""}, {"http://10.0.0.5:8089", ""}, {"http://simulator:8089", ""},
		{"http://simulator.evil.com:8089", "simulator"},
	} {
		_, err := load(t, with("DIALPAD_BASE_URL", refused.url, "DIALPAD_INSECURE_HOSTS", refused.insecure), nil)
		if err == nil || !strings.HasPrefix(err.Error(), "DIALPAD_BASE_URL:") || !strings.Contains(err.Error(), "DIALPAD_INSECURE_HOSTS") {
			t.Errorf("%s with DIALPAD_INSECURE_HOSTS=%q: %v, want a refusal naming DIALPAD_BASE_URL", refused.url, refused.insecure, err)
		}
	}
	_, err := load(t, with("DIALPAD_BASE_URL", "http://dialpad.com", "DIALPAD_RATE_LIMIT", "100"), nil)
	if err == nil || !strings.Contains(err.Error(), "DIALPAD_RATE_LIMIT:") {
		t.Errorf("100/s to http://dialpad.com: %v, want DIALPAD_RATE_LIMIT refused too", err)
	}
}

// A lookback under an hour would miss calls still running at a load.
func TestLookbackOfAtLeastAnHour(t *testing.T) {
	for _, v := range []string{"0s", "59m", "-1h"} {
		_, err := load(t, with("ETL_LOOKBACK", v), nil)
		if err == nil || !strings.HasPrefix(err.Error(), "ETL_LOOKBACK:") || !strings.Contains(err.Error(), "1h") {
			t.Errorf("ETL_LOOKBACK=%s: %v, want a refusal naming it and the 1h minimum", v, err)
		}
	}
	if c, err := load(t, with("ETL_LOOKBACK", "1h"), nil); err != nil || c.Lookback != time.Hour {
		t.Errorf("ETL_LOOKBACK=1h: %v", err)
	}
}

// Rates above Dialpad's 20/s are for a simulator only (benchmarks).
func TestRateAboveDialpadsLimitOnlyAgainstPlainHTTP(t *testing.T) {
	c, err := load(t, with("DIALPAD_RATE_LIMIT", "100000", "DIALPAD_BASE_URL", "http://127.0.0.1:8089"), nil)
	if err != nil || c.RateLimit != 100000 {
		t.Fatalf("rate %v, %v", c, err)
	}
	_, err = load(t, with("DIALPAD_RATE_LIMIT", "21", "DIALPAD_BASE_URL", "https://dialpad.com"), nil)
	if err == nil || !strings.HasPrefix(err.Error(), "DIALPAD_RATE_LIMIT:") || !strings.Contains(err.Error(), "(0, 20]") {
		t.Errorf("21/s against https: %v", err)
	}
}

func TestStartAcceptsDateInstantOrDurationAgo(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	for in, want := range map[string]time.Time{
		"2026-11-01":           time.Date(2026, 11, 1, 0, 0, 0, 0, chicago),
		"2026-11-01T06:00:00Z": time.Date(2026, 11, 1, 6, 0, 0, 0, time.UTC),
		"48h":                  now.Add(-48 * time.Hour),
	} {
		got, err := ParseInstant(in, chicago, now)
		if err != nil || !got.Equal(want) {
			t.Errorf("%s: %v, %v; want %v", in, got, err, want)
		}
	}
}

func TestParseDotenv(t *testing.T) {
	text := "# comment\nexport A=1\nB = \"two words\"\nC=x # trailing\n\nD='q'\n" +
		`CLICKHOUSE_PASSWORD="s3cr#t" # prod` + "\n" +
		`E="tab\tand \"quote\""` + "\n" + `F='lit\t$A'` + "\n" + "G=${A}-${FROM_ENV}\n"
	m, err := ParseDotenv(text, func(k string) (string, bool) { return map[string]string{"FROM_ENV": "env"}[k], k == "FROM_ENV" })
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": "x", "D": "q", "CLICKHOUSE_PASSWORD": "s3cr#t",
		"E": "tab\tand \"quote\"", "F": `lit\t$A`, "G": "1-env"}
	if !reflect.DeepEqual(m, want) {
		t.Errorf("got  %q\nwant %q (as Docker Compose reads it)", m, want)
	}
	// A bad line is named, its value never shown: it may be a password.
	for _, bad := range []struct{ text, want string }{
		{"A=1\nCLICKHOUSE_PASSWORD=\"s3cr#t\nB=2\n", ".env line 2 cannot be read: a quote is not closed"},
		{"A=1\n\nbad name=s3cr#t\n", ".env line 3 cannot be read: the name is not a variable name"},
	} {
		_, err := ParseDotenv(bad.text, nil)
		if err == nil || err.Error() != bad.want || strings.Contains(err.Error(), "s3cr") {
			t.Errorf("%q: %v, want %q", bad.text, err, bad.want)
		}
	}
}

// The commands that only read or rework the warehouse (rebuild, status,
// report, migrate) need no Dialpad token; the loads do.
func TestWithoutDialpadNeedsNoToken(t *testing.T) {
	env := with("DIALPAD_API_TOKEN", "")
	getenv := func(k string) (string, bool) { v, ok := env[k]; return v, ok && v != "" }
	if _, err := Load(context.Background(), nil, getenv, nil, now); err == nil || !strings.Contains(err.Error(), "DIALPAD_API_TOKEN") {
		t.Errorf("a load without a token: %v, want DIALPAD_API_TOKEN required", err)
	}
	if c, err := Load(context.Background(), nil, getenv, nil, now, WithoutDialpad()); err != nil || c.Token != "" {
		t.Errorf("without Dialpad: %v (token %q), want no error", err, c.Token)
	}
}

// A scheduled report needs its recipients, sender and server, a mail
// that is never sent unencrypted but to a loopback server, and a login
// given whole; the password is never echoed.
func TestReportSettings(t *testing.T) {
	mailing := func(kv ...string) map[string]string {
		return with(append([]string{"REPORT_WEEKLY_SCHEDULE", "0 7 * * 1", "REPORT_TO", `"Doe, Jane" <jane@example.com>, lead@example.com`,
			"REPORT_FROM", "etl@example.com", "SMTP_ADDR", "smtp.example.com:587", "SMTP_USERNAME", "etl",
			"SMTP_PASSWORD", "pw-SECRET"}, kv...)...)
	}
	c, err := load(t, mailing(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Recipients(); len(got) != 2 || !strings.Contains(got[0], "jane@example.com") || c.SMTPTLS != "starttls" {
		t.Errorf("recipients %q, TLS %q; want Jane and the lead, STARTTLS", got, c.SMTPTLS)
	}
	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		{mailing("REPORT_WEEKLY_SCHEDULE", "mondays"), "REPORT_WEEKLY_SCHEDULE"},
		{mailing("REPORT_TO", ""), "REPORT_TO"},
		{mailing("REPORT_TO", "jane at example"), "REPORT_TO"},
		{mailing("REPORT_FROM", ""), "REPORT_FROM"},
		{mailing("SMTP_ADDR", ""), "SMTP_ADDR"},
		{mailing("SMTP_ADDR", "smtp.example.com"), "SMTP_ADDR"},
		{mailing("SMTP_TLS", "ssl"), "SMTP_TLS"},
		{mailing("SMTP_TLS", "none"), "SMTP_TLS"},
		{mailing("SMTP_PASSWORD", ""), "SMTP_USERNAME"},
	} {
		_, err := load(t, bad.env, nil)
		if err == nil || !strings.Contains(err.Error(), bad.want+":") {
			t.Errorf("want an error naming %s, got %v", bad.want, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw-SECRET") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
	if _, err := load(t, mailing("SMTP_TLS", "none", "SMTP_ADDR", "127.0.0.1:2525"), nil); err != nil {
		t.Errorf("no TLS to a loopback server: %v", err)
	}
	if _, err := load(t, with("REPORT_TO", ""), nil); err != nil {
		t.Errorf("no report scheduled, nothing required: %v", err)
	}
}

// ALERT_MAIL is off by default; on, it needs the mail server and sender
// as a scheduled report does, and recipients: ALERT_TO, else REPORT_TO.
func TestAlertMailSettings(t *testing.T) {
	c, err := load(t, with(), nil)
	if err != nil || c.AlertMail {
		t.Fatalf("default: ALERT_MAIL %v, %v; want off", c.AlertMail, err)
	}
	alerting := func(kv ...string) map[string]string {
		return with(append([]string{"ALERT_MAIL", "true", "REPORT_TO", "lead@example.com", "REPORT_FROM", "etl@example.com",
			"SMTP_ADDR", "smtp.example.com:587", "SMTP_USERNAME", "etl", "SMTP_PASSWORD", "pw-SECRET"}, kv...)...)
	}
	c, err = load(t, alerting(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AlertRecipients(); !c.AlertMail || len(got) != 1 || !strings.Contains(got[0], "lead@example.com") {
		t.Errorf("ALERT_MAIL %v, recipients %q; want on, to REPORT_TO", c.AlertMail, got)
	}
	c, err = load(t, alerting("REPORT_TO", "", "ALERT_TO", "ops@example.com, lead@example.com"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.AlertRecipients(); len(got) != 2 || !strings.Contains(got[0], "ops@example.com") {
		t.Errorf("recipients %q; want ALERT_TO's", got)
	}
	for _, bad := range []struct {
		env  map[string]string
		want string
	}{
		{alerting("ALERT_MAIL", "sometimes"), "ALERT_MAIL"},
		{alerting("REPORT_TO", ""), "REPORT_TO"},
		{alerting("ALERT_TO", "ops at example"), "ALERT_TO"},
		{alerting("REPORT_FROM", ""), "REPORT_FROM"},
		{alerting("SMTP_ADDR", ""), "SMTP_ADDR"},
		{alerting("SMTP_PASSWORD", ""), "SMTP_USERNAME"},
	} {
		_, err := load(t, bad.env, nil)
		if err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("want an error naming %s, got %v", bad.want, err)
		}
		if err != nil && strings.Contains(err.Error(), "pw-SECRET") {
			t.Errorf("the error shows the password: %v", err)
		}
	}
}
