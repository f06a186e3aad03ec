package webhook

import (
	"strconv"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// newTestHub returns the hub of a traffic of the test range (see
// simtest.TrafficConfig), on the traffic's clock.
func newTestHub(t testing.TB, cfg traffic.Config) *Hub {
	t.Helper()
	cfg = simtest.TrafficConfig(t, cfg)
	return New(traffic.New(cfg), cfg.Now)
}

// webhookID is the id of a webhook the hub returned.
func webhookID(t testing.TB, h HookJSON) int64 {
	t.Helper()
	id, err := strconv.ParseInt(h.ID, 10, 64)
	if err != nil {
		t.Fatalf("webhook id %q: %v", h.ID, err)
	}
	return id
}

// subscribed reports whether a subscription was added.
func subscribed[J any](_ J, ok bool) bool { return ok }
