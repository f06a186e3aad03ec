package chtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	_ "unsafe" // for go:linkname

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chdb"
)

// A Twin is one test database on two engines: the ClickHouse 18.16 server
// of Get and the current ClickHouse of chdb. Its connection sends every
// statement to both, so that a statement that one engine accepts and the
// other refuses, or that answers differently on them, fails the test
// with the statement and both answers.
//
// Without the current engine (chdb not installed) a twin is the 18.16
// database alone, and says so in the test's log; with CI set that fails
// the test instead.

var (
	currentOnce sync.Once
	current     *chdb.Engine
	currentErr  error
)

// Current returns the package's current engine, starting it on first use,
// or nil and why there is none.
func Current() (*chdb.Engine, error) {
	currentOnce.Do(func() { current, currentErr = chdb.Start() })
	return current, currentErr
}

// Twin is a database on both engines.
type Twin struct {
	Addr, Database string
	tb             testing.TB
	http           string // the 18.16 server's HTTP interface
	current        *chdb.Engine
	tz             *time.Location // the 18.16 server's, which clickhouse-go binds times in
	mu             sync.Mutex     // keeps the statements in one order on both engines
	native         driver.Conn
	report         func(error) // a statement that differs: fails the test
}

// NewTwin makes a fresh database on both engines, dropped when the test
// ends.
func NewTwin(tb testing.TB) *Twin {
	tb.Helper()
	SkipShort(tb, "ClickHouse 18.16 and the current ClickHouse (node and chdb)")
	addr, db := Database(tb)
	w := &Twin{Addr: addr, Database: db, tb: tb, http: Get(tb).HTTP, native: Conn(tb, db), tz: time.UTC,
		report: func(err error) { tb.Helper(); tb.Errorf("%v", err) }}
	if v, err := w.native.ServerVersion(); err == nil && v.Timezone != nil {
		w.tz = v.Timezone
	}
	e, err := Current()
	switch {
	case err != nil && os.Getenv("CI") != "":
		tb.Fatalf("no current ClickHouse for the tests: %v", err)
	case err != nil:
		tb.Logf("only ClickHouse 18.16: no current ClickHouse (%v); %s", err, chdb.InstallHint)
		return w
	}
	if err := e.Exec("", "CREATE DATABASE "+db); err != nil {
		tb.Fatalf("create database %s on ClickHouse %s: %v", db, e.Version, err)
	}
	tb.Cleanup(func() { _ = e.Exec("", "DROP DATABASE IF EXISTS "+db) })
	w.current = e
	return w
}

// Both reports whether the twin has the current engine beside 18.16.
func (w *Twin) Both() bool { return w.current != nil }

// Conn is a connection to the twin's database whose Exec, Query,
// QueryRow, Select and batches run on both engines. A batch reaches the
// current engine as the INSERT ... VALUES of the rows it was given (chdb
// has no native protocol). Rows are read from 18.16.
func (w *Twin) Conn() driver.Conn { return &twinConn{Conn: w.native, w: w} }

// Store is a warehouse on the twin's connection.
func (w *Twin) Store(opt warehouse.Options, opts ...warehouse.Option) *warehouse.Store {
	opt.Addr, opt.Database = w.Addr, w.Database
	return warehouse.New(w.Conn(), opt, opts...)
}

// Migrated is a warehouse on the twin's connection with the schema
// applied; the test fails if it cannot be.
func (w *Twin) Migrated(opt warehouse.Options) *warehouse.Store {
	w.tb.Helper()
	s := w.Store(opt)
	if _, err := s.Migrate(context.Background()); err != nil {
		w.tb.Fatal(err)
	}
	return s
}

// Migrated is a migrated warehouse on a fresh twin database: every
// statement runs on ClickHouse 18.16 and on the current release.
func Migrated(tb testing.TB, opt warehouse.Options) *warehouse.Store {
	tb.Helper()
	return NewTwin(tb).Migrated(opt)
}

// Differs is a statement that does not behave alike on both engines.
type Differs struct {
	SQL              string
	Old, New         string // what each engine answered: an error or the rows
	OldName, NewName string
}

func (d *Differs) Error() string {
	return fmt.Sprintf("the engines differ on\n%s\nClickHouse %s: %s\nClickHouse %s: %s", d.SQL, d.OldName, d.Old, d.NewName, d.New)
}

