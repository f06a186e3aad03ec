package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
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
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/chserver"
)

// The fault tests run the binary against the simulator over real HTTP and
// a real ClickHouse, break one thing at a time, and check what a user
// would see: the exit code, the error lines, and tables equal to the
// simulator's ground truth once the faults are gone.

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
	env        []string // the settings of every run: targets, start, fast retries
}

// newFixture makes a world on ch (chtest's server when nil) with days of
// traffic before now; faults are the simulator's from the start.
func newFixture(t *testing.T, seed int64, days int, ch *chserver.Server, mod func(*simulator.Config)) *fixture {
	t.Helper()
	end := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Minute)
	start := end.Truncate(24*time.Hour).AddDate(0, 0, -days)
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

// eventually polls cond every 20ms until it holds or limit passes.
func eventually(t *testing.T, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("waited %s for %s", limit, what)
		}
		time.Sleep(20 * time.Millisecond)
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

// freeTriple returns a port p such that p, p+1 and p+2 are free on
// loopback: a private ClickHouse's native, HTTP and interserver ports.
func freeTriple(t *testing.T) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		ok := p+2 < 65536
		var ls []net.Listener
		for i := 1; ok && i <= 2; i++ {
			li, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, li)
		}
		l.Close()
		for _, li := range ls {
			li.Close()
		}
		if ok {
			return p
		}
	}
	t.Fatal("no three consecutive free ports")
	return 0
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

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

// 1. ClickHouse dies in the middle of a backfill: the backfill fails with
// a line per target that names the failing write, no mark or loaded window
// claims what was not written, and once ClickHouse is back the same
// backfill completes to the ground truth.
func TestClickHouseStopsDuringBackfill(t *testing.T) {
	if _, err := chserver.Find(); err != nil {
		t.Skip(err)
	}
	dir, port := t.TempDir(), freeTriple(t)
	ch, err := chserver.Start(chserver.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	current := ch
	t.Cleanup(func() { mu.Lock(); current.Stop(); mu.Unlock() })

	f := newFixture(t, 21, 3, ch, func(c *simulator.Config) { c.Faults.Latency = 50 * time.Millisecond })
	want := f.want(t)
	stopped := make(chan struct{})
	f.onCallPage(10, func() { ch.Stop(); close(stopped) })
	code, out := f.runOut(t, f.with("ETL_CONCURRENCY=2"), "backfill", "--from", f.from())
	select {
	case <-stopped:
	default:
		t.Fatalf("the backfill ended (exit %d) before ClickHouse was stopped; make it slower", code)
	}
	if code != 1 {
		t.Fatalf("backfill with ClickHouse gone exited %d, want 1:\n%s", code, lastLines(out, 20))
	}
	checkFailureLines(t, out, "backfill", f.targets)
	for _, tg := range f.targets {
		line := lineOf(out, tg.String()+": ")
		if !strings.Contains(line, ch.Addr) && !strings.Contains(line, "ClickHouse") {
			t.Errorf("the failure line of %s names neither ClickHouse nor its address %s: %q", tg, ch.Addr, line)
		}
	}

	ch2, err := chserver.Start(chserver.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatalf("restart ClickHouse on the same data: %v", err)
	}
	mu.Lock()
	current = ch2
	mu.Unlock()
	f.ch = ch2
	f.checkMarks(t, want)

	f.hook.Store(nil)
	if code, out := f.runOut(t, f.env, "backfill", "--from", f.from()); code != 0 {
		t.Fatalf("backfill after ClickHouse came back exited %d:\n%s", code, lastLines(out, 20))
	}
	f.checkTables(t, want, time.UTC)
	f.checkMarks(t, want)
	if n := f.runs(t)["succeeded"]; n != uint64(len(f.targets)) {
		t.Errorf("etl_runs has %d succeeded runs, want %d (the second backfill)", n, len(f.targets))
	}
	f.checkNoSecret(t)
}

// lineOf is the first line of out that starts with prefix.
func lineOf(out, prefix string) string {
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, prefix) {
			return l
		}
	}
	return ""
}

