package chtest

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

// twin is a Twin that collects what differs instead of failing the test.
func twin(t *testing.T) (*Twin, *[]error) {
	w := NewTwin(t)
	if !w.Both() {
		t.Skip("no current ClickHouse")
	}
	var got []error
	w.report = func(err error) { got = append(got, err) }
	return w, &got
}

// The two failures found on a current release, and statements that work
// on both alike, as the twin reports them.
func TestTwinNamesTheStatementAndBothAnswers(t *testing.T) {
	w, reported := twin(t)
	ctx := context.Background()
	conn := w.Conn()
	if err := conn.Exec(ctx, "CREATE TABLE t (target String, n UInt32, at DateTime('UTC')) ENGINE = MergeTree ORDER BY target"); err != nil {
		t.Fatal(err)
	}
	b, err := conn.PrepareBatch(ctx, "INSERT INTO t (target, n, at)")
	if err != nil {
		t.Fatal(err)
	}
	at := time.Date(2026, 1, 15, 5, 59, 59, 0, time.UTC)
	for i, target := range []string{"department:1", "it's \\ odd"} {
		if err := b.Append(target, uint32(i+1), at); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.Send(); err != nil {
		t.Fatal(err)
	}
	for _, alike := range []string{
		"SELECT target, n, at FROM t",
		"SELECT a.target, n, m FROM (SELECT target, n FROM t) AS a ANY LEFT JOIN (SELECT target, max(at) AS m FROM t GROUP BY target) AS b USING (target)",
		"SELECT toDayOfWeek(toTimeZone(at, 'America/Chicago')) FROM t",
		"SELECT nosuch FROM t",
	} {
		if err := w.Compare(ctx, alike); err != nil {
			t.Errorf("%s: %v", alike, err)
		}
	}
	for _, differs := range []struct{ sql, old, current string }{
		{"SELECT target, n, m FROM (SELECT target, n FROM t) ANY LEFT JOIN (SELECT target, max(at) AS m FROM t GROUP BY target) USING (target)",
			"ok", "Code: 206"},
		{"SELECT toDayOfWeek(at, 'America/Chicago') FROM t", "ok", "Code: 43"},
		{"SELECT version()", "18.16.1", "26."},
		{"SELECT countIf(target IN ('a', 'b')) FROM t", "countIf(in(target, tuple(", "countIf(in(target, ("}, // an unnamed expression's name
	} {
		err := w.Compare(ctx, differs.sql)
		var d *Differs
		if !errors.As(err, &d) {
			t.Errorf("%s: %v, want the engines to differ", differs.sql, err)
			continue
		}
		msg := d.Error()
		for _, want := range []string{differs.sql, "ClickHouse 18.16: ", differs.old, "ClickHouse 26.", differs.current} {
			if !strings.Contains(msg, want) {
				t.Errorf("%q does not say %q", msg, want)
			}
		}
	}

	// Through the connection: a statement only one engine runs fails the
	// test, with both answers; one both refuse does not.
	_ = conn.Exec(ctx, "ALTER TABLE t DELETE WHERE toDayOfWeek(at, 'UTC') = 9")
	_ = conn.Exec(ctx, "DROP TABLE nosuch")
	row := conn.QueryRow(ctx, "SELECT toDayOfWeek(at, ?) FROM t LIMIT 1", "UTC")
	var day uint8
	if err := row.Scan(&day); err != nil || day != 4 {
		t.Errorf("18.16 answers %d, %v: rows still come from 18.16", day, err)
	}
	if len(*reported) != 2 {
		t.Fatalf("reported %d statements, want the DELETE and the query: %v", len(*reported), *reported)
	}
	for i, want := range []string{"ALTER TABLE t DELETE WHERE toDayOfWeek(at, 'UTC') = 9", "SELECT toDayOfWeek(at, 'UTC') FROM t LIMIT 1"} {
		if msg := (*reported)[i].Error(); !strings.Contains(msg, want) || !strings.Contains(msg, "week_mode") {
			t.Errorf("report %d: %q, want the bound statement %q and the current engine's error", i, msg, want)
		}
	}
}
