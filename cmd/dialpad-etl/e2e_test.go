package main

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/transformtest"
)

// binary is the dialpad-etl built for the end-to-end tests.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dialpad-etl-e2e-")
	if err != nil {
		panic(err)
	}
	binary = filepath.Join(dir, "dialpad-etl")
	out, err := exec.Command("go", "build", "-o", binary, ".").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "build dialpad-etl: %v\n%s", err, out)
		os.Exit(1)
	}
	code := chtest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

// world is a simulated Dialpad whose clock the test moves, and a fresh
// ClickHouse database.
type world struct {
	sim   *simulator.Sim
	srv   *httptest.Server
	clock atomic.Int64 // the simulator's now, unix ms
	addr  string
	db    string
	env   []string
	dir   string
	ch    *chserver.Server // a dedicated server; nil for chtest's shared one
	// hook, when set, sees every request before the simulator does.
	hook atomic.Pointer[func(*http.Request)]
	// feedback is what the events streamed told of the legs after they
	// ended (checkTables' truth of their CSAT and dispositions).
	feedback map[transformtest.FeedbackKey]transformtest.Feedback

	mu     sync.Mutex
	output bytes.Buffer // everything the binary printed
}

func newWorld(t *testing.T, cfg simulator.Config, zone string) *world {
	return newWorldOn(t, cfg, zone, nil)
}

// newWorldOn is newWorld with its database on ch (chtest's server when nil).
func newWorldOn(t *testing.T, cfg simulator.Config, zone string, ch *chserver.Server) *world {
	t.Helper()
	w := &world{dir: t.TempDir(), ch: ch}
	cfg.Now = func() time.Time { return time.UnixMilli(w.clock.Load()) }
	w.clock.Store(cfg.End.UnixMilli())
	sim, err := simulator.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	w.sim = sim
	w.srv = httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if h := w.hook.Load(); h != nil {
			(*h)(r)
		}
		sim.ServeHTTP(rw, r)
	}))
	t.Cleanup(w.srv.Close)
	if ch == nil {
		w.addr, w.db = chtest.Database(t)
	} else {
		w.addr, w.db = ch.Addr, "t_"+nonWordRe.ReplaceAllString(t.Name(), "_")
	}
	w.env = []string{
		"PATH=" + os.Getenv("PATH"),
		"DIALPAD_BASE_URL=" + w.srv.URL,
		"DIALPAD_API_TOKEN=" + cfg.Token,
		"DIALPAD_RATE_LIMIT=20",
		"CLICKHOUSE_ADDR=" + w.addr,
		"CLICKHOUSE_DATABASE=" + w.db,
		"ETL_TIMEZONE=" + zone,
		"LOG_LEVEL=debug",
	}
	return w
}

func (w *world) setClock(t time.Time) { w.clock.Store(t.UnixMilli()) }

// run runs the binary and returns its exit code.
func (w *world) run(t *testing.T, env []string, args ...string) int {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Dir = w.dir
	cmd.Env = append(append([]string{}, w.env...), env...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	w.record(out.Bytes())
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	if code != 0 {
		t.Logf("dialpad-etl %s exited %d:\n%s", strings.Join(args, " "), code, lastLines(out.String(), 15))
	}
	return code
}

// record adds what a process printed to the world's output.
func (w *world) record(b []byte) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.output.Write(b)
}

// printed is everything the binary printed so far.
func (w *world) printed() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.output.String()
}