// 2. The process is killed (SIGKILL) in the middle of a backfill: what it
// recorded holds, and the backfill run again completes to the ground
// truth without duplicates.
func TestKilledBackfillResumes(t *testing.T) {
	f := newFixture(t, 22, 3, nil, func(c *simulator.Config) { c.Faults.Latency = 20 * time.Millisecond })
	want := f.want(t)
	p := f.spawn(t, f.with("ETL_CONCURRENCY=2"), "backfill", "--from", f.from())
	eventually(t, time.Minute, "the backfill to read 20 pages", func() bool { return f.sim.Stats().Pages >= 20 })
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != -int(syscall.SIGKILL) {
		t.Fatalf("the killed backfill exited %d; it ended before the kill", code)
	}
	f.checkMarks(t, want)

	f.SetFaultsOff()
	if code, out := f.runOut(t, f.env, "backfill", "--from", f.from()); code != 0 {
		t.Fatalf("backfill after the kill exited %d:\n%s", code, lastLines(out, 20))
	}
	f.checkTables(t, want, time.UTC)
	f.checkMarks(t, want)
	// And an incremental run on top changes nothing.
	if code, out := f.runOut(t, f.env, "run"); code != 0 {
		t.Fatalf("run after the backfill exited %d:\n%s", code, lastLines(out, 20))
	}
	f.checkTables(t, want, time.UTC)
	f.checkNoSecret(t)
}

// SetFaultsOff stops every injected fault.
func (w *world) SetFaultsOff() { w.sim.SetFaults(simulator.Faults{}) }

// 3. The API misbehaves. Each load either completes, with every valid leg
// loaded and every malformed item quarantined, or fails with a line per
// failed target; a backfill without the faults then completes. Either way
// the tables end equal to the ground truth.
func TestAPIFaults(t *testing.T) {
	cases := []struct {
		name   string
		faults simulator.Faults
		sim    func(*simulator.Config)
		env    []string // for the load with faults
		fail   bool     // the load must fail
		calm   []string // for the load without faults
	}{
		{name: "5xx bursts", faults: simulator.Faults{ErrorRate: 0.4}},
		{name: "429 storm with Retry-After", sim: func(c *simulator.Config) { c.RateLimit, c.Burst, c.RetryAfter = 10, 2, true },
			env: []string{"DIALPAD_RATE_LIMIT=20"}, calm: []string{"DIALPAD_RATE_LIMIT=5"}},
		{name: "429 storm without Retry-After", sim: func(c *simulator.Config) { c.RateLimit, c.Burst = 10, 2 },
			env: []string{"DIALPAD_RATE_LIMIT=20"}, calm: []string{"DIALPAD_RATE_LIMIT=5"}},
		{name: "slower than the timeout", faults: simulator.Faults{SlowRate: 0.3, SlowDelay: 3 * time.Second},
			env: []string{"DIALPAD_TIMEOUT=300ms"}},
		{name: "dropped connections", faults: simulator.Faults{DropRate: 0.3}},
		{name: "truncated bodies", faults: simulator.Faults{TruncateRate: 0.3}},
		{name: "malformed items", faults: simulator.Faults{MalformedRate: 0.5}},
		{name: "everything at once", faults: simulator.Faults{ErrorRate: 0.15, DropRate: 0.1, TruncateRate: 0.1,
			MalformedRate: 0.3, SlowRate: 0.1, SlowDelay: 2 * time.Second, Jitter: 20 * time.Millisecond},
			env: []string{"DIALPAD_TIMEOUT=300ms"}},
		{name: "an outage outlasting the retries", faults: simulator.Faults{ErrorRate: 1},
			env: []string{"DIALPAD_MAX_ATTEMPTS=3"}, fail: true},
	}
	for i, c := range cases {
		t.Run(strings.ReplaceAll(c.name, " ", "_"), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, int64(30+i), 2, nil, func(cfg *simulator.Config) {
				cfg.Faults = c.faults
				if c.sim != nil {
					c.sim(cfg)
				}
			})
			want := f.want(t)
			code, out := f.runOut(t, f.with(c.env...), "backfill", "--from", f.from())
			served := f.sim.Stats()
			t.Logf("served %+v", served)
			switch {
			case code == 0 && c.fail:
				t.Fatalf("the backfill succeeded through %s", c.name)
			case code == 0:
			case code == 1:
				checkFailureLines(t, out, "backfill", f.targets)
				f.checkMarks(t, want)
				f.SetFaultsOff()
				if code, out := f.runOut(t, f.with(c.calm...), "backfill", "--from", f.from()); code != 0 {
					t.Fatalf("backfill without faults exited %d:\n%s", code, lastLines(out, 20))
				}
			default:
				t.Fatalf("backfill exited %d, want 0 or 1:\n%s", code, lastLines(out, 20))
			}
			f.checkTables(t, want, time.UTC)
			f.checkMarks(t, want)
			if c.fail && !strings.Contains(lineOf(out, f.targets[0].String()+": "), "HTTP 5") {
				t.Errorf("the failure line does not tell the API failed: %q", lineOf(out, f.targets[0].String()+": "))
			}

			var rejected, rows uint64
			if err := f.conn(t).QueryRow(context.Background(),
				"SELECT (SELECT count() FROM rejected_calls FINAL), (SELECT count() FROM rejected_calls)").Scan(&rejected, &rows); err != nil {
				t.Fatal(err)
			}
			switch {
			case c.faults.MalformedRate == 0 && rows != 0:
				t.Errorf("rejected_calls has %d rows, but no malformed item was served", rows)
			case code == 0 && c.faults.MalformedRate > 0 && c.faults == (simulator.Faults{MalformedRate: c.faults.MalformedRate}):
				// Every malformed item served reached the job exactly once.
				if served.Malformed == 0 {
					t.Fatal("no malformed item was served")
				}
				if rejected != uint64(served.Malformed) {
					t.Errorf("rejected_calls FINAL holds %d items, the simulator served %d malformed ones", rejected, served.Malformed)
				}
				var sum uint64
				if err := f.conn(t).QueryRow(context.Background(),
					"SELECT sum(rejected) FROM etl_runs").Scan(&sum); err != nil {
					t.Fatal(err)
				}
				if sum != uint64(served.Malformed) {
					t.Errorf("etl_runs counts %d rejected items, the simulator served %d malformed ones", sum, served.Malformed)
				}
			case rejected > uint64(served.Malformed):
				t.Errorf("rejected_calls FINAL holds %d items, more than the %d malformed ones served", rejected, served.Malformed)
			}
			f.checkNoSecret(t)
		})
	}
}

