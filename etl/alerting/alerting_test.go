package alerting_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/dialpad-etl/dialpad-etl/etl/alerting"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/leasetest"
)

// Every provisioned rule is one the alert mail evaluates: a group
// interval, a for, a condition comparing A with B or a number.
func TestProvisionedRulesAreRead(t *testing.T) {
	rules, err := alerting.Rules()
	if err != nil {
		t.Fatal(err)
	}
	if len(rules) != 8 {
		t.Errorf("%d rules, want 8", len(rules))
	}
	for _, r := range rules {
		if r.UID == "dialpad-service-level" && (r.Every != time.Minute || r.For != 5*time.Minute) {
			t.Errorf("%s: every %s, for %s; want 1m, 5m", r.UID, r.Every, r.For)
		}
	}
}

// fakeStore answers query A with its rows and B with its threshold (none
// when nil), and keeps the states in memory.
type fakeStore struct {
	rows      []alerting.Row
	threshold *float64
	fail      error
	states    map[string]alerting.State
	queries   []string
}

func (f *fakeStore) Query(_ context.Context, sql string) ([]alerting.Row, error) {
	f.queries = append(f.queries, sql)
	if f.fail != nil {
		return nil, f.fail
	}
	if strings.HasPrefix(sql, "SELECT threshold") {
		if f.threshold == nil {
			return nil, nil
		}
		return []alerting.Row{{Labels: map[string]string{}, Value: *f.threshold}}, nil
	}
	return f.rows, nil
}

func (f *fakeStore) States(context.Context) (map[string]alerting.State, error) {
	out := map[string]alerting.State{}
	for k, v := range f.states {
		out[k] = v
	}
	return out, nil
}

func (f *fakeStore) SaveState(_ context.Context, key string, s alerting.State) error {
	if f.states == nil {
		f.states = map[string]alerting.State{}
	}
	if s == (alerting.State{}) {
		delete(f.states, key)
	} else {
		f.states[key] = s
	}
	return nil
}

type sent struct{ subject, text string }

type fakeMail struct {
	sent []sent
	fail error
}

func (f *fakeMail) Mail(_ context.Context, subject, text string) error {
	if f.fail != nil {
		return f.fail
	}
	f.sent = append(f.sent, sent{subject, text})
	return nil
}

// rule is a service-level rule as the provisioned one: $A < $B over the
// last 30 minutes, for 5m, evaluated every minute.
func rule(t *testing.T) alerting.Rule {
	t.Helper()
	var r expand.Rule
	err := json.Unmarshal([]byte(`{"uid": "sl", "title": "Service level below goal", "condition": "C",
		"for": "5m", "labels": {"severity": "warning", "team": "manager"},
		"annotations": {"summary": "Service level of {{ $labels.target }} is {{ printf \"%.1f\" $values.A.Value }} %, below {{ $values.B.Value }} %",
			"description": "Answered within the threshold / offered."},
		"data": [
			{"refId": "A", "relativeTimeRange": {"from": 1800, "to": 0}, "model": {"rawSql": "SELECT target, sl FROM c WHERE $__timeFilter(started_at)"}},
			{"refId": "B", "relativeTimeRange": {"from": 1800, "to": 0}, "model": {"rawSql": "SELECT threshold"}},
			{"refId": "C", "datasourceUid": "__expr__", "model": {"type": "math", "expression": "$A < $B"}}]}`), &r)
	if err != nil {
		t.Fatal(err)
	}
	return alerting.Rule{Rule: r, Every: time.Minute, For: 5 * time.Minute}
}

type harness struct {
	store *fakeStore
	mail  *fakeMail
	a     *alerting.Alerter
	now   time.Time
	reg   *prometheus.Registry
}

func newHarness(t *testing.T) *harness {
	goal := 80.0
	h := &harness{store: &fakeStore{threshold: &goal}, mail: &fakeMail{}, now: time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC),
		reg: prometheus.NewRegistry()}
	h.a = &alerting.Alerter{Rules: []alerting.Rule{rule(t)}, Store: h.store, Mail: h.mail, Leases: leasetest.New(),
		Now: func() time.Time { return h.now }, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Metrics: alerting.NewMetrics(h.reg)}
	return h
}

