package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// recomputeMetric is the receiver's histogram of its recompute passes.
const recomputeMetric = "dialpad_etl_events_recompute_duration_seconds"

// pollEvery is how often recomputeWatch reads the metrics and the
// conversations.
const pollEvery = 250 * time.Millisecond

// recomputeWatch reads, every pollEvery while today's events arrive, the
// receiver's recompute passes (its histogram's count and sum on /metrics:
// a pass that ended since the last reading took the sum's growth) and
// today's conversations of the target, with how many legs each counts.
type recomputeWatch struct {
	metricsURL string
	conn       driver.Conn
	target     dialpad.Target
	day        time.Time

	mu         sync.Mutex
	count, sum float64              // the histogram, as last read
	passes     []pass               // each pass since firstPass
	seen       map[uint64][]counted // by conversation: each reading that found more legs
	err        error                // what ended run early
}

// pass is a recompute pass: when a reading found it ended, and how long
// it took.
type pass struct {
	ended time.Time
	took  time.Duration
}

// counted is a reading of a conversation: when the query began, and the
// legs it counted.
type counted struct {
	at   time.Time
	legs uint32
}

// firstPass waits, up to a minute, until the receiver has ended its first
// pass (the days a restart recomputes), and counts only the passes after
// it.
func (w *recomputeWatch) firstPass(ctx context.Context) error {
	deadline := time.Now().Add(time.Minute)
	for {
		n, sum, err := w.readPasses(ctx)
		if err == nil && n >= 1 {
			w.count, w.sum = n, sum
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("recompute: the receiver ended no recompute pass within a minute (%v)", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// run reads until ctx ends; an error ends it early, in w.err.
func (w *recomputeWatch) run(ctx context.Context) {
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		if err := w.poll(ctx); err != nil {
			if ctx.Err() == nil {
				w.mu.Lock()
				w.err = err
				w.mu.Unlock()
			}
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (w *recomputeWatch) poll(ctx context.Context) error {
	n, sum, err := w.readPasses(ctx)
	if err != nil {
		return err
	}
	ended := time.Now()
	// A row the query finds was there when it began.
	at := time.Now()
	rows, err := w.conn.Query(benchQuery(ctx), `SELECT conversation_id, legs FROM conversations
		WHERE target_type = ? AND target_id = ? AND day = toDate(?)`, w.target.Type, uint64(w.target.ID), w.day.Format(time.DateOnly))
	if err != nil {
		return fmt.Errorf("recompute: read today's conversations: %w", err)
	}
	defer rows.Close()
	w.mu.Lock()
	defer w.mu.Unlock()
	if n > w.count {
		// Mostly one: a pass takes longer than a reading.
		each := (sum - w.sum) / (n - w.count)
		for range int(n - w.count) {
			w.passes = append(w.passes, pass{ended: ended, took: time.Duration(each * float64(time.Second))})
		}
		w.count, w.sum = n, sum
	}
	if w.seen == nil {
		w.seen = map[uint64][]counted{}
	}
	for rows.Next() {
		var id uint64
		var legs uint32
		if err := rows.Scan(&id, &legs); err != nil {
			return err
		}
		if h := w.seen[id]; len(h) == 0 || legs > h[len(h)-1].legs {
			w.seen[id] = append(h, counted{at: at, legs: legs})
		}
	}
	return rows.Err()
}

// readPasses reads the histogram's count and sum from /metrics.
func (w *recomputeWatch) readPasses(ctx context.Context) (count, sum float64, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, w.metricsURL, nil)
	if err != nil {
		return 0, 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, err
	}
	count, okCount := metricValue(string(body), recomputeMetric+"_count")
	sum, okSum := metricValue(string(body), recomputeMetric+"_sum")
	if !okCount || !okSum {
		return 0, 0, fmt.Errorf("recompute: no %s in %s", recomputeMetric, w.metricsURL)
	}
	return count, sum, nil
}

// metricValue is the value of the unlabelled sample name in a text
// exposition.
func metricValue(exposition, name string) (float64, bool) {
	for _, line := range strings.Split(exposition, "\n") {
		if rest, ok := strings.CutPrefix(line, name+" "); ok {
			v, err := strconv.ParseFloat(strings.TrimSpace(rest), 64)
			return v, err == nil
		}
	}
	return 0, false
}

// receipt is the final event of one of the target's legs of today, as
// the receiver stored it: when it was received (the first copy).
type receipt struct {
	conversation uint64
	received     time.Time
}

// receipts are the final events, of event times in [from, to], of the
// target's legs of today.
func (w *recomputeWatch) receipts(ctx context.Context, from, to time.Time) ([]receipt, error) {
	rows, err := w.conn.Query(benchQuery(ctx), `SELECT conversation_id, min(received_ms) FROM call_events
		WHERE event_at >= toDateTime(?) AND event_at <= toDateTime(?) AND has(?, state)
			AND call_id IN (SELECT call_id FROM calls WHERE target_type = ? AND target_id = ? AND day = toDate(?))
		GROUP BY conversation_id, call_id`,
		from.Unix(), to.Unix()+1, wire.FinalStates, w.target.Type, uint64(w.target.ID), w.day.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("recompute: read the final events: %w", err)
	}
	defer rows.Close()
	var out []receipt
	for rows.Next() {
		var r receipt
		var ms int64
		if err := rows.Scan(&r.conversation, &ms); err != nil {
			return nil, err
		}
		r.received = time.UnixMilli(ms)
		out = append(out, r)
	}
	return out, rows.Err()
}

// waitReflected waits, up to timeout, until every receipt is counted in
// its conversation.
func (w *recomputeWatch) waitReflected(ctx context.Context, rs []receipt, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		_, missing := w.lags(rs)
		if missing == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d final events' legs not counted in their conversations after %s", missing, len(rs), timeout)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}

// lags are, for each receipt, the time from its receipt to the first
// reading that found its conversation counting as many legs as had been
// received by then (today was not loaded: its legs come from the events
// alone); missing are the receipts not counted yet.
func (w *recomputeWatch) lags(rs []receipt) (lags []time.Duration, missing int) {
	by := map[uint64][]time.Time{}
	for _, r := range rs {
		by[r.conversation] = append(by[r.conversation], r.received)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	for id, received := range by {
		slices.SortFunc(received, func(a, b time.Time) int { return a.Compare(b) })
		h := w.seen[id]
		for k, at := range received {
			i := slices.IndexFunc(h, func(c counted) bool { return int(c.legs) > k })
			if i < 0 {
				missing++
				continue
			}
			lags = append(lags, h[i].at.Sub(at))
		}
	}
	return lags, missing
}

// passesBetween are the durations of the passes that ended in (from, to].
func (w *recomputeWatch) passesBetween(from, to time.Time) []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []time.Duration
	for _, p := range w.passes {
		if p.ended.After(from) && !p.ended.After(to) {
			out = append(out, p.took)
		}
	}
	return out
}

// quantile is the q-quantile of ds by the nearest rank (1: the largest).
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[min(max(i, 0), len(s)-1)]
}