// 4. Two runs started together on the same fresh database: both migrate,
// both load, and the warehouse holds each leg, agent day and conversation
// once.
func TestConcurrentRuns(t *testing.T) {
	f := newFixture(t, 23, 3, nil, nil)
	want := f.want(t)
	a := f.spawn(t, f.env, "run")
	b := f.spawn(t, f.env, "run")
	for _, p := range []*proc{a, b} {
		if code := p.wait(t, 2*time.Minute); code != 0 {
			t.Errorf("a concurrent run exited %d:\n%s", code, lastLines(p.out.String(), 20))
		}
	}
	f.checkTables(t, want, time.UTC)
	f.checkMarks(t, want)
	ctx := context.Background()
	conn := f.conn(t)
	for _, q := range []string{
		"SELECT count() - uniqExact(version) FROM schema_migrations",
		"SELECT count() - uniqExact(target_type, target_id) FROM etl_state FINAL",
		"SELECT count() - uniqExact(target_type, target_id, day, agent_id) FROM agent_daily FINAL",
		"SELECT count() - uniqExact(target_type, target_id, conversation_id) FROM conversations FINAL",
		"SELECT count() - uniqExact(target_type, target_id, agent_id) FROM agents FINAL",
		"SELECT count() - uniqExact(target_type, target_id, window_from, window_to) FROM etl_windows FINAL",
	} {
		var dup int64
		if err := conn.QueryRow(ctx, q).Scan(&dup); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if dup != 0 {
			t.Errorf("%d duplicates: %s", dup, q)
		}
	}
	if got := f.runs(t); got["succeeded"] != uint64(2*len(f.targets)) || len(got) != 1 {
		t.Errorf("etl_runs: %v, want %d succeeded", got, 2*len(f.targets))
	}
	f.checkNoSecret(t)
}