// metric is the value of the metric name whose labels include labels
// (name, value, ...); 0 when it has no such series.
func (h *harness) metric(t *testing.T, name string, labels ...string) float64 {
	t.Helper()
	families, err := h.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
	series:
		for _, m := range f.GetMetric() {
			for i := 0; i+1 < len(labels); i += 2 {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool {
					return l.GetName() == labels[i] && l.GetValue() == labels[i+1]
				}) {
					continue series
				}
			}
			if m.Counter != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	return 0
}

// at evaluates at start + d (a fresh Alerter on the same store after a
// restart when restart is set).
func (h *harness) at(t *testing.T, d time.Duration) {
	t.Helper()
	h.now = time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC).Add(d)
	if err := h.a.Evaluate(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) sl(v float64) {
	h.store.rows = []alerting.Row{{Labels: map[string]string{"target": "callcenter:101"}, Value: v}}
}

// A condition that holds mails once it has held for the rule's for, not
// again within the hour, again after it while it holds, and once when it
// clears.
func TestAlertMailedOnceAnHourAndWhenItClears(t *testing.T) {
	h := newHarness(t)
	h.sl(70)
	h.at(t, 0)
	h.at(t, 4*time.Minute)
	if len(h.mail.sent) != 0 {
		t.Fatalf("mailed before the rule's for: %v", h.mail.sent)
	}
	h.at(t, 5*time.Minute)
	if len(h.mail.sent) != 1 {
		t.Fatalf("%d mails after 5 minutes, want 1", len(h.mail.sent))
	}
	if n, f := h.metric(t, "dialpad_etl_alert_mails_total", "rule", "sl", "kind", "firing"),
		h.metric(t, "dialpad_etl_alerts_firing", "rule", "sl"); n != 1 || f != 1 {
		t.Errorf("metrics: %g firing mails, %g alerts firing; want 1 and 1", n, f)
	}
	m := h.mail.sent[0]
	if m.subject != "[Dialpad alert] Service level below goal: callcenter:101" ||
		!strings.Contains(m.text, "Service level of callcenter:101 is 70.0 %, below 80 %") ||
		!strings.Contains(m.text, "Answered within the threshold / offered.") {
		t.Errorf("mail %q\n%s", m.subject, m.text)
	}
	// The query's time range is the rule's, at the evaluation.
	if q := h.store.queries[len(h.store.queries)-1]; !strings.Contains(q,
		"started_at >= toDateTime(1773149700) AND started_at <= toDateTime(1773151500)") {
		t.Errorf("query A %s: want 13:35 to 14:05", q)
	}
	for m := 6; m < 65; m += 7 {
		h.at(t, time.Duration(m)*time.Minute)
	}
	if len(h.mail.sent) != 1 {
		t.Fatalf("%d mails within the hour, want 1", len(h.mail.sent))
	}
	h.at(t, 65*time.Minute)
	if len(h.mail.sent) != 2 {
		t.Fatalf("%d mails after the hour, want 2 (it still holds)", len(h.mail.sent))
	}
	h.sl(85)
	h.at(t, 66*time.Minute)
	h.at(t, 67*time.Minute)
	if len(h.mail.sent) != 3 || h.mail.sent[2].subject != "[Dialpad alert resolved] Service level below goal: callcenter:101" ||
		!strings.Contains(h.mail.sent[2].text, "Figure now: 85 (threshold 80)") {
		t.Fatalf("after it cleared: %v", h.mail.sent)
	}
	if n, f := h.metric(t, "dialpad_etl_alert_mails_total", "rule", "sl", "kind", "resolved"),
		h.metric(t, "dialpad_etl_alerts_firing", "rule", "sl"); n != 1 || f != 0 {
		t.Errorf("metrics: %g recovery mails, %g alerts firing; want 1 and 0", n, f)
	}
	// Low again within the hour of the last mail: held back until it
	// passes.
	h.sl(60)
	for m := 68; m < 125; m += 5 {
		h.at(t, time.Duration(m)*time.Minute)
	}
	if len(h.mail.sent) != 3 {
		t.Fatalf("%d mails, want none more within the hour of the last", len(h.mail.sent))
	}
	h.at(t, 126*time.Minute)
	if len(h.mail.sent) != 4 {
		t.Fatalf("%d mails, want the firing one an hour after the last", len(h.mail.sent))
	}
}

