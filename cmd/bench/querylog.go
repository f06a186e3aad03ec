package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// queryLogProfile turns on system.query_log for the default profile.
const queryLogProfile = `<yandex><profiles><default><log_queries>1</log_queries></default></profiles></yandex>`

// queryLog turns on ClickHouse's query log (system.query_log) for the
// sessions that begin from now on, by a profile in the private server's
// users.d, which the server reloads by itself, until off removes it. The
// benchmark's own queries are told apart by their ids (benchQuery).
func (b *bench) queryLog(ctx context.Context) (off func(), err error) {
	dir := filepath.Join(b.ch.Dir, "users.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, "bench-query-log.xml")
	if err := os.WriteFile(path, []byte(queryLogProfile), 0o644); err != nil {
		return nil, err
	}
	off = func() { os.Remove(path) }
	// The server looks at its users' files every few seconds.
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		conn, err := b.ch.Open("default")
		if err != nil {
			off()
			return nil, err
		}
		var on string
		err = conn.QueryRow(benchQuery(ctx), "SELECT toString(value) FROM system.settings WHERE name = 'log_queries'").Scan(&on)
		conn.Close()
		if err == nil && on == "1" {
			return off, nil
		}
		select {
		case <-ctx.Done():
			off()
			return nil, ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	off()
	return nil, fmt.Errorf("the query log was not on 30 s after %s was written", path)
}

var benchQueries atomic.Int64

// benchQuery is ctx for a query of the benchmark's own: its id begins
// with "bench-", so that statementTimes leaves it out.
func benchQuery(ctx context.Context) context.Context {
	return clickhouse.Context(ctx, clickhouse.WithQueryID(fmt.Sprintf("bench-%d-%d", os.Getpid(), benchQueries.Add(1))))
}

// statementTime is the time ClickHouse spent in the statements of one
// kind.
type statementTime struct {
	kind  string
	n     int
	total time.Duration
}

// statementTimes reads the statements that ended in [from, to] from
// system.query_log, but the benchmark's own, and sums their durations by
// kind (statementKind), the longest first.
func statementTimes(ctx context.Context, conn driver.Conn, from, to time.Time) ([]statementTime, error) {
	if err := conn.Exec(benchQuery(ctx), "SYSTEM FLUSH LOGS"); err != nil {
		return nil, fmt.Errorf("flush the query log: %w", err)
	}
	rows, err := conn.Query(benchQuery(ctx), `SELECT query, query_duration_ms FROM system.query_log
		WHERE type = 2 AND event_time >= toDateTime(?) AND event_time <= toDateTime(?) AND query_id NOT LIKE 'bench-%'`,
		from.Unix(), to.Unix()+1)
	if err != nil {
		return nil, fmt.Errorf("read the query log: %w", err)
	}
	defer rows.Close()
	byKind := map[string]*statementTime{}
	for rows.Next() {
		var q string
		var ms uint64
		if err := rows.Scan(&q, &ms); err != nil {
			return nil, err
		}
		k := statementKind(q)
		if byKind[k] == nil {
			byKind[k] = &statementTime{kind: k}
		}
		byKind[k].n++
		byKind[k].total += time.Duration(ms) * time.Millisecond
	}
	var out []statementTime
	for _, s := range byKind {
		out = append(out, *s)
	}
	slices.SortFunc(out, func(a, b statementTime) int { return int(b.total - a.total) })
	return out, rows.Err()
}

var (
	reHead   = regexp.MustCompile(`(?is)^\s*(INSERT\s+INTO\s+\w+|ALTER\s+TABLE\s+\w+\s+\w+\s+PARTITION|SELECT|\w+)`)
	reTables = regexp.MustCompile(`(?i)\b(?:FROM|JOIN)\s+([A-Za-z_][A-Za-z0-9_.]*)`)
	reSpace  = regexp.MustCompile(`\s+`)
)

// statementKind names a statement by what it writes and the tables it
// reads, in their order: "INSERT INTO conversations_stage ← calls,
// conversations".
func statementKind(q string) string {
	head := "?"
	if m := reHead.FindStringSubmatch(q); m != nil {
		head = reSpace.ReplaceAllString(m[1], " ")
	}
	var tables []string
	for _, m := range reTables.FindAllStringSubmatch(q, -1) {
		if !slices.Contains(tables, m[1]) {
			tables = append(tables, m[1])
		}
	}
	if len(tables) == 0 {
		return head
	}
	return head + " ← " + strings.Join(tables, ", ")
}
