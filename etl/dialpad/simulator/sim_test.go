package simulator

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestConfigErrors(t *testing.T) {
	for name, cfg := range map[string]Config{
		"end before start": {Start: simtest.End, End: simtest.End.Add(-time.Hour)},
		"negative calls":   {CallsPerDay: -1},
		"rate above 1":     {Faults: Faults{ErrorRate: 1.5}},
		"same tokens":      {Token: "x", LimitedToken: "x"},
		"negative latency": {Faults: Faults{Latency: -time.Second}},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("%s: New accepted %+v", name, cfg)
		}
	}
}

func TestDefaults(t *testing.T) {
	now := time.Date(2025, 5, 18, 13, 30, 0, 0, time.UTC)
	s, err := New(Config{Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2025, 5, 19, 0, 0, 0, 0, time.UTC); !s.cfg.End.Equal(want) || !s.cfg.Start.Equal(want.Add(-14*24*time.Hour)) {
		t.Errorf("range %s to %s, want the 14 days up to %s", s.cfg.Start, s.cfg.End, want)
	}
	for _, l := range s.Legs(s.Targets()[0], s.cfg.Start, s.cfg.End) {
		var c wire.Call
		json.Unmarshal(l, &c)
		if int64(c.DateEnded) > now.UnixMilli() {
			t.Fatalf("leg %d ends at %d, after the clock", c.CallID, c.DateEnded)
		}
	}
}
