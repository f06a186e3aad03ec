package warehouse

import (
	"reflect"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Spans that meet or overlap join, with their kinds; a gap stays.
func TestMergeSpans(t *testing.T) {
	day := func(d int) time.Time { return time.Date(2026, 11, d, 0, 0, 0, 0, time.UTC) }
	span := func(from, to int, kind string) Loaded {
		return Loaded{Window: dialpad.Window{From: day(from), To: day(to)}, Kinds: []string{kind}}
	}
	got := mergeSpans([]Loaded{
		span(10, 12, "incremental"), span(1, 5, "backfill"), span(5, 7, "backfill"), span(3, 4, "nightly"),
		span(11, 14, "backfill"),
	})
	want := []Loaded{
		{Window: dialpad.Window{From: day(1), To: day(7)}, Kinds: []string{"backfill", "nightly"}},
		{Window: dialpad.Window{From: day(10), To: day(14)}, Kinds: []string{"backfill", "incremental"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("merged %v, want %v", got, want)
	}
	if got := mergeSpans(nil); len(got) != 0 {
		t.Errorf("no runs give %v, want nothing", got)
	}
}