// conn is a connection to the world's database, closed when the test ends.
func (w *world) conn(t *testing.T) clickhouse.Conn {
	t.Helper()
	if w.ch == nil {
		return chtest.Conn(t, w.db)
	}
	conn, err := w.ch.Open(w.db)
	if err != nil {
		t.Fatalf("connect to ClickHouse at %s: %v", w.ch.Addr, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// truth is what the warehouse must hold for targets: the simulator's legs
// of the conversations that started in [from, to), shaped per leg, and the
// aggregates reckoned from them in plain Go.
func (w *world) truth(t *testing.T, targets []dialpad.Target, from, to time.Time, loc *time.Location) []transform.Leg {
	t.Helper()
	var legs []transform.Leg
	for _, tg := range targets {
		// to is where the simulator's traffic ends: a conversation that
		// started before it may have later legs (a transfer, an agent rung
		// after the queue), which the loads, reading up to now, see too.
		for _, raw := range w.sim.Legs(tg, from, to.Add(time.Hour)) {
			c, err := wire.DecodeCall(raw)
			if err != nil {
				t.Fatalf("the simulator's own leg does not decode: %v", err)
			}
			legs = append(legs, transform.NewLeg(tg, &c, loc, nil))
		}
	}
	return legs
}

// checkTables compares calls, agent_daily and conversations with the truth.
func (w *world) checkTables(t *testing.T, want []transform.Leg, loc *time.Location) {
	t.Helper()
	ctx := context.Background()
	conn := w.conn(t)

	type legKey struct {
		target string
		id     uint64
	}
	wantLegs := map[legKey]transform.Leg{}
	for _, l := range want {
		wantLegs[legKey{l.Target.String(), l.CallID}] = l
	}
	var rows, distinct uint64
	if err := conn.QueryRow(ctx, "SELECT count(), uniqExact(target_type, target_id, call_id) FROM calls FINAL").Scan(&rows, &distinct); err != nil {
		t.Fatal(err)
	}
	if rows != distinct {
		t.Errorf("calls FINAL has %d rows for %d legs: duplicates", rows, distinct)
	}
	got, err := conn.Query(ctx, `SELECT concat(toString(target_type), ':', toString(target_id)), call_id, conversation_id,
		toString(status), toString(day), agent_id, started_ms FROM calls FINAL`)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[legKey]bool{}
	bad := 0
	for got.Next() {
		var k legKey
		var conv, agent uint64
		var status, day string
		var started int64
		if err := got.Scan(&k.target, &k.id, &conv, &status, &day, &agent, &started); err != nil {
			t.Fatal(err)
		}
		seen[k] = true
		l, ok := wantLegs[k]
		switch {
		case !ok:
			bad++
			if bad < 5 {
				t.Errorf("leg %v, started %s, is in calls but not in the simulator's window", k, time.UnixMilli(started).UTC().Format(time.RFC3339))
			}
		case l.ConversationID != conv || l.Status != status || l.Day.Format(time.DateOnly) != day || l.AgentID != agent:
			bad++
			if bad < 5 {
				t.Errorf("leg %v: got conversation %d status %s day %s agent %d; want %d %s %s %d",
					k, conv, status, day, agent, l.ConversationID, l.Status, l.Day.Format(time.DateOnly), l.AgentID)
			}
		}
	}
	got.Close()
	for k := range wantLegs {
		if !seen[k] {
			bad++
			if bad < 10 {
				t.Errorf("leg %v is missing from calls", k)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d legs differ of %d expected", bad, len(wantLegs))
	}

	gotDays, err := transformtest.StoredAgentDays(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	wantDays := transformtest.AgentDays(want)
	if diff := transformtest.FirstDiff(gotDays, wantDays); diff != "" {
		t.Errorf("agent_daily differs from the call model (%d rows, want %d): %s", len(gotDays), len(wantDays), diff)
	}
	gotConvs, err := transformtest.StoredConversations(ctx, conn)
	if err != nil {
		t.Fatal(err)
	}
	wantConvs := transformtest.Seconds(transformtest.ConversationsWith(want, loc, w.feedback))
	if diff := transformtest.FirstDiff(gotConvs, wantConvs); diff != "" {
		t.Errorf("conversations differ from the call model (%d rows, want %d): %s", len(gotConvs), len(wantConvs), diff)
	}
}

// TestBackfillRunsAndRerunEqualTheSimulator is the whole job end to end:
// a backfill, two incremental runs with calls ending in between, and the
// same backfill again, in a reporting zone that is not UTC.
func TestBackfillRunsAndRerunEqualTheSimulator(t *testing.T) {
	chicago, _ := time.LoadLocation("America/Chicago")
	// The traffic ends a little before now, so every load ends after it.
	end := time.Now().UTC().Add(-10 * time.Minute).Truncate(time.Minute)
	start := time.Date(end.Year(), end.Month(), end.Day(), 0, 0, 0, 0, chicago).AddDate(0, 0, -5)
	w := newWorld(t, simulator.Config{Seed: 11, Start: start, End: end, CallsPerDay: 60, Token: "e2e-token", RateLimit: -1}, "America/Chicago")

	// One agent of the first department is a target too: its legs are kept
	// under it as well as under the department.
	client, err := dialpad.New(w.srv.URL, "e2e-token")
	if err != nil {
		t.Fatal(err)
	}
	groups := w.sim.Targets()
	ops, err := client.Operators(context.Background(), groups[0])
	if err != nil || len(ops) == 0 {
		t.Fatalf("operators of %s: %v", groups[0], err)
	}
	targets := append(append([]dialpad.Target{}, groups...), dialpad.Target{Type: "user", ID: ops[0].ID})
	var list []string
	for _, tg := range targets {
		list = append(list, tg.String())
	}
	env := []string{"DIALPAD_TARGETS=" + strings.Join(list, ","), "ETL_START=" + start.Format(time.RFC3339)}

	// The backfill sees only what had ended two hours before the traffic
	// stopped; each run sees more.
	w.setClock(end.Add(-2 * time.Hour))
	if code := w.run(t, env, "backfill", "--from", start.In(chicago).Format(time.DateOnly)); code != 0 {
		t.Fatalf("backfill exited %d", code)
	}
	w.setClock(end.Add(-1 * time.Hour))
	if code := w.run(t, env, "run"); code != 0 {
		t.Fatalf("first run exited %d", code)
	}
	w.setClock(end.Add(24 * time.Hour)) // every call has ended
	if code := w.run(t, env, "run"); code != 0 {
		t.Fatalf("second run exited %d", code)
	}
	if code := w.run(t, env, "backfill", "--from", start.In(chicago).Format(time.DateOnly)); code != 0 {
		t.Fatalf("backfill again exited %d", code)
	}

	want := w.truth(t, targets, start, end, chicago)
	if len(want) < 500 {
		t.Fatalf("the simulator made only %d legs; the test needs more to mean something", len(want))
	}
	w.checkTables(t, want, chicago)

	// The terminal report shows the same cards as the call model.
	before := w.output.Len()
	if code := w.run(t, env, "report", "--from", start.In(chicago).Format(time.DateOnly), "--to", end.In(chicago).Format(time.DateOnly)); code != 0 {
		t.Fatalf("report exited %d", code)
	}
	report := w.output.String()[before:]
	for _, tg := range groups {
		var in, out, missed, total int
		for _, c := range transformtest.Conversations(want, chicago) {
			if c.Target != tg {
				continue
			}
			total++
			if c.Direction == "inbound" {
				in++
				if c.Outcome == "missed" || c.Outcome == "voicemail" {
					missed++
				}
			} else {
				out++
			}
		}
		card := fmt.Sprintf("Inbound %d   Outbound %d   Missed %d   Total %d", in, out, missed, total)
		at := strings.Index(report, tg.String()+",")
		if at < 0 {
			t.Errorf("report has no section for %s:\n%s", tg, lastLines(report, 20))
			continue
		}
		if section := report[at:]; !strings.Contains(section, card) {
			t.Errorf("report for %s lacks %q:\n%s", tg, card, lastLines(section, 20))
		}
	}

	conn := chtest.Conn(t, w.db)
	var runs, failed uint64
	if err := conn.QueryRow(context.Background(), "SELECT count(), countIf(status != 'succeeded') FROM etl_runs").Scan(&runs, &failed); err != nil {
		t.Fatal(err)
	}
	if runs != uint64(4*len(targets)) || failed != 0 {
		t.Errorf("etl_runs has %d runs (%d not succeeded), want %d succeeded", runs, failed, 4*len(targets))
	}

	// ETL_TIMEZONE changes: loads refuse to start until rebuild has
	// counted the days again, which asks nothing of Dialpad.
	inUTC := append(append([]string{}, env...), "ETL_TIMEZONE=UTC")
	code, out := w.runOut(t, inUTC, "run")
	if code == 0 || !strings.Contains(out, "ETL_TIMEZONE is UTC, but the warehouse's days were counted in America/Chicago") ||
		!strings.Contains(out, "run 'dialpad-etl rebuild'") {
		t.Errorf("run after a zone change exited %d:\n%s\nwant a refusal naming ETL_TIMEZONE and dialpad-etl rebuild", code, lastLines(out, 5))
	}
	requests := w.sim.Stats().Requests
	code, out = w.runOut(t, inUTC, "rebuild")
	if code != 0 || !regexp.MustCompile(`rebuild: aggregates (\d+)/(\d+) `).MatchString(out) || !strings.Contains(out, "now counted in UTC") {
		t.Errorf("rebuild exited %d:\n%s", code, lastLines(out, 5))
	}
	if n := w.sim.Stats().Requests; n != requests {
		t.Errorf("rebuild sent %d requests to Dialpad, want none", n-requests)
	}
	w.checkTables(t, w.truth(t, targets, start, end, time.UTC), time.UTC)
	if code := w.run(t, inUTC, "run"); code != 0 {
		t.Errorf("run in UTC after the rebuild exited %d", code)
	}
	if strings.Contains(w.printed(), "e2e-token") {
		t.Error("the token appears in the job's output")
	}
}
