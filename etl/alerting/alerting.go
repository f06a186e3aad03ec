// Package alerting e-mails the provisioned Grafana alert rules'
// conditions itself, for an installation without Grafana (ALERT_MAIL):
// every minute it runs each due rule's queries A and B, expanded by
// grafana/expand for the rule's relative time range at that minute, and
// compares them per row as the rule's condition C does, so the mail and
// Grafana cannot disagree.
//
// An alert is a rule and one row of its query A (a target, or a report).
// Its condition must hold for the rule's `for` before the first mail; a
// firing mail goes at most once an hour per alert (again after the hour
// while it holds), and a recovery mail when it clears, as Grafana's
// noDataState OK has it: the row is gone, or its figure is on the right
// side, or the rule has no threshold. A query that fails changes nothing.
// The state (since when each alert holds, whether it is firing, when it
// was last mailed) is kept in etl_settings, so a restart sends nothing
// again within the hour; a lease keeps two processes from mailing the
// same alerts.
//
// It imports grafana (the rules' file), grafana/expand, lease (its
// owner) and the warehouse's connection (package db, for *Storage); the
// store, the mail and the leases it uses through the interfaces of
// contracts.go.
package alerting

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/grafana"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

// RulesFile is the provisioned alert rules' file in grafana.Files.
const RulesFile = "provisioning/alerting/dialpad.json"

// Rule is a provisioned rule with its group's evaluation interval and
// its pending period (`for`).
type Rule struct {
	expand.Rule
	Every time.Duration
	For   time.Duration
}

// Rules are the provisioned rules, paused ones left out.
func Rules() ([]Rule, error) {
	f, err := expand.LoadAlerts(grafana.Files, RulesFile)
	if err != nil {
		return nil, err
	}
	var out []Rule
	for _, g := range f.Groups {
		every, err := time.ParseDuration(g.Interval)
		if err != nil || every <= 0 {
			return nil, fmt.Errorf("%s: group %q: interval %q", RulesFile, g.Name, g.Interval)
		}
		for _, r := range g.Rules {
			pending, err := time.ParseDuration(r.For)
			if err != nil {
				return nil, fmt.Errorf("%s: rule %s: for %q", RulesFile, r.UID, r.For)
			}
			if _, _, err := condition(r); err != nil {
				return nil, err
			}
			if !r.IsPaused {
				out = append(out, Rule{Rule: r, Every: every, For: pending})
			}
		}
	}
	return out, nil
}

// Row is a row of a rule's query A: its text columns (the alert's
// labels) and its number.
type Row struct {
	Labels map[string]string
	Value  float64
}

// State is an alert's: since when its condition holds (zero: it does
// not), whether its firing mail went without a recovery mail since, and
// when the last firing mail went.
type State struct {
	Since  time.Time `json:"since"`
	Firing bool      `json:"firing"`
	Mailed time.Time `json:"mailed"`
}

func (s State) zero() bool { return s.Since.IsZero() && !s.Firing && s.Mailed.IsZero() }

// Repeat is the least time between two firing mails of one alert.
const Repeat = time.Hour

// Alerter evaluates the rules and mails their alerts.
type Alerter struct {
	Rules   []Rule
	Store   Store
	Mail    Mail
	Leases  Leases
	Now     func() time.Time // default time.Now
	Log     *slog.Logger
	Metrics *Metrics // nil: none

	owner lease.Owner
	last  map[time.Duration]time.Time // of each evaluation interval, the last evaluation
}

// leaseName is the lease of the alerts' mail.
const leaseName = "alerts:mail"