// 5. SIGTERM while schedule is loading: it exits 0 well within the window
// timeout, records the run, keeps its marks honest; /healthz and /metrics
// answer while it runs; a second schedule loads and counts its runs and
// legs in /metrics; a run then completes the load to the ground truth.
func TestScheduleStopsOnSIGTERM(t *testing.T) {
	f := newFixture(t, 24, 3, nil, func(c *simulator.Config) { c.Faults.Latency = 150 * time.Millisecond })
	want := f.want(t)
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := f.with("ETL_HTTP_ADDR="+addr, "ETL_WINDOW_TIMEOUT=20s", "ETL_CONCURRENCY=2", "LOG_FORMAT=json")
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + addr + path)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	var scrapes []string
	p := f.spawn(t, env, "schedule")
	eventually(t, time.Minute, "/healthz to answer 200", func() bool { code, _ := get("/healthz"); return code == 200 })
	eventually(t, time.Minute, "a load to be under way", func() bool {
		code, body := get("/metrics")
		return code == 200 && strings.Contains(body, "\ndialpad_etl_running 1\n") && f.sim.Stats().Pages >= 4
	})
	_, m := get("/metrics")
	scrapes = append(scrapes, m)
	for _, tg := range f.targets {
		if !strings.Contains(m, fmt.Sprintf("dialpad_etl_legs_loaded_total{target=%q} 0", tg.String())) {
			t.Errorf("/metrics does not list %s before its first run:\n%s", tg, m)
		}
	}

	sent := time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 20*time.Second); code != 0 { // within ETL_WINDOW_TIMEOUT
		t.Fatalf("schedule exited %d after SIGTERM, want 0:\n%s", code, lastLines(p.out.String(), 20))
	}
	t.Logf("schedule stopped %s after SIGTERM", time.Since(sent).Round(time.Millisecond))
	runs := f.runs(t)
	if runs["cancelled"]+runs["succeeded"] != uint64(len(f.targets)) || runs["cancelled"] == 0 {
		t.Errorf("etl_runs after SIGTERM: %v, want %d runs, cancelled (or succeeded), at least one cancelled", runs, len(f.targets))
	}
	f.checkMarks(t, want)

	// A second schedule, on a fast API, loads and counts what it loaded.
	f.SetFaultsOff()
	// etl_runs keeps whole seconds: the second schedule's runs start in a
	// second of their own.
	began := time.Now().UTC().Truncate(time.Second).Add(time.Second)
	time.Sleep(time.Until(began))
	p = f.spawn(t, env, "schedule")
	eventually(t, time.Minute, "the start-up load to be counted", func() bool {
		_, body := get("/metrics")
		for _, tg := range f.targets {
			if !strings.Contains(body, fmt.Sprintf("dialpad_etl_runs_total{target=%q,kind=\"incremental\",status=\"succeeded\"} 1", tg.String())) {
				return false
			}
		}
		return strings.Contains(body, "\ndialpad_etl_running 0\n")
	})
	_, m = get("/metrics")
	scrapes = append(scrapes, m)
	conn := f.conn(t)
	for _, tg := range f.targets {
		var legs uint64
		if err := conn.QueryRow(context.Background(), `SELECT sum(legs) FROM etl_runs WHERE target_type = ? AND target_id = ?
			AND started_at >= ?`, tg.Type, uint64(tg.ID), began).Scan(&legs); err != nil {
			t.Fatal(err)
		}
		line := fmt.Sprintf("dialpad_etl_legs_loaded_total{target=%q} %d\n", tg.String(), legs)
		if legs == 0 || !strings.Contains(m, line) {
			t.Errorf("/metrics lacks %q:\n%s", line, m)
		}
	}
	if code, body := get("/healthz"); code != 200 || body != "ok\n" {
		t.Errorf("/healthz answered %d %q", code, body)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("idle schedule exited %d after SIGTERM, want 0", code)
	}

	if code, out := f.runOut(t, f.env, "run"); code != 0 {
		t.Fatalf("run after schedule exited %d:\n%s", code, lastLines(out, 20))
	}
	f.checkTables(t, want, time.UTC)
	f.checkMarks(t, want)
	f.checkNoSecret(t, scrapes...)
}

