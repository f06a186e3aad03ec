package load_test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// exportDays is how many days the export and the list load here.
const exportDays = 60

// Over the simulator, 60 days loaded from Dialpad's records export give
// the derived tables the call list gives, column by column: the counts
// exactly, the durations within what the export's precision allows
// (exportTolerance), the columns the export does not have left out. At
// most ceil(60/31) = 2 exports per target are asked for. A list read of
// the same days afterwards leaves no leg twice and the tables equal to
// the list's, the missing columns filled.
func TestExportBackfillGivesTheListsTables(t *testing.T) {
	ctx := context.Background()
	end := time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC) // the 60 days before: 2026-03-02 to 2026-04-30
	start := end.AddDate(0, 0, -exportDays)
	var posts, polls atomic.Int64
	listed := testkit.NewWorld(t, testkit.Options{
		Sim:  simulator.Config{Seed: 11, Start: start, End: end, CallsPerDay: 12, ExportDelay: -1},
		Zone: "America/Chicago", Now: end.Add(30 * time.Hour),
		Serve: func(h http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				switch {
				case r.Method == http.MethodPost && r.URL.Path == "/api/v2/stats":
					posts.Add(1)
				case r.Method == http.MethodGet && strings.HasPrefix(r.URL.Path, "/api/v2/stats/"):
					polls.Add(1)
				}
				h.ServeHTTP(w, r)
			})
		},
	})
	twin := chtest.NewTwin(t)
	store := twin.Store(warehouse.Options{Location: listed.Location}, warehouse.WithClock(func() time.Time { return listed.Now }))
	if _, err := store.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	job := listed.JobOn(t, store)
	job.Exports = listed.Client
	// The days of the reporting zone that the list's backfill covered.
	from := time.Date(2026, 3, 2, 0, 0, 0, 0, listed.Location)
	to := time.Date(2026, 5, 1, 0, 0, 0, 0, listed.Location)
	for _, r := range job.BackfillExport(ctx, from, to, nil, false) {
		if r.Err != nil {
			t.Fatalf("export backfill of %s: %v", r.Run.Target, r.Err)
		}
	}
	if max := int64(len(listed.Targets) * 2); posts.Load() > max || posts.Load() == 0 {
		t.Errorf("%d exports asked for %d targets; want at most %d (2 per target)", posts.Load(), len(listed.Targets), max)
	}
	t.Logf("%d exports and %d polls for %d targets", posts.Load(), polls.Load(), len(listed.Targets))

	want := listed.Twin.Conn()
	got := twin.Conn()
	// The days compared: those both loads cover whole. The list's load
	// ends at midnight UTC, in the evening of the 30th of April in
	// Chicago; the export has the whole day.
	days := fmt.Sprintf("day >= '%s' AND day < '2026-04-30'", from.Format(time.DateOnly))
	edge := borderline(t, ctx, want, days)
	for _, c := range derivedTables {
		compareTable(t, ctx, want, got, c, days, edge)
	}

	// Two copies that an export could leave and the list would not
	// replace: a leg placed an hour later (a time of day read wrong),
	// which is a row of its own beside the list's, and a leg the list
	// does not have.
	copyLeg := func(over map[string]string) {
		t.Helper()
		var sel []string
		for _, c := range columnsOf(t, ctx, got, "calls") {
			if e, ok := over[c]; ok {
				c = e + " AS " + c
			}
			sel = append(sel, c)
		}
		if err := got.Exec(ctx, `INSERT INTO calls SELECT `+strings.Join(sel, ", ")+` FROM calls FINAL
			WHERE source = 'export' AND day = '2026-03-10' AND is_entry_leg = 1 ORDER BY call_id LIMIT 1`); err != nil {
			t.Fatal(err)
		}
	}
	copyLeg(map[string]string{"started_at": "started_at + 3600", "started_ms": "started_ms + 3600000"})
	copyLeg(map[string]string{"call_id": "call_id + 1", "conversation_id": "call_id + 1"})

	// The list read of the same days replaces every leg from the export.
	for _, r := range job.Backfill(ctx, from, to, nil, true) {
		if r.Err != nil {
			t.Fatalf("list backfill of %s: %v", r.Run.Target, r.Err)
		}
	}
	var copies, exported uint64
	// (An export's copy of the same key as the list's is replaced by it:
	// FINAL does not show it, and a merge drops it.)
	if err := got.QueryRow(ctx, `SELECT count(), countIf(source = 'export') FROM calls FINAL WHERE `+days).Scan(&copies, &exported); err != nil {
		t.Fatal(err)
	}
	var listedLegs uint64
	if err := want.QueryRow(ctx, `SELECT count() FROM calls FINAL WHERE `+days).Scan(&listedLegs); err != nil {
		t.Fatal(err)
	}
	if copies != listedLegs || exported != 0 {
		t.Errorf("after the list read: %d legs (%d from the export); want the list's %d, none from the export",
			copies, exported, listedLegs)
	}
	for _, c := range derivedTables {
		compareTable(t, ctx, want, got, c, days, nil)
	}
}

