// Package simtest is the test kit of the simulator's packages: the range
// and the settable clock their tests run on, a traffic of that range, and
// the decoding and comparing of the legs a simulator lists. Tests only
// import it.
//
// It imports etl/dialpad, etl/dialpad/wire and the simulator's traffic,
// and none of the simulator's other packages, so that each of them can
// use it in its own tests.
package simtest

import (
	"bytes"
	"encoding/json"
	"regexp"
	"sync/atomic"
	"testing"
	"time"
	_ "time/tzdata" // the company's time zone, even without a system zoneinfo

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// End is a Monday: the default test range is the two weeks before it.
var End = time.Date(2025, 5, 19, 0, 0, 0, 0, time.UTC)

// Start is the default test range's start, two weeks before End.
var Start = End.Add(-14 * 24 * time.Hour)

// IDPattern is an id as Dialpad writes it: 16 digits.
var IDPattern = regexp.MustCompile(`^[1-9][0-9]{15}$`)

// Clock is a settable simulator clock.
type Clock struct{ ms atomic.Int64 }

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { c := &Clock{}; c.Set(t); return c }

// Set moves the clock to t.
func (c *Clock) Set(t time.Time) { c.ms.Store(t.UnixMilli()) }

// Now is the clock's time.
func (c *Clock) Now() time.Time { return time.UnixMilli(c.ms.Load()).UTC() }

// TrafficConfig fills in what cfg leaves zero as the simulator's tests
// have it: the simulator's defaults (seed 1, 120 calls a day, the company
// in New York), the two weeks before End, and the clock standing at the
// end of the range.
func TrafficConfig(t testing.TB, cfg traffic.Config) traffic.Config {
	t.Helper()
	if cfg.Seed == 0 {
		cfg.Seed = 1
	}
	if cfg.CallsPerDay == 0 {
		cfg.CallsPerDay = 120
	}
	if cfg.Location == nil {
		loc, err := time.LoadLocation("America/New_York")
		if err != nil {
			t.Fatal(err)
		}
		cfg.Location = loc
	}
	if cfg.End.IsZero() {
		cfg.End = End
	}
	if cfg.Start.IsZero() {
		cfg.Start = cfg.End.Add(-14 * 24 * time.Hour)
	}
	if cfg.Now == nil {
		end := cfg.End
		cfg.Now = func() time.Time { return end }
	}
	return cfg
}

// NewTraffic generates the traffic of cfg with the defaults of
// TrafficConfig.
func NewTraffic(t testing.TB, cfg traffic.Config) *traffic.Traffic {
	t.Helper()
	return traffic.New(TrafficConfig(t, cfg))
}

// Decoded is a leg decoded by the client's own type, plus its raw keys.
type Decoded struct {
	wire.Call
	Keys map[string]json.RawMessage
}

// DecodeLegs decodes each of raws, failing the test on a leg the client
// cannot read.
func DecodeLegs(t testing.TB, raws []json.RawMessage) []Decoded {
	t.Helper()
	out := make([]Decoded, len(raws))
	for i, raw := range raws {
		if err := json.Unmarshal(raw, &out[i].Call); err != nil {
			t.Fatalf("leg %d does not decode as wire.Call: %v\n%s", i, err, raw)
		}
		if err := json.Unmarshal(raw, &out[i].Keys); err != nil {
			t.Fatal(err)
		}
	}
	return out
}

// EqualRaw reports whether a and b are the same legs, byte for byte.
func EqualRaw(a, b []json.RawMessage) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// Lister lists legs as GET /api/v2/call does: a simulator, or its traffic.
type Lister interface {
	Targets() []dialpad.Target
	Legs(t dialpad.Target, from, to time.Time) []json.RawMessage
}

// AllLegs returns every leg of every group that started in [from, to),
// deduplicated by call id.
func AllLegs(t testing.TB, l Lister, from, to time.Time) []Decoded {
	var raws []json.RawMessage
	seen := map[string]bool{}
	for _, tg := range l.Targets() {
		for _, r := range l.Legs(tg, from, to) {
			if !seen[string(r)] {
				seen[string(r)] = true
				raws = append(raws, r)
			}
		}
	}
	return DecodeLegs(t, raws)
}
