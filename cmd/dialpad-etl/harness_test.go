package main

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

// The fault tests' fixture and checks: a small world, processes of the
// binary, and what every fault test verifies afterwards (marks, failure
// lines, no secret anywhere).

// secretToken is the API key of every fault test: distinctive, so that any
// leak into output, tables or metrics is found.
const secretToken = "tok-SECRET-e2e"

var nonWordRe = regexp.MustCompile(`[^A-Za-z0-9_]+`)

// fixture is a world with small traffic over a few whole UTC days, every
// call of which has ended by the simulator's clock.
type fixture struct {
	*world
	targets    []dialpad.Target
	start, end time.Time
	past       bool     // fixed days long ago (newPastFixture), not the last ones
	env        []string // the settings of every run: targets, start, fast retries
}

// newFixture makes a world on ch (chtest's server when nil) with the
// traffic of the last whole UTC days before now that hold days weekdays
// (and the weekend between them), and of today until 10 minutes ago;
// faults are the simulator's from the start. For the tests of what the
// binary does at its own clock (run, schedule, reconcile); how much
// traffic they see does not depend on the day they run on.
func newFixture(t *testing.T, seed int64, days int, ch *chserver.Server, mod func(*simulator.Config)) *fixture {
	t.Helper()
	end := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Minute)
	start := end.Truncate(24 * time.Hour)
	for n := 0; n < days; {
		start = start.AddDate(0, 0, -1)
		if wd := start.Weekday(); wd != time.Saturday && wd != time.Sunday {
			n++
		}
	}
	return fixtureOf(t, seed, start, end, ch, mod)
}

// pastEnd is where the traffic of newPastFixture ends: a Thursday
// afternoon in New York, whose company hours the simulator follows.
var pastEnd = time.Date(2026, 6, 4, 19, 0, 0, 0, time.UTC)

// newPastFixture is newFixture over fixed days: the days before pastEnd,
// and that Thursday until then. The same legs on every date; for tests
// that load only with backfill, which they bound with f.backfill().
func newPastFixture(t *testing.T, seed int64, days int, ch *chserver.Server, mod func(*simulator.Config)) *fixture {
	t.Helper()
	f := fixtureOf(t, seed, pastEnd.Truncate(24*time.Hour).AddDate(0, 0, -days), pastEnd, ch, mod)
	f.past = true
	return f
}

func fixtureOf(t *testing.T, seed int64, start, end time.Time, ch *chserver.Server, mod func(*simulator.Config)) *fixture {
	t.Helper()
	cfg := simulator.Config{Seed: seed, Start: start, End: end, CallsPerDay: 40, Token: secretToken, RateLimit: -1}
	if mod != nil {
		mod(&cfg)
	}
	w := newWorldOn(t, cfg, "UTC", ch)
	w.setClock(end.Add(24 * time.Hour)) // every call has ended
	f := &fixture{world: w, targets: w.sim.Targets(), start: start, end: end}
	var list []string
	for _, tg := range f.targets {
		list = append(list, tg.String())
	}
	f.env = []string{
		"DIALPAD_TARGETS=" + strings.Join(list, ","),
		"ETL_START=" + start.Format(time.RFC3339),
		"ETL_CONCURRENCY=4",
		"DIALPAD_BACKOFF_MIN=5ms",
		"DIALPAD_BACKOFF_MAX=200ms",
	}
	return f
}

// with is f.env plus more settings (later ones win).
func (f *fixture) with(more ...string) []string {
	return append(append([]string{}, f.env...), more...)
}

func (f *fixture) from() string { return f.start.Format(time.DateOnly) }

// backfill is the arguments of a backfill of the fixture's traffic: from
// its first day, to now or, over fixed days, to an hour after their end,
// as far as the truth reaches (the later legs of the last calls).
func (f *fixture) backfill(more ...string) []string {
	args := []string{"backfill", "--from", f.from()}
	if f.past {
		args = append(args, "--to", f.end.Add(time.Hour).Format(time.RFC3339))
	}
	return append(args, more...)
}