// Compare runs the query sql on both engines and returns a *Differs when
// one fails and the other does not, or when they return other columns or
// rows (rows in any order; floats compared to 9 significant digits, times
// to 2 seconds). A
// column's name counts: Grafana shows it and a panel may refer to it by
// name (an unnamed expression is named differently by the two). A query that reads
// the clock may cross a second between the engines, or compare it with
// rows each engine stamped with its own clock, so a difference in rows is
// looked at again once before it counts (a second later when it reads
// now()). Without the current
// engine it only runs sql on 18.16.
func (w *Twin) Compare(ctx context.Context, sql string) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.compare(ctx, sql, true)
}

func (w *Twin) compare(ctx context.Context, sql string, names bool) error {
	var d *Differs
	for look := range 2 {
		if look > 0 && strings.Contains(sql, "now()") {
			// Rows stamped with now() on each engine may differ by a
			// second: past it, both sides of a bound on the clock agree.
			time.Sleep(1100 * time.Millisecond)
		}
		old, oldErr := w.old(ctx, sql)
		if w.current == nil {
			return oldErr
		}
		cur, curErr := w.current.Query(w.Database, sql, "TabSeparatedWithNames")
		d = &Differs{SQL: sql, OldName: "18.16", NewName: w.current.Version, Old: old, New: cur}
		switch {
		case oldErr != nil && curErr != nil:
			return nil // alike: both refuse it
		case oldErr != nil || curErr != nil:
			d.Old, d.New = answer(oldErr), answer(curErr)
			return d
		case sameRows(old, cur, names):
			return nil
		}
	}
	return d
}

func answer(err error) string {
	if err != nil {
		return "error: " + err.Error()
	}
	return "ok"
}

// old runs sql on the 18.16 server through its HTTP interface, which
// answers in the same text format as chdb.
func (w *Twin) old(ctx context.Context, sql string) (string, error) {
	body := strings.TrimRight(strings.TrimSpace(sql), ";") + "\nFORMAT TabSeparatedWithNames"
	u := "http://" + w.http + "/?database=" + url.QueryEscape(w.Database)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(body))
	if err != nil {
		return "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", errors.New(strings.TrimSpace(string(out)))
	}
	return string(out), nil
}

// sameRows compares two TabSeparatedWithNames answers: the same number
// of columns (with the same names if names), and the same rows in any
// order.
func sameRows(a, b string, names bool) bool {
	la, lb := tsvLines(a), tsvLines(b)
	if len(la) != len(lb) {
		return false
	}
	if len(la) == 0 {
		return true
	}
	if strings.Count(la[0], "\t") != strings.Count(lb[0], "\t") || names && la[0] != lb[0] {
		return false
	}
	ra, rb := la[1:], lb[1:]
	slices.Sort(ra)
	slices.Sort(rb)
	return slices.EqualFunc(ra, rb, sameFields)
}

var dateTimeRe = regexp.MustCompile(`^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$`)

// sameFields compares two rows field by field. Times the servers' clocks
// wrote (now(), in leases and ages) are the same within two seconds: the
// engines run a statement a moment apart.
func sameFields(a, b string) bool {
	if a == b {
		return true
	}
	fa, fb := strings.Split(a, "\t"), strings.Split(b, "\t")
	if len(fa) != len(fb) {
		return false
	}
	for i := range fa {
		if fa[i] == fb[i] {
			continue
		}
		ta, errA := time.Parse(time.DateTime, fa[i])
		tb, errB := time.Parse(time.DateTime, fb[i])
		if !dateTimeRe.MatchString(fa[i]) || errA != nil || errB != nil || ta.Sub(tb).Abs() > 2*time.Second {
			return false
		}
	}
	return true
}

var floatRe = regexp.MustCompile(`^-?[0-9]+(\.[0-9]+)?(e[-+]?[0-9]+)?$|^-?(inf|nan)$`)

func tsvLines(s string) []string {
	lines := strings.Split(strings.TrimSuffix(s, "\n"), "\n")
	if s == "" {
		return nil
	}
	for i, line := range lines[1:] {
		fields := strings.Split(line, "\t")
		for j, f := range fields {
			if !strings.ContainsAny(f, ".en") || !floatRe.MatchString(f) {
				continue
			}
			if v, err := strconv.ParseFloat(f, 64); err == nil && !math.IsNaN(v) && !math.IsInf(v, 0) {
				fields[j] = strconv.FormatFloat(v, 'g', 9, 64)
			}
		}
		lines[i+1] = strings.Join(fields, "\t")
	}
	return lines
}

