package warehouse

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Loaded is a stretch of call start times that loads which succeeded
// covered without a gap, and the kinds of those loads (backfill,
// incremental, nightly; export: days loaded from Dialpad's records
// export), sorted.
type Loaded struct {
	dialpad.Window
	Kinds []string
}

// LoadedSpans returns what loads of target that succeeded covered,
// oldest first: the window of each run that succeeded, and the
// incremental loads' from the start of the first one up to the
// high-water mark, and the days loaded from an export (even by a
// backfill that failed for other days), joined where they meet or
// overlap. A backfill that
// began after ETL_START covers its days without moving the mark, so the
// mark alone does not say what is loaded. Between two spans lies a gap
// that no load covered. None when nothing was loaded.
func (s *Store) LoadedSpans(ctx context.Context, target dialpad.Target) ([]Loaded, error) {
	rows, err := s.db.Query(ctx, `SELECT window_from, window_to, toString(kind), toString(status)
		FROM etl_runs WHERE target_type = ? AND target_id = ? AND window_to > window_from`,
		target.Type, uint64(target.ID))
	if err != nil {
		return nil, fmt.Errorf("read the runs of %s: %w", target, err)
	}
	defer rows.Close()
	var spans []Loaded
	var firstIncremental time.Time
	for rows.Next() {
		var l Loaded
		var kind, status string
		if err := rows.Scan(&l.From, &l.To, &kind, &status); err != nil {
			return nil, err
		}
		if kind == "incremental" && (firstIncremental.IsZero() || l.From.Before(firstIncremental)) {
			firstIncremental = l.From
		}
		if status == "succeeded" {
			l.From, l.To, l.Kinds = l.From.UTC(), l.To.UTC(), []string{kind}
			spans = append(spans, l)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read the runs of %s: %w", target, err)
	}
	exported, err := s.db.Query(ctx, `SELECT window_from, window_to FROM etl_windows FINAL
		WHERE target_type = ? AND target_id = ? AND source = 'export'`, target.Type, uint64(target.ID))
	if err != nil {
		return nil, fmt.Errorf("read the days of %s loaded from exports: %w", target, err)
	}
	defer exported.Close()
	for exported.Next() {
		var w dialpad.Window
		if err := exported.Scan(&w.From, &w.To); err != nil {
			return nil, err
		}
		spans = append(spans, Loaded{Window: dialpad.Window{From: w.From.UTC(), To: w.To.UTC()}, Kinds: []string{"export"}})
	}
	if err := exported.Err(); err != nil {
		return nil, fmt.Errorf("read the days of %s loaded from exports: %w", target, err)
	}
	mark, ok, err := s.HighWater(ctx, target)
	if err != nil {
		return nil, err
	}
	if ok && !firstIncremental.IsZero() && mark.After(firstIncremental) {
		spans = append(spans, Loaded{Window: dialpad.Window{From: firstIncremental.UTC(), To: mark}, Kinds: []string{"incremental"}})
	}
	return mergeSpans(spans), nil
}

// mergeSpans joins the spans that meet or overlap, oldest first.
func mergeSpans(spans []Loaded) []Loaded {
	sort.Slice(spans, func(i, j int) bool { return spans[i].From.Before(spans[j].From) })
	var out []Loaded
	for _, l := range spans {
		if n := len(out); n > 0 && !l.From.After(out[n-1].To) {
			last := &out[n-1]
			if l.To.After(last.To) {
				last.To = l.To
			}
			if !slices.Contains(last.Kinds, l.Kinds[0]) {
				last.Kinds = append(last.Kinds, l.Kinds[0])
				slices.Sort(last.Kinds)
			}
			continue
		}
		out = append(out, Loaded{Window: l.Window, Kinds: slices.Clone(l.Kinds)})
	}
	return out
}