// want is the ground truth of every target.
func (f *fixture) want(t *testing.T) []transform.Leg {
	t.Helper()
	legs := f.truth(t, f.targets, f.start, f.end, time.UTC)
	if len(legs) < 100 {
		t.Fatalf("the simulator made only %d legs; the test needs more to mean something", len(legs))
	}
	return legs
}

// proc is the binary running in the background.
type proc struct {
	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
	code int
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// spawn starts the binary; wait for it with p.wait.
func (w *world) spawn(t *testing.T, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary, args...), out: &syncBuffer{}, done: make(chan struct{})}
	p.cmd.Dir = w.dir
	p.cmd.Env = append(append([]string{}, w.env...), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		err := p.cmd.Wait()
		var ee *exec.ExitError
		switch {
		case errors.As(err, &ee):
			p.code = ee.ExitCode()
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				p.code = -int(ws.Signal())
			}
		case err != nil:
			p.code = -1000
		}
		w.record([]byte(p.out.String()))
		close(p.done)
	}()
	t.Cleanup(func() {
		select {
		case <-p.done:
		default:
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

// wait waits at most limit for p to exit and returns its exit code
// (minus the signal number when a signal killed it).
func (p *proc) wait(t *testing.T, limit time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
		return p.code
	case <-time.After(limit):
		_ = p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("dialpad-etl %s did not exit within %s:\n%s", strings.Join(p.cmd.Args[1:], " "), limit, lastLines(p.out.String(), 30))
		return 0
	}
}

// runOut runs the binary and returns its exit code and what it printed.
func (w *world) runOut(t *testing.T, env []string, args ...string) (int, string) {
	t.Helper()
	p := w.spawn(t, env, args...)
	code := p.wait(t, 2*time.Minute)
	if code != 0 {
		t.Logf("dialpad-etl %s exited %d:\n%s", strings.Join(args, " "), code, lastLines(p.out.String(), 15))
	}
	return code, p.out.String()
}

// checkFailureLines checks the report of a load that failed: the last
// line says how many targets failed, and each failed target has exactly
// one line of its own before it.
func checkFailureLines(t *testing.T, out, command string, targets []dialpad.Target) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	last := lines[len(lines)-1]
	m := regexp.MustCompile(`^dialpad-etl ` + command + `: (\d+) of (\d+) targets failed$`).FindStringSubmatch(last)
	if m == nil {
		t.Fatalf("the last line of a failed %s is %q, want \"dialpad-etl %s: N of M targets failed\"", command, last, command)
	}
	failed, _ := strconv.Atoi(m[1])
	if total, _ := strconv.Atoi(m[2]); total != len(targets) || failed < 1 {
		t.Errorf("%q: want 1 to %d of %d targets failed", last, len(targets), len(targets))
	}
	n := 0
	for _, tg := range targets {
		c := 0
		for _, l := range lines {
			if strings.HasPrefix(l, tg.String()+": ") {
				c++
				if len(l) < len(tg.String())+10 {
					t.Errorf("the failure line of %s says nothing: %q", tg, l)
				}
			}
		}
		if c > 1 {
			t.Errorf("%s has %d failure lines, want one", tg, c)
		}
		n += c
	}
	if n != failed {
		t.Errorf("%d targets have a failure line, but the summary says %d failed:\n%s", n, failed, lastLines(out, 10))
	}
}

// checkMarks checks that no high-water mark and no window recorded as
// loaded claims legs the warehouse lacks: every leg of the truth that
// started before a target's mark, or in a loaded window, is in calls.
// It returns the marks, in unix ms by target.
func (w *world) checkMarks(t *testing.T, want []transform.Leg) map[string]int64 {
	t.Helper()
	ctx := context.Background()
	conn := w.conn(t)
	byTarget := map[string][]int64{}
	for _, l := range want {
		byTarget[l.Target.String()] = append(byTarget[l.Target.String()], l.StartedMs)
	}
	loaded := func(target string, from, to int64) (want, got uint64) {
		for _, ms := range byTarget[target] {
			if ms >= from && ms < to {
				want++
			}
		}
		typ, id, _ := strings.Cut(target, ":")
		if err := conn.QueryRow(ctx, `SELECT count() FROM calls FINAL WHERE target_type = ? AND target_id = ?
			AND started_ms >= ? AND started_ms < ?`, typ, mustUint(t, id), from, to).Scan(&got); err != nil {
			t.Fatal(err)
		}
		return want, got
	}
	marks := map[string]int64{}
	rows, err := conn.Query(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)), toInt64(toUInt32(high_water))
		FROM etl_state FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var target string
		var mark int64
		if err := rows.Scan(&target, &mark); err != nil {
			t.Fatal(err)
		}
		marks[target] = mark * 1000
	}
	rows.Close()
	for target, mark := range marks {
		if want, got := loaded(target, 0, mark); got != want {
			t.Errorf("the mark of %s is %s, but calls holds %d of the %d legs that started before it",
				target, time.UnixMilli(mark).UTC().Format(time.RFC3339), got, want)
		}
	}
	rows, err = conn.Query(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)),
		toInt64(toUInt32(window_from)), toInt64(toUInt32(window_to)) FROM etl_windows FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	type win struct {
		target   string
		from, to int64
	}
	var wins []win
	for rows.Next() {
		var x win
		if err := rows.Scan(&x.target, &x.from, &x.to); err != nil {
			t.Fatal(err)
		}
		wins = append(wins, x)
	}
	rows.Close()
	for _, x := range wins {
		if want, got := loaded(x.target, x.from*1000, x.to*1000); got != want {
			t.Errorf("window %s %s..%s is recorded as loaded, but calls holds %d of its %d legs", x.target,
				time.Unix(x.from, 0).UTC().Format(time.RFC3339), time.Unix(x.to, 0).UTC().Format(time.RFC3339), got, want)
		}
	}
	return marks
}

