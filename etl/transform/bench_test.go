package transform

import (
	"os"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// BenchmarkNewLeg shapes the 25 legs of a realistic page
// (etl/dialpad/testdata/page_25.json) into rows, with agent names.
func BenchmarkNewLeg(b *testing.B) {
	body, err := os.ReadFile("../dialpad/testdata/page_25.json")
	if err != nil {
		b.Fatal(err)
	}
	page, _, err := wire.DecodePage(body)
	if err != nil || len(page.Calls) == 0 {
		b.Fatalf("page: %v", err)
	}
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		b.Fatal(err)
	}
	target := dialpad.Target{Type: "department", ID: 4869792674824192}
	names := Names(func(id int64) (string, bool) { return "Agent", id%2 == 0 })
	b.ReportAllocs()
	legs := 0
	for b.Loop() {
		for i := range page.Calls {
			l := NewLeg(target, &page.Calls[i], loc, names)
			if l.CallID == 0 {
				b.Fatal("no call id")
			}
		}
		legs += len(page.Calls)
	}
	b.ReportMetric(float64(legs)/b.Elapsed().Seconds(), "legs/s")
}