// Run evaluates the due rules every minute until ctx ends.
func (a *Alerter) Run(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		if err := a.Evaluate(ctx); err != nil && ctx.Err() == nil {
			a.Log.Error("alert mail: evaluation failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// Evaluate evaluates the rules due now (a rule is due once in each of
// its group's intervals, e.g. each minute, each five) and sends the
// mails their alerts call for. Another process holding the lease skips
// it.
func (a *Alerter) Evaluate(ctx context.Context) error {
	now := a.now()
	if a.owner == "" {
		a.owner = lease.NewOwner(lease.Long)
	}
	got, held, err := a.Leases.Acquire(ctx, a.owner, 2*time.Minute, leaseName)
	if err != nil {
		return err
	}
	if held[leaseName] != nil {
		a.Log.Debug("alert mail: another process evaluates the rules")
		return nil
	}
	defer a.Leases.Release(context.WithoutCancel(ctx), a.owner, got...)
	states, err := a.Store.States(ctx)
	if err != nil {
		return err
	}
	if a.last == nil {
		a.last = map[time.Duration]time.Time{}
	}
	due := map[time.Duration]bool{}
	for _, r := range a.Rules {
		if last, ok := a.last[r.Every]; !ok || !now.Truncate(r.Every).Equal(last.Truncate(r.Every)) {
			due[r.Every] = true
		}
	}
	for every := range due {
		a.last[every] = now
	}
	var failed []string
	for _, r := range a.Rules {
		if !due[r.Every] {
			continue
		}
		if err := a.rule(ctx, r, now, states); err != nil {
			a.Log.Error("alert mail: rule not evaluated", "rule", r.UID, "err", err)
			a.Metrics.failed(r.UID, "evaluation")
			failed = append(failed, r.UID)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d rules not evaluated: %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

// alert is a row of a rule at an evaluation, and whether its condition
// holds.
type alert struct {
	labels map[string]string // the rule's and the row's
	row    map[string]string // the row's alone
	a, b   float64
	hasB   bool
	holds  bool
}

// rule evaluates r at now and sends its alerts' mails, updating states.
func (a *Alerter) rule(ctx context.Context, r Rule, now time.Time, states map[string]State) error {
	alerts, err := a.evaluate(ctx, r, now)
	if err != nil {
		return err
	}
	prefix := r.UID + "/"
	for key := range states {
		if strings.HasPrefix(key, prefix) {
			if _, ok := alerts[key]; !ok {
				alerts[key] = nil // no row now: clear
			}
		}
	}
	for _, key := range slices.Sorted(maps.Keys(alerts)) {
		al := alerts[key]
		old := states[key]
		s := old
		holds := al != nil && al.holds
		switch {
		case holds:
			if s.Since.IsZero() {
				s.Since = now
			}
			if now.Sub(s.Since) >= r.For && (s.Mailed.IsZero() || now.Sub(s.Mailed) >= Repeat) {
				if err := a.Mail.Mail(ctx, subject("[Dialpad alert]", r, al, key), firingText(r, al, key, s.Since, now)); err != nil {
					a.Log.Error("alert mail: not sent", "rule", r.UID, "alert", key, "err", err)
					a.Metrics.failed(r.UID, "mail")
					break
				}
				a.Log.Info("alert mailed", "rule", r.UID, "alert", key, "value", al.a)
				a.Metrics.mailed(r.UID, "firing")
				s.Firing, s.Mailed = true, now
			}
		case s.Firing:
			if err := a.Mail.Mail(ctx, subject("[Dialpad alert resolved]", r, al, key), resolvedText(r, al, key, now)); err != nil {
				a.Log.Error("alert mail: recovery not sent", "rule", r.UID, "alert", key, "err", err)
				a.Metrics.failed(r.UID, "mail")
				break
			}
			a.Log.Info("alert recovery mailed", "rule", r.UID, "alert", key)
			a.Metrics.mailed(r.UID, "resolved")
			s.Since, s.Firing = time.Time{}, false
		default:
			s.Since = time.Time{}
		}
		// A state whose last mail is past the hour, not holding, is
		// forgotten.
		if !s.Firing && s.Since.IsZero() && !s.Mailed.IsZero() && now.Sub(s.Mailed) >= Repeat {
			s.Mailed = time.Time{}
		}
		if s == old {
			continue
		}
		if err := a.Store.SaveState(ctx, key, s); err != nil {
			return err
		}
		if s.zero() {
			delete(states, key)
		} else {
			states[key] = s
		}
	}
	firing := 0
	for key, s := range states {
		if strings.HasPrefix(key, prefix) && s.Firing {
			firing++
		}
	}
	a.Metrics.setFiring(r.UID, firing)
	return nil
}

// evaluate runs r's queries at now: its alerts by key, each with
// whether the condition holds. A rule with a threshold query that has
// no row (the job has not recorded it) has no alert.
func (a *Alerter) evaluate(ctx context.Context, r Rule, now time.Time) (map[string]*alert, error) {
	op, threshold, err := condition(r.Rule)
	if err != nil {
		return nil, err
	}
	run := func(ref string) ([]Row, error) {
		q, ok := r.Query(ref)
		if !ok {
			return nil, fmt.Errorf("no query %s", ref)
		}
		sql, err := q.At(now).Expand(q.Model.RawSQL)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", ref, err)
		}
		rows, err := a.Store.Query(ctx, sql)
		if err != nil {
			return nil, fmt.Errorf("query %s: %w", ref, err)
		}
		return rows, nil
	}
	out := map[string]*alert{}
	var b float64
	hasB := threshold == "$B"
	if hasB {
		rows, err := run("B")
		if err != nil {
			return nil, err
		}
		if len(rows) == 0 {
			return out, nil
		}
		if len(rows) > 1 {
			return nil, fmt.Errorf("query B: %d rows, want one", len(rows))
		}
		b = rows[0].Value
	} else if b, err = strconv.ParseFloat(threshold, 64); err != nil {
		return nil, fmt.Errorf("condition: threshold %q", threshold)
	}
	rows, err := run("A")
	if err != nil {
		return nil, err
	}
	for _, row := range rows {
		labels := maps.Clone(r.Labels)
		if labels == nil {
			labels = map[string]string{}
		}
		maps.Copy(labels, row.Labels)
		al := &alert{labels: labels, row: row.Labels, a: row.Value, b: b, hasB: hasB,
			holds: (op == "<" && row.Value < b) || (op == ">" && row.Value > b)}
		out[r.UID+"/"+labelKey(row.Labels)] = al
	}
	return out, nil
}

// comparison is a rule's condition: $A < $B, $A > 0, ...
var comparison = regexp.MustCompile(`^\s*\$A\s*([<>])\s*(\$B|-?[0-9.]+)\s*$`)

// condition is r's comparison of A: its operator and threshold ($B or a
// number).
func condition(r expand.Rule) (op, threshold string, err error) {
	c, ok := r.Query(r.Condition)
	if !ok {
		return "", "", fmt.Errorf("rule %s: no condition %s", r.UID, r.Condition)
	}
	m := comparison.FindStringSubmatch(c.Model.Expression)
	if c.Model.Type != "math" || m == nil {
		return "", "", fmt.Errorf("rule %s: condition %q is not $A < or > a threshold", r.UID, c.Model.Expression)
	}
	return m[1], m[2], nil
}

// labelKey is a row's labels, sorted: name=value,...
func labelKey(labels map[string]string) string {
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, ",")
}

// named is what the mails call an alert: its row's values (the target,
// the report), or, without a row now, those of its key.
func named(al *alert, key string) string {
	if al != nil {
		var vs []string
		for _, k := range slices.Sorted(maps.Keys(al.row)) {
			vs = append(vs, al.row[k])
		}
		return strings.Join(vs, ", ")
	}
	_, labels, _ := strings.Cut(key, "/")
	var vs []string
	for _, kv := range strings.Split(labels, ",") {
		_, v, _ := strings.Cut(kv, "=")
		vs = append(vs, v)
	}
	return strings.Join(vs, ", ")
}

// subject names the rule and the alert's target after tag:
// "[Dialpad alert] Service level below goal: callcenter:101".
func subject(tag string, r Rule, al *alert, key string) string {
	return tag + " " + r.Title + ": " + named(al, key)
}

// firingText is the firing mail's body: the rule's summary and
// description, as Grafana renders them, and the figure.
func firingText(r Rule, al *alert, key string, since, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n\n%s\n\n", render(r.Annotations["summary"], al), render(r.Annotations["description"], al))
	fmt.Fprintf(&b, "Rule:      %s (severity %s, team %s)\n", r.Title, r.Labels["severity"], r.Labels["team"])
	fmt.Fprintf(&b, "Alert:     %s\n", named(al, key))
	fmt.Fprintf(&b, "Figure:    %s, threshold %s\n", number(al.a), number(al.b))
	fmt.Fprintf(&b, "Holds:     since %s (the rule's for: %s); evaluated at %s\n", stamp(since), r.For, stamp(now))
	fmt.Fprintf(&b, "\nA mail goes at most once an hour while it holds, and one when it clears.\n")
	return b.String()
}

// resolvedText is the recovery mail's body.
func resolvedText(r Rule, al *alert, key string, now time.Time) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Cleared: %s, for %s, at %s.\n\n", r.Title, named(al, key), stamp(now))
	if al != nil {
		fmt.Fprintf(&b, "Figure now: %s (threshold %s).\n", number(al.a), number(al.b))
	} else {
		fmt.Fprintf(&b, "No figure now: the rule's query has no row for it (too few calls, none waiting, or no threshold recorded).\n")
	}
	fmt.Fprintf(&b, "\n%s\n", r.Annotations["description"])
	return b.String()
}

// stamp is t as the mails show it, in UTC.
func stamp(t time.Time) string { return t.UTC().Format(time.DateTime + " MST") }

// number is v as the mails show it: at most one decimal.
func number(v float64) string { return strconv.FormatFloat(math.Round(v*10)/10, 'f', -1, 64) }

// value is $values.X in a template.
type value struct{ Value float64 }

// render executes an annotation's template as Grafana does, with
// $labels and $values (A, and B when the rule has it); a template that
// fails is shown as it is.
func render(text string, al *alert) string {
	values := map[string]value{"A": {al.a}}
	if al.hasB {
		values["B"] = value{al.b}
	} else {
		values["C"] = value{1}
	}
	t, err := template.New("").Option("missingkey=zero").Funcs(template.FuncMap{"humanizeDuration": humanizeDuration}).
		Parse("{{ $labels := .Labels }}{{ $values := .Values }}" + text)
	if err != nil {
		return text
	}
	var b strings.Builder
	if err := t.Execute(&b, struct {
		Labels map[string]string
		Values map[string]value
	}{al.labels, values}); err != nil {
		return text
	}
	return b.String()
}

// humanizeDuration is Prometheus's: seconds as "1d 2h 3m 4s".
func humanizeDuration(s float64) string {
	if s < 1 {
		return strconv.FormatFloat(s, 'g', 4, 64) + "s"
	}
	d := int64(s)
	days, h, m, sec := d/86400, d/3600%24, d/60%60, d%60
	switch {
	case days > 0:
		return fmt.Sprintf("%dd %dh %dm %ds", days, h, m, sec)
	case h > 0:
		return fmt.Sprintf("%dh %dm %ds", h, m, sec)
	case m > 0:
		return fmt.Sprintf("%dm %ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

func (a *Alerter) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}
