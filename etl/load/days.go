package load

import (
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// SplitDays cuts w at every midnight of loc.
func SplitDays(w dialpad.Window, loc *time.Location) []dialpad.Window {
	var out []dialpad.Window
	from := w.From
	for from.Before(w.To) {
		y, m, d := from.In(loc).Date()
		next := time.Date(y, m, d+1, 0, 0, 0, 0, loc)
		if next.After(w.To) {
			next = w.To
		}
		out = append(out, dialpad.Window{From: from.UTC(), To: next.UTC()})
		from = next
	}
	return out
}