// A condition that clears before the rule's for sends nothing; a target
// whose row is gone (too few calls) clears; a rule without a threshold
// (the job never recorded it) fires for nobody.
func TestNoMailWithoutACondition(t *testing.T) {
	h := newHarness(t)
	h.sl(70)
	h.at(t, 0)
	h.sl(90)
	h.at(t, 3*time.Minute)
	h.sl(70)
	h.at(t, 4*time.Minute)
	h.at(t, 8*time.Minute)
	if len(h.mail.sent) != 0 {
		t.Fatalf("mailed %v: the condition has held 4 minutes only", h.mail.sent)
	}
	h.store.rows = nil // below the minimum of offered calls
	h.at(t, 10*time.Minute)
	h.sl(70)
	h.store.threshold = nil
	h.at(t, 20*time.Minute)
	h.at(t, 30*time.Minute)
	if len(h.mail.sent) != 0 || len(h.store.states) != 0 {
		t.Fatalf("mails %v, states %v; want none", h.mail.sent, h.store.states)
	}
}

// A restart within the hour sends nothing again: the state is the
// store's.
func TestRestartDoesNotMailAgain(t *testing.T) {
	h := newHarness(t)
	h.sl(70)
	h.at(t, 0)
	h.at(t, 5*time.Minute)
	h.a = &alerting.Alerter{Rules: h.a.Rules, Store: h.store, Mail: h.mail, Leases: leasetest.New(), Now: h.a.Now, Log: h.a.Log}
	h.at(t, 6*time.Minute)
	h.at(t, 30*time.Minute)
	if len(h.mail.sent) != 1 {
		t.Fatalf("%d mails, want 1", len(h.mail.sent))
	}
	h.sl(85)
	h.at(t, 31*time.Minute)
	if len(h.mail.sent) != 2 {
		t.Fatalf("%d mails, want the recovery after the restart", len(h.mail.sent))
	}
}

// A mail that fails is sent at the next evaluation; a query that fails
// changes nothing (no recovery mail), and says so.
func TestFailuresAreTriedAgain(t *testing.T) {
	h := newHarness(t)
	h.sl(70)
	h.at(t, 0)
	h.mail.fail = errors.New("451 try again later")
	h.at(t, 5*time.Minute)
	h.mail.fail = nil
	h.at(t, 6*time.Minute)
	if len(h.mail.sent) != 1 {
		t.Fatalf("%d mails, want 1 at the next evaluation", len(h.mail.sent))
	}
	h.store.fail = errors.New("connection refused")
	h.now = h.now.Add(time.Minute)
	if err := h.a.Evaluate(context.Background()); err == nil {
		t.Error("a failed query: no error")
	}
	h.store.fail = nil
	if len(h.mail.sent) != 1 || !h.store.states["sl/target=callcenter:101"].Firing {
		t.Errorf("after a failed query: mails %v, states %v", h.mail.sent, h.store.states)
	}
	if m, e := h.metric(t, "dialpad_etl_alert_failures_total", "rule", "sl", "step", "mail"),
		h.metric(t, "dialpad_etl_alert_failures_total", "rule", "sl", "step", "evaluation"); m != 1 || e != 1 {
		t.Errorf("metrics: %g mails and %g evaluations failed; want 1 and 1", m, e)
	}
}

// Another process holding the lease evaluates; this one skips.
func TestAnotherProcessMails(t *testing.T) {
	h := newHarness(t)
	leases := leasetest.New()
	leases.HeldBy("alerts:mail", "other/1", h.now.Add(time.Hour), 0)
	h.a.Leases = leases
	h.sl(70)
	h.at(t, 0)
	h.at(t, 5*time.Minute)
	if len(h.mail.sent) != 0 || len(h.store.queries) != 0 {
		t.Errorf("mails %v, queries %d; want none", h.mail.sent, len(h.store.queries))
	}
}
