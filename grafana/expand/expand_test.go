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
