package grafana

import (
	"context"
	"fmt"
	"maps"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

// Every alert rule, evaluated at a fixed instant over hand-built rows,
// fires for exactly the targets it should, with the figure worked out by
// hand: one target each side of its threshold, and for service level and
// abandonment one below the minimum of offered calls. Its queries are
// expanded as the plugin expands them for the rule's relative time range
// and run on both engines. The thresholds are the job's defaults, recorded
// in etl_settings as the job records them.
func TestAlertRulesFireWhenTheyShould(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	now := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC) // a Tuesday afternoon
	if err := f.store.Derived().RecordKPISettings(ctx, 80); err != nil {
		t.Fatal(err)
	}
	if err := f.store.Derived().RecordAlertSettings(ctx, derive.AlertSettings{MinOffered: 10, AbandonmentMax: 10,
		LongestWait: 120 * time.Second, MaxAge: 3 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	rows := &alertRows{now: now}
	rows.calls()
	rows.waits()
	rows.loads()
	rows.events()
	rows.reconciliations()
	rows.reports()
	// A row at a time, INSERT ... SELECT: 18.16 does not answer the
	// driver's Exec of INSERT ... VALUES.
	for table, values := range rows.values {
		for _, v := range values {
			if err := f.twin.Conn().Exec(ctx, "INSERT INTO "+table+" ("+alertColumns[table]+") SELECT "+v); err != nil {
				t.Fatalf("%s: %v", table, err)
			}
		}
	}

	for uid, want := range map[string]map[string]float64{
		// 101: 7 of 10 offered within the threshold (2 short abandons not
		// offered); 102: 8 of 10, the goal itself (2 short abandons that,
		// counted, would make it 8 of 12); 103: 9 offered, too few; 104: its
		// calls are 31 minutes old; 106: 7 of 10, but no call events.
		"dialpad-service-level": {"callcenter:101": 70},
		// 101: 2 of 10 abandoned; 102: 1 of 10, the maximum itself; 105: 2
		// of 10 (its service level is 80); 103: 9 of 9, too few offered;
		// 106: 2 of 10, but no call events.
		"dialpad-abandonment": {"callcenter:101": 20, "callcenter:105": 20},
		// 201: waiting 150 s (events); 202: 120 s, the maximum itself;
		// 203: connected elsewhere; 204: 200 s (its fresh poll); 205: 500 s,
		// but its poll is stale; 206: 60 s.
		"dialpad-longest-wait": {"callcenter:201": 150, "callcenter:204": 200},
		// 204: 2 pending, capacity 0; 206: capacity 1; 205: stale poll; 207:
		// none pending. By events: 208: a caller waits, its one agent on
		// duty and available is so for another call center, the other is
		// unavailable; 209: an agent available for it; 210: no agent's
		// status known.
		"dialpad-nobody-available": {"callcenter:204": 2, "callcenter:208": 1},
		// 302: last success 4 h ago; 305: none in 35 days (since 1970);
		// 301: 1 h; 303: 3 h, the maximum itself; 304: no run for 3 days (no
		// longer a target).
		"dialpad-load-stale": {"department:302": 4 * 3600, "department:305": float64(now.Unix())},
		// 401: 20 minutes without an event, 16 calls due by the
		// forecast (12 per interval: a third of 13:30's, all of 13:45's);
		// 402: 14 minutes, 56 due; 403: 20 minutes, 9.3 due (7 per
		// interval; the older forecast of 60 is replaced); 404: 30
		// minutes, but Dialpad says it is closed; 405: silent since 3
		// days, the last day's forecast due; 406: 40 minutes, no forecast,
		// but 3 inbound calls loaded since; 407: 2 inbound calls since
		// (the outbound ones, those before and the one within a minute
		// after do not count); 408: not run for 3 days; 409: no event
		// ever; 410: none for 40 days; 411: 20 minutes, 16 due, and the
		// poll saying closed is stale; 412: 3 days, no forecast, 3
		// inbound calls loaded two days ago. The targets of the other
		// rules have no forecast and had no calls since their events.
		"dialpad-events-silent": {"callcenter:401": 1200, "callcenter:405": 3 * 86400, "callcenter:406": 2400,
			"callcenter:411": 1200, "callcenter:412": 3 * 86400},
		// 502: its last day's latest check differs; 501: a difference
		// checked again and matching, and a failed check; 503: 40 days ago;
		// 504: 20 days ago, last checked 19 days ago (no longer reconciled).
		"dialpad-reconcile-differ": {"department:502": 1},
		// The weekly report's only attempt failed 30 minutes ago; the
		// daily's failed, then was sent; an older failure is past the day.
		"dialpad-report-failed": {"weekly": 1},
	} {
		t.Run(uid, func(t *testing.T) {
			got := evaluate(t, ctx, f, alertRule(t, uid), now)
			if !maps.Equal(got, want) {
				t.Errorf("fires for %v, want %v", got, want)
			}
		})
	}

	// Before the job first records its settings, the rules with a
	// threshold setting stay quiet.
	t.Run("no settings", func(t *testing.T) {
		if err := f.twin.Conn().Exec(ctx, "TRUNCATE TABLE etl_settings"); err != nil {
			t.Fatal(err)
		}
		for _, uid := range []string{"dialpad-service-level", "dialpad-abandonment", "dialpad-load-stale"} {
			if got := evaluate(t, ctx, f, alertRule(t, uid), now); len(got) > 0 {
				t.Errorf("%s fires for %v without settings", uid, got)
			}
		}
	})
}

// evaluate runs r's queries at now, as Grafana does, and returns the
// labels (target, or report) for which its condition holds, with the
// value of A. A's result must be a table Grafana can alert on: one
// number, the other columns strings, one row per label.
func evaluate(t *testing.T, ctx context.Context, f *fixture, r expand.Rule, now time.Time) map[string]float64 {
	t.Helper()
	run := func(ref string) result {
		t.Helper()
		q, ok := r.Query(ref)
		if !ok {
			t.Fatalf("no query %s", ref)
		}
		sql, err := q.At(now).Expand(q.Model.RawSQL)
		if err != nil {
			t.Fatalf("query %s: %v", ref, err)
		}
		res, err := f.query(t, ctx, r.UID+" "+ref, sql)
		if err != nil {
			t.Fatalf("query %s: %v\n%s", ref, err, sql)
		}
		return res
	}
	c, _ := r.Query(r.Condition)
	m := comparison.FindStringSubmatch(c.Model.Expression)
	if m == nil {
		t.Fatalf("condition %q", c.Model.Expression)
	}
	a := run("A")
	var threshold float64
	if m[2] == "$B" {
		b := run("B")
		if len(b.rows) == 0 {
			return nil // no threshold: no data, which is OK
		}
		if len(b.rows) != 1 || len(b.cols) != 1 {
			t.Fatalf("B: %d rows of %v, want one number", len(b.rows), b.cols)
		}
		threshold, _ = b.number(0, b.cols[0])
	} else {
		threshold, _ = strconv.ParseFloat(m[2], 64)
	}
	value := -1
	for i, typ := range a.types {
		switch {
		case isNumeric(typ) && !strings.HasPrefix(typ, "Nullable") && value < 0:
			value = i
		case typ != "String":
			t.Fatalf("A: column %s is %s; Grafana wants strings (labels) and one number", a.cols[i], typ)
		}
	}
	if value < 0 {
		t.Fatalf("A: columns %v %v, no number", a.cols, a.types)
	}
	fired := map[string]float64{}
	seen := map[string]bool{}
	for i, row := range a.rows {
		var labels []string
		for j, v := range row {
			if j != value {
				labels = append(labels, fmt.Sprint(v))
			}
		}
		label := strings.Join(labels, ",")
		if seen[label] {
			t.Errorf("A: two rows of %s", label)
		}
		seen[label] = true
		v, _ := a.number(i, a.cols[value])
		if (m[1] == "<" && v < threshold) || (m[1] == ">" && v > threshold) {
			fired[label] = v
		}
	}
	return fired
}

// alertColumns are the columns alertRows gives, per table.
var alertColumns = map[string]string{
	"conversations": "target_type, target_id, conversation_id, direction, started_at, day, answered, answered_in_threshold, " +
		"short_abandoned, abandoned, version",
	"call_events": "call_id, state, event_ms, event_at, received_at, received_ms, version",
	"live_calls": "target_type, target_id, call_id, conversation_id, is_entry_leg, direction, state, ended, started_at, " +
		"waiting_since, event_at, expires_at, version",
	"callcenter_status": "target_type, target_id, polled_at, polled_ms, interval_s, is_open, on_duty_operators, capacity, " +
		"pending, longest_call_wait_s, version",
	"agents":         "target_type, target_id, agent_id, kind, version",
	"target_events":  "target_type, target_id, received_at, version",
	"staffing":       "target_type, target_id, interval_start, day, forecast, offered, version",
	"agent_status":   "agent_id, status, on_duty, call_center_ids, started_ms, started_at, ended_ms, version",
	"etl_runs":       "run_id, target_type, target_id, kind, started_at, finished_at, status",
	"reconciliation": "target_type, target_id, day, run_id, checked_at, checked_ms, status",
	"report_sends":   "kind, period_from, period_to, attempt, status, recipients, at",
}

// alertRows builds the rows, relative to now, as SELECT lists per table.
type alertRows struct {
	now    time.Time
	values map[string][]string
	id     int
}

func (r *alertRows) add(table string, format string, args ...any) {
	if r.values == nil {
		r.values = map[string][]string{}
	}
	v := fmt.Sprintf(format, args...)
	r.values[table] = append(r.values[table], strings.TrimSuffix(strings.TrimPrefix(v, "("), ")"))
}

// at is now - ago, as a DateTime literal.
func (r *alertRows) at(ago time.Duration) string {
	return "'" + r.now.Add(-ago).Format(time.DateTime) + "'"
}

func (r *alertRows) day(ago time.Duration) string {
	return "'" + r.now.Add(-ago).Format(time.DateOnly) + "'"
}

// conversation adds an inbound conversation of callcenter:cc that
// started ago: answered in the threshold, answered late, abandoned or
// short abandoned.
func (r *alertRows) conversation(cc int, ago time.Duration, kind string) {
	r.id++
	answered, inThreshold, short, abandoned := 0, 0, 0, 0
	switch kind {
	case "in threshold":
		answered, inThreshold = 1, 1
	case "late":
		answered = 1
	case "abandoned":
		abandoned = 1
	case "short":
		short = 1
	}
	r.add("conversations", "('callcenter', %d, %d, 'inbound', %s, %s, %d, %d, %d, %d, 1)",
		cc, r.id, r.at(ago), r.day(ago), answered, inThreshold, short, abandoned)
}

// calls: the last 30 minutes' conversations (service level, abandonment).
func (r *alertRows) calls() {
	for cc, kinds := range map[int]map[string]int{
		101: {"in threshold": 7, "late": 1, "abandoned": 2, "short": 2},
		102: {"in threshold": 8, "late": 1, "abandoned": 1, "short": 2},
		103: {"abandoned": 9},
		105: {"in threshold": 8, "abandoned": 2},
		106: {"in threshold": 7, "late": 1, "abandoned": 2},
	} {
		i := 0
		for kind, n := range kinds {
			for range n {
				i++
				r.conversation(cc, time.Duration(i)*time.Minute, kind)
			}
		}
	}
	for range 12 {
		r.conversation(104, 31*time.Minute, "abandoned")
	}
	// Their call events arrive (one 5 minutes ago), but 106's: its last
	// half hour is known only from a load, so it is left out.
	for _, cc := range []int{101, 102, 103, 104, 105} {
		r.add("live_calls", "('callcenter', %d, %d, %d, 1, 'inbound', 'hangup', 1, %s, %s, %s, %s, 1)",
			cc, cc*10, cc*100, r.at(10*time.Minute), r.at(10*time.Minute), r.at(5*time.Minute), r.at(-time.Hour))
	}
	// An outbound call changes nothing.
	r.id++
	r.add("conversations", "('callcenter', 101, %d, 'outbound', %s, %s, 1, 0, 0, 0, 1)", r.id, r.at(time.Minute), r.day(time.Minute))
}

// waits: callers waiting now, by events and by polls.
func (r *alertRows) waits() {
	// Events arrive: one a minute ago.
	r.add("call_events", "(1, 'queued', %d, %s, %s, %d, 1)", r.now.Add(-time.Minute).UnixMilli(), r.at(time.Minute), r.at(time.Minute),
		r.now.Add(-time.Minute).UnixMilli())
	leg := func(cc, call, conv int, state string, waiting time.Duration) {
		r.add("live_calls", "('callcenter', %d, %d, %d, 1, 'inbound', '%s', 0, %s, %s, %s, %s, 1)",
			cc, call, conv, state, r.at(waiting), r.at(waiting), r.at(waiting), r.at(-3*time.Hour))
	}
	leg(201, 2011, 20110, "queued", 150*time.Second)
	leg(202, 2021, 20210, "queued", 120*time.Second)
	leg(203, 2031, 20310, "queued", 300*time.Second)
	// The same caller, connected to an agent's leg.
	r.add("live_calls", "('callcenter', 203, 2032, 20310, 0, 'inbound', 'connected', 0, %s, %s, %s, %s, 1)",
		r.at(200*time.Second), r.at(200*time.Second), r.at(100*time.Second), r.at(-3*time.Hour))
	poll := func(cc int, ago time.Duration, capacity, pending, longest int) {
		r.add("callcenter_status", "('callcenter', %d, %s, %d, 15, 1, 3, %d, %d, %d, 1)",
			cc, r.at(ago), r.now.Add(-ago).UnixMilli(), capacity, pending, longest)
	}
	poll(204, 10*time.Second, 0, 2, 200)
	poll(204, 25*time.Second, 1, 1, 185) // the poll before: the latest counts
	poll(205, 200*time.Second, 0, 4, 500)
	poll(206, 10*time.Second, 1, 3, 60)
	poll(207, 10*time.Second, 0, 0, 0)
	for _, cc := range []int{208, 209, 210} {
		leg(cc, cc*10+1, cc*100, "queued", 30*time.Second)
		for _, agent := range []int{cc*10 + 1, cc*10 + 2} {
			r.add("agents", "('callcenter', %d, %d, 'user', 1)", cc, agent)
		}
	}
	status := func(agent int, status string, onDuty int, centers string) {
		r.add("agent_status", "(%d, '%s', %d, %s, %d, %s, 0, 1)",
			agent, status, onDuty, centers, r.now.Add(-time.Hour).UnixMilli(), r.at(time.Hour))
	}
	status(2081, "available", 1, "[999]")
	status(2082, "unavailable", 0, "[208]")
	status(2091, "available", 1, "[209]")
	status(2092, "busy", 1, "[209]")
}

// loads: the job's runs.
func (r *alertRows) loads() {
	run := func(dept int, status string, finished time.Duration) {
		r.id++
		r.add("etl_runs", "('run-%d', 'department', %d, 'incremental', %s, %s, '%s')",
			r.id, dept, r.at(finished+time.Minute), r.at(finished), status)
	}
	run(301, "succeeded", time.Hour)
	run(302, "succeeded", 4*time.Hour)
	run(302, "failed", 10*time.Minute)
	run(303, "succeeded", 3*time.Hour)
	run(304, "succeeded", 72*time.Hour)
	run(305, "failed", 5*time.Minute)
	run(305, "failed", 40*24*time.Hour) // its last success is older still
}

// events: targets whose call events went silent, with calls due or not.
func (r *alertRows) events() {
	seen := func(cc int, ago time.Duration) {
		r.add("target_events", "('callcenter', %d, %s, %d)", cc, r.at(ago), r.now.Add(-ago).UnixNano())
	}
	// The staffing forecast of the intervals of the last two hours.
	forecast := func(cc int, offered float64, version int) {
		for start := r.now.Add(-2 * time.Hour); start.Before(r.now); start = start.Add(15 * time.Minute) {
			ago := r.now.Sub(start)
			r.add("staffing", "('callcenter', %d, %s, %s, 1, %g, %d)", cc, r.at(ago), r.day(ago), offered, version)
		}
	}
	poll := func(cc int, ago time.Duration, open int) {
		r.add("callcenter_status", "('callcenter', %d, %s, %d, 15, %d, 3, 1, 0, 0, 1)", cc, r.at(ago), r.now.Add(-ago).UnixMilli(), open)
	}
	inbound := func(cc int, ago time.Duration) { r.conversation(cc, ago, "in threshold") }
	// The job runs them all (its newest run, 305's, is 5 minutes old),
	// but 408, last run 3 days ago.
	for cc := 401; cc <= 412; cc++ {
		last := 30 * time.Minute
		if cc == 408 {
			last = 72 * time.Hour
		}
		r.id++
		r.add("etl_runs", "('run-%d', 'callcenter', %d, 'incremental', %s, %s, 'succeeded')", r.id, cc, r.at(last+time.Minute), r.at(last))
	}
	seen(401, 20*time.Minute)
	forecast(401, 12, 1)
	poll(401, 10*time.Second, 1)
	seen(402, 14*time.Minute)
	forecast(402, 60, 1)
	seen(403, 20*time.Minute)
	forecast(403, 60, 0) // an older forecast, replaced
	forecast(403, 7, 1)
	seen(404, 30*time.Minute)
	forecast(404, 12, 1)
	poll(404, 10*time.Second, 0)
	seen(405, 3*24*time.Hour)
	seen(405, 4*24*time.Hour)
	forecast(405, 12, 1)
	seen(406, 40*time.Minute)
	seen(407, 40*time.Minute)
	for _, ago := range []time.Duration{30, 20, 10} {
		inbound(406, ago*time.Minute)
	}
	for _, ago := range []time.Duration{30, 20} {
		inbound(407, ago*time.Minute)
	}
	for i := range 5 {
		inbound(407, time.Duration(45+i)*time.Minute) // before its last event
	}
	inbound(407, 39*time.Minute+30*time.Second) // within a minute after it
	for i := range 3 {
		r.id++
		r.add("conversations", "('callcenter', 407, %d, 'outbound', %s, %s, 1, 0, 0, 0, 1)", r.id, r.at(time.Duration(20+i)*time.Minute), r.day(time.Minute))
	}
	seen(408, 20*time.Minute)
	forecast(408, 12, 1)
	forecast(409, 12, 1)
	seen(410, 40*24*time.Hour)
	forecast(410, 12, 1)
	seen(411, 20*time.Minute)
	forecast(411, 12, 1)
	poll(411, time.Hour, 0) // stale
	seen(412, 3*24*time.Hour)
	for _, ago := range []time.Duration{50, 49, 48} {
		inbound(412, ago*time.Hour)
	}
}

// reconciliations: the latest check of each day counts.
func (r *alertRows) reconciliations() {
	check := func(dept int, day, checked time.Duration, status string) {
		r.add("reconciliation", "('department', %d, %s, 'reconcile', %s, %d, '%s')",
			dept, r.day(day), r.at(checked), r.now.Add(-checked).UnixMilli(), status)
	}
	d := 24 * time.Hour
	check(501, 2*d, 2*d-3*time.Hour, "differ")
	check(501, 2*d, d-3*time.Hour, "match")
	check(501, d, 10*time.Hour, "match")
	check(501, 3*d, 10*time.Hour, "failed")
	check(502, d, 11*time.Hour, "match")
	check(502, d, 10*time.Hour, "differ")
	check(503, 40*d, 39*d, "differ")
	check(504, 20*d, 19*d, "differ")
}

// reports: attempts to e-mail them.
func (r *alertRows) reports() {
	send := func(kind string, period time.Duration, attempt int, status string, at time.Duration) {
		r.add("report_sends", "('%s', %s, %s, %d, '%s', 'manager@example.com', %s)",
			kind, r.day(period), r.day(period), attempt, status, r.at(at))
	}
	d := 24 * time.Hour
	send("daily", d, 1, "failed", 2*time.Hour)
	send("daily", d, 2, "sent", time.Hour)
	send("weekly", 8*d, 1, "failed", 30*time.Minute)
	send("daily", 5*d, 1, "failed", 3*d)
}
