package report

import "testing"

func TestUnitsFormatAsGrafana(t *testing.T) {
	zero, one := 0, 1
	for _, c := range []struct {
		unit     string
		decimals *int
		v        float64
		want     string
	}{
		{"short", nil, 42, "42"},
		{"short", nil, 1234567, "1,234,567"},
		{"", nil, 0, "0"},
		{"", nil, 12.3456, "12.3"},
		{"percentunit", &one, 0.8534, "85.3%"},
		{"percentunit", &one, 1, "100.0%"},
		{"percentunit", &zero, 0.666, "67%"},
		{"percentunit", nil, 0.05, "5%"},
		{"s", &zero, 45.4, "45 s"},
		{"s", &zero, 95, "2 min"}, // Grafana scales to minutes and rounds
		{"s", &one, 95, "1.6 min"},
		{"s", &zero, 7200, "2 hour"},
		{"s", &zero, 0, "0 s"},
		{"s", &zero, 0.25, "250 ms"},
		{"dthms", nil, 185.7, "00:03:05"},
		{"dthms", nil, 36000, "10:00:00"},
		{"dtdurations", nil, 7500, "2 hours"},
		{"dtdurations", &one, 7500, "2 hours, 5 minutes"},
		{"dtdurations", nil, 86400, "1 day"},
		{"dtdurations", nil, 0, "0 seconds"},
	} {
		if got := (unit{c.unit, c.decimals}).number(c.v); got != c.want {
			t.Errorf("%s (decimals %v) of %v = %q, want %q", c.unit, c.decimals, c.v, got, c.want)
		}
	}
}