func mustUint(t *testing.T, s string) uint64 {
	t.Helper()
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// runs counts etl_runs rows by status.
func (w *world) runs(t *testing.T) map[string]uint64 {
	t.Helper()
	rows, err := w.conn(t).Query(context.Background(), "SELECT toString(status), count() FROM etl_runs GROUP BY status")
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]uint64{}
	for rows.Next() {
		var s string
		var n uint64
		if err := rows.Scan(&s, &n); err != nil {
			t.Fatal(err)
		}
		out[s] = n
	}
	return out
}

// checkNoSecret checks that the token is nowhere: not in anything the
// binary printed, nor in etl_runs, rejected_calls or agents, nor in extra
// (metrics scrapes and the like).
func (w *world) checkNoSecret(t *testing.T, extra ...string) {
	t.Helper()
	for _, secret := range []string{secretToken, wrongToken} {
		if i := strings.Index(w.printed(), secret); i >= 0 {
			t.Errorf("a token appears in the job's output: %q", w.printed()[max(0, i-200):i+len(secret)])
		}
		for _, e := range extra {
			if strings.Contains(e, secret) {
				t.Errorf("a token appears in %q", lastLines(e, 5))
			}
		}
		ctx := context.Background()
		for _, q := range []string{
			"SELECT count() FROM etl_runs WHERE position(concat(run_id, error, host), ?) > 0",
			"SELECT count() FROM rejected_calls WHERE position(concat(reason, raw, run_id), ?) > 0",
			"SELECT count() FROM agents WHERE position(concat(display_name, first_name, last_name, role, state, arrayStringConcat(emails)), ?) > 0",
		} {
			var n uint64
			if err := w.conn(t).QueryRow(ctx, q, secret).Scan(&n); err != nil {
				t.Fatalf("%s: %v", q, err)
			}
			if n > 0 {
				t.Errorf("a token appears in %d rows: %s", n, q)
			}
		}
	}
}

// wrongToken is a key the simulator refuses.
const wrongToken = "tok-WRONG-e2e"

// onCallPage calls fn (once, in its own goroutine) when the simulator has
// been asked for n call pages.
func (w *world) onCallPage(n int64, fn func()) {
	var seen atomic.Int64
	var once sync.Once
	h := func(r *http.Request) {
		if r.URL.Path == "/api/v2/call" && seen.Add(1) == n {
			once.Do(func() { go fn() })
		}
	}
	w.hook.Store(&h)
}
