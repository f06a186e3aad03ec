package derive_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

// Every statement the store sends, on ClickHouse 18.16 and on the current
// release at once (chtest.Twin): a statement that one engine refuses or
// answers differently fails the test, naming it and both answers. At the
// end every table must hold the same rows on both.
func TestEveryStatementOnBothEngines(t *testing.T) {
	ctx := context.Background()
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	twin := chtest.NewTwin(t)
	s := twin.Store(warehouse.Options{Location: chicago})

	migs, _ := schema.Migrations()
	if applied, err := s.Migrate(ctx); err != nil || len(applied) != len(migs) {
		t.Fatalf("migrate from empty applied %v, %v; want all %d files", applied, err, len(migs))
	}
	if again, err := s.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("second migrate applied %v, %v; want nothing", again, err)
	}

	// The hand-built legs, one of them with every character that SQL text
	// must escape in its contact's name and raw JSON.
	calls := handBuiltLegs()
	calls[0].Contact.Name = "O'Brien \\ \"Bob\"\ttab\nline ü"
	load(t, s, calls)
	calls[0].Raw = []byte(`{"call_id":"1001","note":"it's \\ \u00fc"}`)
	load(t, s, calls[:1])

	day := time.Date(2026, 1, 15, 0, 0, 0, 0, chicago)
	window := dialpad.Window{From: day.UTC(), To: day.AddDate(0, 0, 1).UTC()}
	if err := s.AdvanceHighWater(ctx, dept, window.To); err != nil {
		t.Fatal(err)
	}
	if mark, ok, err := s.HighWater(ctx, dept); err != nil || !ok || !mark.Equal(window.To) {
		t.Errorf("mark %v, %v, %v; want %v", mark, ok, err, window.To)
	}
	if err := s.MarkWindowLoaded(ctx, dept, window, 9, transform.SourceList); err != nil {
		t.Fatal(err)
	}
	if got, err := s.LoadedWindows(ctx, dept, dialpad.Window{From: window.From.Add(-time.Hour), To: window.To}); err != nil || !got[window] || len(got) != 1 {
		t.Errorf("loaded windows %v, %v; want %v", got, err, window)
	}
	run := warehouse.Run{ID: "r1", Target: dept, Kind: "backfill", Window: window, Started: window.To,
		Finished: window.To.Add(time.Minute), Status: "failed", Windows: 1, Pages: 2, Requests: 3, Legs: 13,
		Rejected: 1, Error: "page 2: it's a \\ 429", Host: "h"}
	if err := s.RecordRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	if runs, err := s.RecentRuns(ctx, dept, 5); err != nil || len(runs) != 1 || runs[0].Error != run.Error || runs[0].Legs != 13 {
		t.Errorf("recent runs %+v, %v; want the one recorded", runs, err)
	}
	if err := s.WriteRejected(ctx, []warehouse.Rejected{{Target: dept, Reason: "no call_id", Raw: []byte(`{"x":"'\\"}`), RunID: "r1"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.WriteAgents(ctx, dept, []warehouse.Agent{{ID: ana, Kind: "user", DisplayName: "Ana", Emails: []string{"a@x", "it's"}},
		{ID: ben, Kind: "user", DisplayName: "Ben"}}); err != nil {
		t.Fatal(err)
	}

	counts, err := s.Counts(ctx, dept)
	if want := map[string]uint64{"calls": 13, "conversations": 7, "agent_daily": 6, "rejected_calls": 1}; err != nil || !reflect.DeepEqual(counts, want) {
		t.Errorf("counts %v, %v; want %v", counts, err, want)
	}
	from := time.Date(2026, 1, 14, 0, 0, 0, 0, chicago)
	if cards, err := s.Cards(ctx, dept, from, day); err != nil || cards != (warehouse.Cards{Inbound: 4, Outbound: 3, Missed: 2, Total: 7}) {
		t.Errorf("cards %+v, %v; want 4 inbound, 3 outbound, 2 missed of 7 (callmodel_test)", cards, err)
	}
	agents, err := s.AgentActivity(ctx, dept, from, day)
	if err != nil || len(agents) != 3 || agents[0].Total != 3 || agents[2].Total != 3 {
		t.Errorf("agent activity %+v, %v; want Ana, Ben and Cy with 3 legs each", agents, err)
	}

	if !twin.Both() {
		return
	}
	// Unmerged copies of a key are merged when each engine pleases: compare
	// what FINAL reads.
	tables, err := s.DB().Query(ctx, "SELECT name, engine LIKE 'Replacing%' FROM system.tables WHERE database = currentDatabase() ORDER BY name")
	if err != nil {
		t.Fatal(err)
	}
	defer tables.Close()
	n := 0
	for tables.Next() {
		var name string
		var replacing uint8
		if err := tables.Scan(&name, &replacing); err != nil {
			t.Fatal(err)
		}
		n++
		q := "SELECT * FROM " + name
		if replacing == 1 {
			q += " FINAL"
		}
		if err := twin.Compare(ctx, q); err != nil {
			t.Errorf("table %s: %v", name, err)
		}
	}
	if n < 9 {
		t.Errorf("compared %d tables, want every table of the schema", n)
	}
}
