package alerting

import (
	"strings"
	"testing"
)

// Every provisioned rule's summary renders with a row's labels and
// values, as Grafana renders it.
func TestSummariesRender(t *testing.T) {
	rules, err := Rules()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		_, threshold, _ := condition(r.Rule)
		al := &alert{labels: map[string]string{"target": "callcenter:101", "report": "weekly"}, a: 14460, b: 10800, hasB: threshold == "$B"}
		got := render(r.Annotations["summary"], al)
		if strings.Contains(got, "{{") || strings.Contains(got, "<no value>") || !strings.Contains(got, "callcenter:101") && !strings.Contains(got, "weekly") {
			t.Errorf("%s: %q", r.UID, got)
		}
		if r.UID == "dialpad-load-stale" && !strings.Contains(got, "4h 1m 0s") {
			t.Errorf("%s: %q, want the duration humanized", r.UID, got)
		}
	}
}
