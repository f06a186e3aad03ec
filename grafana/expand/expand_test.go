package expand

import (
	"testing"
	"time"
)

func TestExpansionFollowsGrafanaAndThePlugin(t *testing.T) {
	from := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	e := &Expansion{
		From: from, To: from.Add(24 * time.Hour), IntervalS: 300,
		Defs: map[string]Variable{
			"dir":    {Name: "dir", Multi: true, IncludeAll: true},
			"agent":  {Name: "agent", Multi: true, IncludeAll: true},
			"one":    {Name: "one"},
			"search": {Name: "search", Type: "textbox"},
			"any":    {Name: "any", Multi: true, IncludeAll: true, AllValue: "*"},
		},
		Vars: map[string]Selection{
			"dir":    {Values: []string{"inbound"}},
			"agent":  {All: true, Values: []string{"1", "2"}},
			"one":    {Values: []string{"department:7"}},
			"search": {Values: []string{"O'Brien"}},
			"any":    {All: true, Values: []string{"x"}},
		},
	}
	for _, c := range []struct{ in, want string }{
		{"$__conditionalAll(d IN (${dir}), $dir)", "d IN ('inbound')"},
		{"$__conditionalAll(d IN ($dir), ${dir})", "d IN ('inbound')"},
		{"$__conditionalAll(a IN (f(${agent}, 1)), $agent) AND x", "1=1 AND x"},
		{"a IN ($agent) OR a IN (${agent})", "a IN ('1','2') OR a IN ('1','2')"},
		{"t = '$one' AND t = '${one}'", "t = 'department:7' AND t = 'department:7'"},
		{"n = ${search:sqlstring}, ${search:singlequote}", `n = 'O''Brien', 'O\'Brien'`},
		{"n = '${search:percentencode}' AND d = '${dir:percentencode}'", `n = 'O%27Brien' AND d = '%7Binbound%7D'`},
		{"[[one]] $any", "department:7 *"},
		{"$__timeFilter(started_at)", "started_at >= toDateTime(1740981600) AND started_at <= toDateTime(1741068000)"},
		{"$__dateFilter(day) $__fromTime $__toTime $__interval_s", "day >= toDate('2025-03-03') AND day <= toDate('2025-03-04') toDateTime(1740981600) toDateTime(1741068000) 300"},
	} {
		got, err := e.Expand(c.in)
		if err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"$nope", "${nope}", "$__timeGroup(t, 1h)", "$__fromTime_ms", "$__conditionalAll(a, b)"} {
		if got, err := e.Expand(bad); err == nil {
			t.Errorf("expand(%q) = %q, want an error", bad, got)
		}
	}
}

// An alert query's range is its relative one before the evaluation, and
// it knows no template variable (Grafana's backend runs it).
func TestAlertQueryExpansion(t *testing.T) {
	var q RuleQuery
	q.RelativeTimeRange.From, q.RelativeTimeRange.To = 1800, 60
	now := time.Date(2025, 3, 3, 12, 0, 0, 0, time.UTC)
	got, err := q.At(now).Expand("$__timeFilter(started_at) AND $__toTime > 0")
	want := "started_at >= toDateTime(1741001400) AND started_at <= toDateTime(1741003140) AND toDateTime(1741003140) > 0"
	if err != nil || got != want {
		t.Errorf("got %q, %v; want %q", got, err, want)
	}
	if got, err := q.At(now).Expand("t = '${target}'"); err == nil {
		t.Errorf("a template variable expands to %q in an alert query, want an error", got)
	}
}
