package load

import (
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// A slice is complete once a page lists a call older than its bound, but
// only while its pages come newest first: after a page out of that order
// it reads to its end and is not split again.
func TestASliceStopsEarlyOnlyInListOrder(t *testing.T) {
	at := func(h int) int64 { return time.Date(2026, 3, 4, h, 0, 0, 0, time.UTC).UnixMilli() }
	w := dialpad.Window{From: time.UnixMilli(at(0)).UTC(), To: time.UnixMilli(at(24)).UTC()}
	for _, c := range []struct {
		name  string
		pages [][2]int64 // newest, oldest
		done  []bool
	}{
		{"newest first", [][2]int64{{at(23), at(20)}, {at(19), at(13)}, {at(12), at(9)}}, []bool{false, false, true}},
		{"a page out of order", [][2]int64{{at(23), at(20)}, {at(22), at(11)}, {at(10), at(9)}}, []bool{false, false, false}},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := newSlicer()
			tr := &targetRun{windows: []dialpad.Window{w}, months: []int{202603}}
			s.add(tr, 0)
			owner, _ := s.next(func() bool { return false })
			for i, p := range c.pages {
				if i == 1 {
					// Another worker takes the older half of what is left
					// after the first page: [00:00, 10:00).
					older, ow := s.next(func() bool { return false })
					if older == nil || !ow.From.Equal(w.From) || ow.To.UnixMilli() != at(10) {
						t.Fatalf("split gave %v, want %v/10:00", ow, w.From)
					}
				}
				from, done := s.listed(owner, p[0], p[1])
				if i > 0 && from != at(10) {
					t.Errorf("page %d: bound %v, want 10:00", i+1, time.UnixMilli(from).UTC())
				}
				if done != c.done[i] {
					t.Errorf("page %d: done = %v, want %v", i+1, done, c.done[i])
				}
			}
		})
	}
}

// A window's last slice ending does not end its month: the month ends
// only once each of its windows said it ended (and kept what it did for
// the month's recompute), so the month's last window finds all of them.
func TestAMonthEndsOnlyOnceEachWindowEnded(t *testing.T) {
	day := func(d int) dialpad.Window {
		return dialpad.Window{From: utc(2026, 3, d, 0, 0), To: utc(2026, 3, d+1, 0, 0)}
	}
	tr := &targetRun{windows: []dialpad.Window{day(2), day(3)}, months: []int{202603, 202603}}
	s := newSlicer()
	s.add(tr, 0)
	s.add(tr, 1)
	never := func() bool { return false }
	a, _ := s.next(never)
	b, _ := s.next(never)
	if !s.finished(a) || !s.finished(b) {
		t.Fatal("a window of one slice did not end with it")
	}
	if s.windowEnded(tr, b.window) {
		t.Error("the month ended with one of its two windows")
	}
	if !s.windowEnded(tr, a.window) {
		t.Error("the month did not end with the last of its windows")
	}
}
