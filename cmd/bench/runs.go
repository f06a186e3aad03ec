package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"
)

// runTotals sums what loads recorded in etl_runs (one run per target and
// load).
type runTotals struct {
	runs, failed                      uint64
	requests, rateLimited, legs, rows uint64
	pages, retries                    uint64
}

// runTotals sums what a backfill recorded in etl_runs.
func (b *bench) runTotals(ctx context.Context, database string) (runTotals, error) {
	return b.runTotalsSince(ctx, database, time.Time{})
}

// runTotalsSince sums what the loads that started at or after since
// recorded.
func (b *bench) runTotalsSince(ctx context.Context, database string, since time.Time) (runTotals, error) {
	conn, err := b.server(database).Open(database)
	if err != nil {
		return runTotals{}, err
	}
	defer conn.Close()
	var t runTotals
	err = conn.QueryRow(ctx, `SELECT count(), countIf(status != 'succeeded'), sum(requests), sum(rate_limited),
		sum(legs), sum(pages), sum(retries) FROM etl_runs WHERE started_at >= toDateTime(?)`, max(since.Unix(), 0)).
		Scan(&t.runs, &t.failed, &t.requests, &t.rateLimited, &t.legs, &t.pages, &t.retries)
	if err != nil {
		return t, fmt.Errorf("read etl_runs of %s: %w", database, err)
	}
	if err := conn.QueryRow(ctx, "SELECT count() FROM calls FINAL").Scan(&t.rows); err != nil {
		return t, fmt.Errorf("count calls of %s: %w", database, err)
	}
	if t.failed > 0 {
		return t, fmt.Errorf("%d of %d runs in %s did not succeed", t.failed, t.runs, database)
	}
	return t, nil
}

// windowSpan is the time from the start of the first window to the end of
// the last, read from a backfill's JSON log ("window loaded" lines, or
// "export loaded" for a backfill from the records export): the time the
// job was fetching, without its start-up and its records.
func windowSpan(logPath string) (time.Duration, error) {
	f, err := os.Open(logPath)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	var first, last time.Time
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var l struct {
			Time       time.Time `json:"time"`
			Msg        string    `json:"msg"`
			DurationMs float64   `json:"duration_ms"`
		}
		if json.Unmarshal(sc.Bytes(), &l) != nil || (l.Msg != "window loaded" && l.Msg != "export loaded") {
			continue
		}
		if began := l.Time.Add(-time.Duration(l.DurationMs * float64(time.Millisecond))); first.IsZero() || began.Before(first) {
			first = began
		}
		if l.Time.After(last) {
			last = l.Time
		}
	}
	if first.IsZero() {
		return 0, fmt.Errorf("%s: no windows loaded", logPath)
	}
	return last.Sub(first), sc.Err()
}