// edges are the conversations whose entry leg lasted so little longer
// than KPI_SHORT_ABANDON that the export's times, cut to the second, can
// make it a short abandon: their number per conversation, target day and
// target interval (keys as rowsOf makes them). Only after an export may
// their short and long abandons differ, by as many.
type edges map[string]int

func borderline(t *testing.T, ctx context.Context, c driver.Conn, where string) edges {
	t.Helper()
	rows, err := c.Query(ctx, `SELECT toString(target_type), toString(target_id), toString(conversation_id), toString(day),
			toString(toStartOfFifteenMinutes(started_at))
		FROM conversations FINAL
		WHERE `+where+` AND direction = 'inbound' AND answered = 0 AND (target_type, target_id, conversation_id) IN
		(
			SELECT target_type, target_id, conversation_id FROM calls FINAL
			WHERE is_entry_leg = 1 AND total_duration_ms > (SELECT any(short_abandon_ms) FROM conversations)
				AND total_duration_ms <= (SELECT any(short_abandon_ms) FROM conversations) + 1000
		)`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := edges{}
	for rows.Next() {
		var typ, id, conv, day, iv string
		if err := rows.Scan(&typ, &id, &conv, &day, &iv); err != nil {
			t.Fatal(err)
		}
		out["conversations "+typ+" "+id+" "+conv]++
		out["target_daily "+typ+" "+id+" "+day]++
		out["target_intervals "+typ+" "+id+" "+day+" "+iv]++
	}
	t.Logf("%d conversations within a second of a short abandon", len(out)/3)
	return out
}

// derivedTable is a derived table as compared: its key, the columns the
// export cannot give (left out of the comparison after an export), and
// those it gives and the list does not (left out of both).
type derivedTable struct {
	name    string
	key     []string
	missing []string
	more    []string
	legs    string // the column that counts a row's legs or calls, for exportTolerance
}

// derivedTables are the tables derived from the legs. What the export
// has no column for (README, "Backfill from the records export"):
// labels, contact phone. What it has and the list has not, as the events
// tell it (a list backfill without events counts none of it; a list
// read after an export keeps it, as it keeps the events'): the queue's
// start, the first ring and the time on hold, and what is counted from
// them, the wait (from the queue's start) and the handle time (with the
// hold). etl/transform's TestExportLegsAreTheListsLegs checks them leg by
// leg against the simulator's events.
var derivedTables = []derivedTable{
	{name: "agent_daily", key: []string{"target_type", "target_id", "day", "agent_id"}, more: []string{"hold_ms"}, legs: "total_calls"},
	{name: "calls_daily", key: []string{"target_type", "target_id", "day", "agent_id", "direction", "status"}, legs: "legs"},
	{name: "conversations", key: []string{"target_type", "target_id", "conversation_id"},
		missing: []string{"labels", "contact_phone"},
		more:    []string{"queued_ms", "first_rang_ms", "hold_ms", "wait_ms", "handle_ms"}, legs: "legs"},
	{name: "target_daily", key: []string{"target_type", "target_id", "day"}, more: []string{"total_wait_ms", "total_handle_ms"},
		legs: "inbound"},
	{name: "target_intervals", key: []string{"target_type", "target_id", "day", "interval_start"},
		more: []string{"total_wait_ms", "total_handle_ms"}, legs: "offered"},
}

// notCompared are columns of when a row was written.
var notCompared = []string{"version", "loaded_at"}

// exportTolerance is how far a duration column may be from the list's
// after an export, in a row of legs legs: the export writes some times
// of day in whole seconds (date_rang and date_ended, cut to the second)
// and talk_duration in hundredths of a minute (within 0.3 s), so each
// leg's durations can be up to a second off.
func exportTolerance(col string, legs float64) float64 {
	if strings.HasPrefix(col, "avg_") {
		return 1000 // an average is off by no more than each of its legs
	}
	if strings.HasSuffix(col, "_ms") {
		return 1000 * math.Max(legs, 1)
	}
	return 0
}

// compareTable compares table on both connections, row by row by its
// key, every column but those of notCompared, more and, after an export
// (edge not nil), missing; after an export, abandons may differ as edge
// allows.
func compareTable(t *testing.T, ctx context.Context, want, got driver.Conn, tb derivedTable, where string, edge edges) {
	t.Helper()
	exported := edge != nil
	cols := columnsOf(t, ctx, want, tb.name)
	var keep []string
	for _, c := range cols {
		if slices.Contains(notCompared, c) || slices.Contains(tb.more, c) || (exported && slices.Contains(tb.missing, c)) {
			continue
		}
		keep = append(keep, c)
	}
	a, b := rowsOf(t, ctx, want, tb, keep, where), rowsOf(t, ctx, got, tb, keep, where)
	if len(a) == 0 {
		t.Fatalf("%s: the list's has no rows", tb.name)
	}
	diffs := 0
	for key, wr := range a {
		gr, ok := b[key]
		if !ok {
			diffs++
			if diffs <= 10 {
				t.Errorf("%s %s: missing", tb.name, key)
			}
			continue
		}
		legs := 1.0
		if i := slices.Index(keep, tb.legs); i >= 0 {
			legs, _ = strconv.ParseFloat(wr[i], 64)
		}
		for i, c := range keep {
			if wr[i] == gr[i] {
				continue
			}
			x, xerr := strconv.ParseFloat(wr[i], 64)
			y, yerr := strconv.ParseFloat(gr[i], 64)
			if tol := exportTolerance(c, legs); exported && xerr == nil && yerr == nil && math.Abs(x-y) <= tol {
				continue
			}
			if n := edge[tb.name+" "+key]; (c == "short_abandoned" || c == "abandoned") && xerr == nil && yerr == nil && math.Abs(x-y) <= float64(n) {
				continue
			}
			diffs++
			if diffs <= 10 {
				t.Errorf("%s %s: %s is %s, the list's %s", tb.name, key, c, gr[i], wr[i])
			}
		}
	}
	for key := range b {
		if _, ok := a[key]; !ok {
			diffs++
			if diffs <= 10 {
				t.Errorf("%s %s: not in the list's", tb.name, key)
			}
		}
	}
	if diffs > 10 {
		t.Errorf("%s: %d differences in all", tb.name, diffs)
	}
}

func columnsOf(t *testing.T, ctx context.Context, c driver.Conn, table string) []string {
	t.Helper()
	rows, err := c.Query(ctx, `SELECT name FROM system.columns WHERE database = currentDatabase() AND table = ?`, table)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		out = append(out, n)
	}
	return out
}

// rowsOf reads cols of table FINAL where, as strings, by key.
func rowsOf(t *testing.T, ctx context.Context, c driver.Conn, tb derivedTable, cols []string, where string) map[string][]string {
	t.Helper()
	var sel []string
	for _, col := range cols {
		if col == "csat_comments" {
			// The export joins a survey's comments by line breaks: a comment
			// with a line break of its own comes back as two.
			sel = append(sel, "arrayStringConcat(csat_comments, '\\n')")
			continue
		}
		sel = append(sel, "toString("+col+")")
	}
	rows, err := c.Query(ctx, "SELECT "+strings.Join(sel, ", ")+" FROM "+tb.name+" FINAL WHERE "+where)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string][]string{}
	for rows.Next() {
		vals := make([]string, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		var key []string
		for _, k := range tb.key {
			key = append(key, vals[slices.Index(cols, k)])
		}
		out[strings.Join(key, " ")] = vals
	}
	return out
}