// 6. Bad settings stop the job at start with a line that names the
// variable (and, for a refused token, says so).
func TestBadConfigurationFailsAtStart(t *testing.T) {
	f := newFixture(t, 25, 1, nil, nil)
	cases := []struct {
		name string
		env  []string
		want []string // all in stderr
	}{
		{"unknown target type", []string{"DIALPAD_TARGETS=team:123"}, []string{"DIALPAD_TARGETS", "team"}},
		{"bad time zone", []string{"ETL_TIMEZONE=Mars/Olympus_Mons"}, []string{"ETL_TIMEZONE", "Mars/Olympus_Mons"}},
		{"negative lookback", []string{"ETL_LOOKBACK=-1h"}, []string{"ETL_LOOKBACK", "negative"}},
		{"unreachable ClickHouse", []string{"CLICKHOUSE_ADDR=127.0.0.1:1"}, []string{"cannot reach ClickHouse at 127.0.0.1:1", "CLICKHOUSE_ADDR"}},
		{"wrong token", []string{"DIALPAD_API_TOKEN=" + wrongToken}, []string{"DIALPAD_API_TOKEN", "wrong or expired"}},
		{"bad retries", []string{"DIALPAD_MAX_ATTEMPTS=0"}, []string{"DIALPAD_MAX_ATTEMPTS"}},
	}
	for _, c := range cases {
		for _, cmd := range []string{"run", "backfill"} {
			args := []string{cmd}
			if cmd == "backfill" {
				args = append(args, "--from", f.from())
			}
			code, out := f.runOut(t, f.with(append(c.env, "LOG_LEVEL=info")...), args...)
			if code != 1 {
				t.Errorf("%s with %s exited %d, want 1", cmd, c.name, code)
			}
			// One line (the logs, at info, are of the migrations only).
			var lines []string
			for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
				if !strings.Contains(l, "schema migration applied") {
					lines = append(lines, l)
				}
			}
			msg := lines[len(lines)-1]
			if len(lines) != 1 || !strings.HasPrefix(msg, "dialpad-etl "+cmd+": ") {
				t.Errorf("%s with %s printed more than its error:\n%s", cmd, c.name, out)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("%s with %s: the error %q does not mention %q", cmd, c.name, msg, w)
				}
			}
		}
	}
	f.checkNoSecret(t)
}

// 7. The token appears nowhere, in text or json logs at debug level, even
// when requests fail and are retried: the other tests check their own
// output, tables and metrics; this one adds json logs of a faulty load.
func TestTokenNeverLeaks(t *testing.T) {
	f := newFixture(t, 26, 2, nil, func(c *simulator.Config) {
		c.Faults = simulator.Faults{ErrorRate: 0.2, DropRate: 0.1, TruncateRate: 0.1, MalformedRate: 0.3}
	})
	want := f.want(t)
	for _, format := range []string{"text", "json"} {
		code, out := f.runOut(t, f.with("LOG_FORMAT="+format, "LOG_LEVEL=debug"), "backfill", "--force", "--from", f.from())
		if code != 0 {
			checkFailureLines(t, out, "backfill", f.targets)
		}
		if !strings.Contains(out, "retrying request") {
			t.Errorf("%s debug logs show no retry; the test means nothing:\n%s", format, lastLines(out, 10))
		}
	}
	code, out := f.runOut(t, f.with("DIALPAD_API_TOKEN="+wrongToken, "LOG_FORMAT=json", "LOG_LEVEL=debug"), "run")
	if code != 1 || !strings.Contains(out, "wrong or expired") {
		t.Errorf("a run with a wrong token exited %d:\n%s", code, lastLines(out, 10))
	}
	f.SetFaultsOff()
	if code, out := f.runOut(t, f.env, "backfill", "--from", f.from()); code != 0 {
		t.Fatalf("backfill without faults exited %d:\n%s", code, lastLines(out, 20))
	}
	f.checkTables(t, want, time.UTC)
	if code, _ := f.runOut(t, f.env, "status"); code != 0 {
		t.Errorf("status exited %d", code)
	}
	f.checkNoSecret(t)
}
