package warehouse_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// BenchmarkWriteLegs writes batches of 10,000 legs (the 25 legs of
// etl/dialpad/testdata/page_25.json, repeated under new call ids) into
// the real server: the client's batch building and ClickHouse's insert.
func BenchmarkWriteLegs(b *testing.B) {
	body, err := os.ReadFile("../dialpad/testdata/page_25.json")
	if err != nil {
		b.Fatal(err)
	}
	page, _, err := wire.DecodePage(body)
	if err != nil || len(page.Calls) == 0 {
		b.Fatalf("page: %v", err)
	}
	ctx := context.Background()
	addr, db := chtest.Database(b)
	s, err := warehouse.Open(ctx, warehouse.Options{Addr: addr, Database: db})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Migrate(ctx); err != nil {
		b.Fatal(err)
	}
	target := dialpad.Target{Type: "department", ID: 1}
	legs := make([]transform.Leg, 10_000)
	for i := range legs {
		legs[i] = transform.NewLeg(target, &page.Calls[i%len(page.Calls)], time.UTC, nil)
		legs[i].CallID = uint64(i + 1)
	}
	b.ReportAllocs()
	b.SetBytes(int64(len(body)) * int64(len(legs)) / int64(len(page.Calls)))
	n := 0
	for b.Loop() {
		if _, err := s.WriteLegs(ctx, legs); err != nil {
			b.Fatal(err)
		}
		n += len(legs)
	}
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "legs/s")
}