// exec runs a statement (already bound) on the current engine after it
// ran on 18.16 with the outcome oldErr, and fails the test when only one
// of them refused it.
func (w *Twin) exec(sql string, oldErr error) {
	if w.current == nil {
		return
	}
	err := w.current.Exec(w.Database, sql)
	if (err == nil) != (oldErr == nil) {
		w.report(&Differs{SQL: sql, OldName: "18.16", NewName: w.current.Version,
			Old: answer(oldErr), New: answer(err)})
	}
}

// bind is how clickhouse-go itself puts bound values into a statement's
// text before it sends it (client-side binding, the only kind that 18.16
// has), so that both engines are sent the same text.
//
//go:linkname bind github.com/ClickHouse/clickhouse-go/v2.bind
func bind(tz *time.Location, query string, args ...any) (string, error)

type twinConn struct {
	driver.Conn
	w *Twin
}

func (c *twinConn) bound(query string, args []any) string {
	sql, err := bind(c.w.tz, query, args...)
	if err != nil {
		c.w.report(fmt.Errorf("bind %s: %w", query, err))
	}
	return sql
}

func (c *twinConn) Exec(ctx context.Context, query string, args ...any) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	err := c.Conn.Exec(ctx, query, args...)
	if ctx.Err() != nil {
		return err // cancelled: neither engine is told
	}
	c.w.exec(c.bound(query, args), err)
	return err
}

// compare runs a query of the warehouse's on both engines. The warehouse
// reads columns by position, so their names do not count.
func (c *twinConn) compare(ctx context.Context, query string, args []any) {
	// A cancelled query reaches neither engine; system.mutations tells
	// each engine's own progress (a mutation is done at once on one and
	// later on the other), which is not a difference of the SQL.
	if ctx.Err() != nil || strings.Contains(query, "system.mutations") {
		return
	}
	if err := c.w.compare(ctx, c.bound(query, args), false); err != nil && ctx.Err() == nil {
		var d *Differs
		if errors.As(err, &d) {
			c.w.report(err)
		}
	}
}

func (c *twinConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.compare(ctx, query, args)
	return c.Conn.Query(ctx, query, args...)
}

func (c *twinConn) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.compare(ctx, query, args)
	return c.Conn.QueryRow(ctx, query, args...)
}

func (c *twinConn) Select(ctx context.Context, dest any, query string, args ...any) error {
	c.w.mu.Lock()
	defer c.w.mu.Unlock()
	c.compare(ctx, query, args)
	return c.Conn.Select(ctx, dest, query, args...)
}

// PrepareBatch returns a batch that opens the 18.16 INSERT only when it
// is sent, under the twin's lock: an INSERT held open while another
// statement has the lock would make 18.16 keep that statement (an ALTER
// of the same table, say) waiting for it, and the test would hang.
func (c *twinConn) PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	return &twinBatch{c: c, ctx: ctx, insert: query, opts: opts}, nil
}

// twinBatch keeps the rows it is given, and sends them to 18.16 as a
// batch and to the current engine as INSERT ... VALUES. Only Append,
// Send and Abort are served.
type twinBatch struct {
	driver.Batch // set by Send
	c            *twinConn
	ctx          context.Context
	insert       string
	opts         []driver.PrepareBatchOption
	rows         [][]any
}

func (b *twinBatch) Append(v ...any) error {
	b.rows = append(b.rows, slices.Clone(v))
	return nil
}

func (b *twinBatch) Abort() error { return nil }

func (b *twinBatch) Send() error {
	b.c.w.mu.Lock()
	defer b.c.w.mu.Unlock()
	nb, err := b.c.Conn.PrepareBatch(b.ctx, b.insert, b.opts...)
	if err != nil {
		return err
	}
	b.Batch = nb
	for _, r := range b.rows {
		if err := nb.Append(r...); err != nil {
			_ = nb.Abort()
			return err
		}
	}
	err = nb.Send()
	if len(b.rows) == 0 || b.c.w.current == nil {
		return err
	}
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", len(b.rows[0])), ", ") + ")"
	var sql strings.Builder
	sql.WriteString(strings.TrimSpace(b.insert) + " VALUES ")
	var args []any
	for i, r := range b.rows {
		if i > 0 {
			sql.WriteString(", ")
		}
		sql.WriteString(row)
		args = append(args, r...)
	}
	b.c.w.exec(b.c.bound(sql.String(), args), err)
	return err
}
