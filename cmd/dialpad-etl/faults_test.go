package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// The fault tests run the binary against the simulator over real HTTP and
// a real ClickHouse, break one thing at a time, and check what a user
// would see: the exit code, the error lines, and tables equal to the
// simulator's ground truth once the faults are gone.

// 1. ClickHouse dies in the middle of a backfill: the backfill fails with
// a line per target that names the failing write, no mark or loaded window
// claims what was not written, and once ClickHouse is back the same
// backfill completes to the ground truth.
func TestClickHouseStopsDuringBackfill(t *testing.T) {
	chtest.SkipShort(t, "a ClickHouse server of its own")
	if _, err := chserver.Find(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("this test runs a ClickHouse of its own: %v", err)
		}
		t.Skipf("this test runs a ClickHouse of its own: %v; %s", err, chtest.InstallHint)
	}
	dir, port := t.TempDir(), testkit.FreeRun(t, 3)
	ch, err := chserver.Start(chserver.Options{Dir: dir, Port: port})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	current := ch
	t.Cleanup(func() { mu.Lock(); current.Stop(); mu.Unlock() })

	f := newPastFixture(t, 21, 3, ch, func(c *simulator.Config) { c.Faults.Latency = 50 * time.Millisecond })
	want := f.want(t)
	stopped := make(chan struct{})
	f.onCallPage(10, func() { ch.Stop(); close(stopped) })
	code, out := f.runOut(t, f.with("ETL_CONCURRENCY=2"), f.backfill()...)
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
	if code, out := f.runOut(t, f.env, f.backfill()...); code != 0 {
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
	testkit.Eventually(t, time.Minute, "the backfill to read 20 pages", func() bool { return f.sim.Stats().Pages >= 20 })
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
			f := newPastFixture(t, int64(30+i), 2, nil, func(cfg *simulator.Config) {
				cfg.Faults = c.faults
				if c.sim != nil {
					c.sim(cfg)
				}
			})
			want := f.want(t)
			code, out := f.runOut(t, f.with(c.env...), f.backfill()...)
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
				if code, out := f.runOut(t, f.with(c.calm...), f.backfill()...); code != 0 {
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

// 4. Two runs started together on the same fresh database: both migrate
// (one applies the schema), each target is loaded by one of them while
// the other skips it, and the warehouse holds each leg, agent day and
// conversation once.
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
	// A run that starts after the other has let a target go loads it too.
	if got := f.runs(t); got["succeeded"] < uint64(len(f.targets)) || got["succeeded"]+got["skipped"] != uint64(2*len(f.targets)) {
		t.Errorf("etl_runs: %v, want every target loaded once and skipped or loaded again by the other run", got)
	}
	// The leases let no two loads of a target overlap.
	rows, err := conn.Query(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)), started_at, finished_at
		FROM etl_runs WHERE status = 'succeeded' ORDER BY started_at`)
	if err != nil {
		t.Fatal(err)
	}
	lastEnd := map[string]time.Time{}
	for rows.Next() {
		var target string
		var from, to time.Time
		if err := rows.Scan(&target, &from, &to); err != nil {
			t.Fatal(err)
		}
		if end, ok := lastEnd[target]; ok && from.Before(end) {
			t.Errorf("%s was loaded by both runs at once (a load from %s, the other until %s)", target, from, end)
		}
		lastEnd[target] = to
	}
	rows.Close()
	f.checkNoSecret(t)
}

// 5. SIGTERM while schedule is loading: it exits 0 well within the window
// timeout, records the run, keeps its marks honest; /healthz and /metrics
// answer while it runs; a second schedule loads and counts its runs and
// legs in /metrics; a run then completes the load to the ground truth.
func TestScheduleStopsOnSIGTERM(t *testing.T) {
	f := newFixture(t, 24, 3, nil, func(c *simulator.Config) { c.Faults.Latency = 150 * time.Millisecond })
	want := f.want(t)
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
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
	testkit.Eventually(t, time.Minute, "/healthz to answer 200", func() bool { code, _ := get("/healthz"); return code == 200 })
	testkit.Eventually(t, time.Minute, "a load to be under way", func() bool {
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
	testkit.Eventually(t, time.Minute, "the start-up load to be counted", func() bool {
		_, body := get("/metrics")
		for _, tg := range f.targets {
			if !strings.Contains(body, fmt.Sprintf("dialpad_etl_runs_total{kind=\"incremental\",status=\"succeeded\",target=%q} 1", tg.String())) {
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
	for _, want := range []string{"\ngo_goroutines ", "\nprocess_start_time_seconds ", "\ndialpad_etl_start_time_seconds ",
		"\ndialpad_etl_api_request_duration_seconds_count{code=\"200\"} ", "\ndialpad_etl_last_success_timestamp_seconds{target="} {
		if !strings.Contains(m, want) {
			t.Errorf("/metrics lacks %q", strings.TrimSpace(want))
		}
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
		{"lookback under an hour", []string{"ETL_LOOKBACK=30m"}, []string{"ETL_LOOKBACK", "at least 1h"}},
		{"token over plain http", []string{"DIALPAD_BASE_URL=http://dialpad.com"}, []string{"DIALPAD_BASE_URL", "unencrypted"}},
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
	f := newPastFixture(t, 26, 2, nil, func(c *simulator.Config) {
		c.Faults = simulator.Faults{ErrorRate: 0.2, DropRate: 0.1, TruncateRate: 0.1, MalformedRate: 0.3}
	})
	want := f.want(t)
	for _, format := range []string{"text", "json"} {
		code, out := f.runOut(t, f.with("LOG_FORMAT="+format, "LOG_LEVEL=debug"), f.backfill("--force")...)
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
	if code, out := f.runOut(t, f.env, f.backfill()...); code != 0 {
		t.Fatalf("backfill without faults exited %d:\n%s", code, lastLines(out, 20))
	}
	f.checkTables(t, want, time.UTC)
	if code, _ := f.runOut(t, f.env, "status"); code != 0 {
		t.Errorf("status exited %d", code)
	}
	f.checkNoSecret(t)
}
