package chcluster_test

import (
	"context"
	"fmt"
	"os"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/ccstatus"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/grafana"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
	"github.com/dialpad-etl/dialpad-etl/internal/chcluster"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const token = "tok-SECRET-cluster"

// startCluster starts 2 shards × 2 replicas of ClickHouse 18.16 and a
// ZooKeeper, stopped when the test ends. Without ZooKeeper the test is
// skipped, or fails when CI is set.
func startCluster(t *testing.T) *chcluster.Cluster {
	t.Helper()
	chtest.SkipShort(t, "a ClickHouse cluster and ZooKeeper")
	if err := chcluster.Available(); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no cluster for the test: %v", err)
		}
		t.Skipf("no cluster for the test: %v; %s", err, chcluster.InstallHint)
	}
	c, err := chcluster.Start(chcluster.Options{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Stop)
	return c
}

// The warehouse on a cluster holds exactly what it holds on one server,
// after a load during which the replica that a shard's writes and
// recomputes go to first was killed, and the dashboards show the same.
func TestClusterHoldsWhatOneServerHolds(t *testing.T) {
	c := startCluster(t)
	ctx := context.Background()
	loc, _ := time.LoadLocation("America/New_York")
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, loc)
	end := start.AddDate(0, 0, 5)

	// The simulated company, loaded into one server.
	w := testkit.NewWorld(t, testkit.Options{Sim: simulator.Config{Seed: 3, Start: start, End: end, CallsPerDay: 150, Token: token},
		Zone: loc.String(), Now: end.Add(3 * time.Hour), Only1816: true})
	single := w.Store
	var total uint64
	if err := single.DB().QueryRow(ctx, "SELECT count() FROM calls FINAL").Scan(&total); err != nil {
		t.Fatal(err)
	}

	// The cluster, through every node in turn (the first while it answers).
	// More tries of an insert than the default 4, spread over some 95 s:
	// after the replica is killed, a Distributed insert through node 0
	// can fail on it ("Connection reset by peer", "Attempt to read after
	// eof") until it is back, which the test sees to after 20 s.
	store, err := warehouse.Open(ctx, warehouse.Options{Addr: strings.Join(c.Addrs(), ","), Database: "dialpad",
		Cluster: c.Name, Location: loc, SendAttempts: 20}, warehouse.WithClock(func() time.Time { return w.Now }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	began := time.Now()
	applied, err := store.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("migrations on the cluster: %d in %s", len(applied), time.Since(began).Round(time.Millisecond))
	if again, err := store.Migrate(ctx); err != nil || len(again) != 0 {
		t.Fatalf("migrations run again: applied %v, %v; want none", again, err)
	}
	checkSchemaOnEveryNode(t, c, single)

	// The load, and mid-way the first replica of shard 2 (not the node
	// the job is connected to) is killed; it comes back once the load is
	// done, or after 20 s if the load waits for it (a part that only it
	// had when it died).
	victim := c.Nodes[2]
	if victim.Shard != 2 || victim.Replica != 1 {
		t.Fatalf("node 2 is shard %d replica %d", victim.Shard, victim.Replica)
	}
	killed := make(chan struct{})
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		conn := nodeConn(t, c.Nodes[0], "dialpad")
		for {
			var n uint64
			_ = conn.QueryRow(ctx, "SELECT count() FROM calls").Scan(&n)
			if n >= total/3 {
				break
			}
			select {
			case <-done:
				t.Errorf("the load ended before a third of the legs were seen (%d of %d)", n, total)
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		victim.Kill()
		close(killed)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			t.Log("the load is waiting for the killed replica: starting it again")
		}
		if err := victim.Start(); err != nil {
			t.Error(err)
		}
	}()
	for _, r := range w.JobOn(t, store).Backfill(ctx, start, end, nil, true) {
		if r.Err != nil {
			t.Errorf("cluster: loading %s: %v", r.Run.Target, r.Err)
		}
	}
	close(done)
	wg.Wait()
	select {
	case <-killed:
	default:
		t.Fatal("no replica was killed during the load")
	}
	if t.Failed() {
		t.FailNow()
	}

	// Both shards hold targets, and each target's rows lie on one shard.
	shardsOf := map[string][]int{}
	for _, n := range c.Nodes {
		if n.Replica != 1 {
			continue
		}
		for _, tg := range column(t, nodeConn(t, n, "dialpad"), "SELECT DISTINCT concat(toString(target_type), ':', toString(target_id)) FROM calls_local") {
			shardsOf[tg] = append(shardsOf[tg], n.Shard)
		}
	}
	used := map[int]bool{}
	for tg, shards := range shardsOf {
		if len(shards) != 1 {
			t.Errorf("target %s has legs on shards %v", tg, shards)
		}
		used[shards[0]] = true
	}
	if len(used) != 2 {
		t.Errorf("the targets' legs lie on shards %v, want both", shardsOf)
	}

	// The killed replica has caught up: it holds what its peer holds.
	peer := c.Nodes[3]
	for _, table := range []string{"calls", "agent_daily", "calls_daily", "conversations", "target_daily"} {
		a, b := nodeConn(t, victim, "dialpad"), nodeConn(t, peer, "dialpad")
		for _, conn := range []driver.Conn{a, b} {
			if err := conn.Exec(ctx, "SYSTEM SYNC REPLICA "+table+"_local"); err != nil {
				t.Fatal(err)
			}
		}
		q := "SELECT * FROM " + table + "_local FINAL"
		if got, want := rows(t, a, q), rows(t, b, q); !slices.Equal(got, want) {
			t.Errorf("%s on the restarted replica: %d rows, its peer %d; first difference: %s", table, len(got), len(want), firstDiff(got, want))
		}
	}

	// Eight agents of the call center wrap up on its busiest day, four of
	// them on duty for another call center too: their after-call work,
	// stored by agent (on both shards), reaches the call center's staffing
	// on its shard as on one server.
	var cc dialpad.Target
	for _, tg := range w.Targets {
		if tg.Type == "callcenter" {
			cc = tg
		}
	}
	day := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC)
	at := time.Date(2026, 11, 24, 10, 0, 0, 0, loc)
	// A read through a Distributed table may go to either replica: on the
	// cluster, each step reads once every replica has what the last wrote.
	synced := func(s *warehouse.Store, tables ...string) {
		t.Helper()
		if s != store {
			return
		}
		for _, n := range c.Nodes {
			for _, table := range tables {
				if err := nodeConn(t, n, "dialpad").Exec(ctx, "SYSTEM SYNC REPLICA "+table+"_local"); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	for _, s := range []*warehouse.Store{single, store} {
		for agent := uint64(1); agent <= 8; agent++ {
			centers := []uint64{uint64(cc.ID)}
			if agent%2 == 0 {
				centers = append(centers, 77)
			}
			from, to := at.Add(time.Duration(agent)*time.Minute), at.Add(time.Duration(agent+10)*time.Minute)
			if err := s.DB().InsertRow(ctx, "agent_status", `INSERT INTO agent_status (agent_id, agent_name, status, on_duty,
				call_center_ids, reason, started_ms, started_at, ended_ms, ended_at, event_ms, version)`,
				agent, "Agent", "wrapup", uint8(1), centers, "", from.UnixMilli(), from, to.UnixMilli(), &to, from.UnixMilli(), uint64(1)); err != nil {
				t.Fatal(err)
			}
		}
		synced(s, "agent_status")
		if err := s.Derived().RebuildAgents(ctx, at.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		synced(s, "agent_intervals", "agent_duty_intervals", "agent_time_daily", "agent_duty_daily")
		if err := s.Derived().Recompute(ctx, cc, []time.Time{day}); err != nil {
			t.Fatal(err)
		}
		synced(s, "staffing", "target_intervals")
	}

	// The call centers' polled status, of three days, then the oldest
	// dropped: on the cluster each shard drops its own, and two days'
	// polls are left.
	for _, s := range []*warehouse.Store{single, store} {
		st := ccstatus.NewStorage(s.DB())
		var polls []ccstatus.Poll
		for d := range 3 {
			for _, tg := range []dialpad.Target{cc, {Type: "callcenter", ID: 77}, {Type: "callcenter", ID: 78}} {
				polls = append(polls, ccstatus.Poll{Target: tg, At: day.AddDate(0, 0, d-1).Add(time.Duration(tg.ID%60) * time.Minute),
					Interval: 15 * time.Second, Status: dialpad.CallCenterStatus{Availability: "open", Pending: tg.ID % 7, Capacity: int64(d)}})
			}
		}
		if err := st.WriteStatus(ctx, polls); err != nil {
			t.Fatal(err)
		}
		if err := st.DropDays(ctx, day.Add(time.Hour)); err != nil {
			t.Fatal(err)
		}
		if s == store {
			// Each replica fetches what its peer took and dropped.
			for _, n := range c.Nodes {
				if err := nodeConn(t, n, "dialpad").Exec(ctx, "SYSTEM SYNC REPLICA callcenter_status_local"); err != nil {
					t.Fatal(err)
				}
			}
		}
		var n uint64
		if err := s.DB().QueryRow(ctx, "SELECT count() FROM callcenter_status").Scan(&n); err != nil || n != 6 {
			t.Errorf("%d polls left after the drop (%v), want 6", n, err)
		}
	}

	// Every table, row for row.
	for _, table := range []string{"calls", "agent_daily", "calls_daily", "conversations", "target_daily", "target_intervals", "staffing",
		"targets", "agents", "etl_state", "callcenter_status"} {
		cols := stableColumns(t, single.DB(), table)
		q := "SELECT " + cols + " FROM " + table + " FINAL"
		want := rows(t, single.DB(), q)
		got := rows(t, store.DB(), q)
		if len(want) == 0 {
			t.Errorf("%s is empty on one server", table)
		}
		if !slices.Equal(got, want) {
			t.Errorf("%s: the cluster has %d rows, one server %d; first difference: %s", table, len(got), len(want), firstDiff(got, want))
		}
	}

	// Every dashboard's queries, through a connection of the profile's
	// settings, as Grafana's.
	compareDashboards(t, single.DB(), nodeConn(t, c.Nodes[0], "dialpad"), start, end)
}

// checkSchemaOnEveryNode checks that every node has each of one server's
// tables: a Distributed table over a Replicated one where one server has
// a data table, a Replicated one for the tables of coordination.
func checkSchemaOnEveryNode(t *testing.T, c *chcluster.Cluster, single *warehouse.Store) {
	t.Helper()
	want := map[string]string{}
	for _, r := range rows(t, single.DB(), "SELECT name, engine FROM system.tables WHERE database = currentDatabase()") {
		name, engine, _ := strings.Cut(r, "\t")
		want[name] = engine
	}
	for _, n := range c.Nodes {
		got := map[string]string{}
		for _, r := range rows(t, nodeConn(t, n, "dialpad"), "SELECT name, engine FROM system.tables WHERE database = currentDatabase()") {
			name, engine, _ := strings.Cut(r, "\t")
			got[name] = engine
		}
		for name, engine := range want {
			local, sharded := got[name+"_local"]
			switch {
			case strings.HasSuffix(name, "_stage"):
				if got[name] != engine {
					t.Errorf("node s%dr%d: %s is %q, want %q (a working table of its own)", n.Shard, n.Replica, name, got[name], engine)
				}
			case sharded:
				if got[name] != "Distributed" || local != "Replicated"+engine {
					t.Errorf("node s%dr%d: %s is %q over %q, want Distributed over Replicated%s", n.Shard, n.Replica, name, got[name], local, engine)
				}
			case got[name] != "Replicated"+engine:
				t.Errorf("node s%dr%d: %s is %q, want Replicated%s", n.Shard, n.Replica, name, got[name], engine)
			}
		}
	}
}

// compareDashboards runs every panel and variable query of every
// dashboard, as the plugin sends them, on both, with the variables at
// All and then at each target, and compares the rows.
func compareDashboards(t *testing.T, one, cluster driver.Conn, from, to time.Time) {
	t.Helper()
	dashboards, err := expand.Load(grafana.Files, "dashboards/*.json")
	if err != nil {
		t.Fatal(err)
	}
	targets := column(t, one, "SELECT DISTINCT concat(toString(target_type), ':', toString(target_id)) FROM calls")
	queries, nonEmpty := 0, 0
	for _, d := range dashboards {
		for _, pick := range append([]string{"All"}, targets...) {
			e := &expand.Expansion{From: from, To: to, IntervalS: 3600,
				Vars: map[string]expand.Selection{}, Defs: map[string]expand.Variable{}}
			values := func(sql string) ([]expand.Option, error) {
				var out []expand.Option
				for _, v := range column(t, one, sql) {
					out = append(out, expand.Option{Value: v, Text: v})
				}
				return out, nil
			}
			err := e.Resolve(d, values, func(v expand.Variable, offered []expand.Option) (expand.Selection, error) {
				vals := expand.Values(offered)
				switch {
				case len(vals) == 0:
					return expand.Selection{}, fmt.Errorf("variable %s has no values", v.Name)
				case v.IncludeAll && pick == "All":
					return expand.Selection{All: true, Values: vals}, nil
				case slices.Contains(vals, pick):
					return expand.Selection{Values: []string{pick}}, nil
				}
				return expand.Default(v, offered)
			})
			if err != nil {
				t.Fatalf("%s: %v", d.File, err)
			}
			for _, q := range d.Queries() {
				sql, err := e.Expand(q.RawSQL)
				if err != nil {
					t.Fatalf("%s %q: %v", d.File, q.Title, err)
				}
				want := rows(t, one, sql)
				got := rows(t, cluster, sql)
				// A query of now() read a moment apart may straddle a
				// second: asked again, a real difference stays.
				for try := 0; try < 3 && !slices.Equal(got, want) && strings.Contains(strings.ToLower(sql), "now()"); try++ {
					want, got = rows(t, one, sql), rows(t, cluster, sql)
				}
				queries++
				if len(want) > 0 {
					nonEmpty++
				}
				if !slices.Equal(got, want) {
					t.Errorf("%s, panel %q (%s): the cluster gives %d rows, one server %d; first difference: %s",
						d.Title, q.Title, pick, len(got), len(want), firstDiff(got, want))
				}
			}
		}
	}
	t.Logf("dashboards: %d queries compared, %d with rows", queries, nonEmpty)
	if nonEmpty < queries/2 {
		t.Errorf("only %d of %d dashboard queries have rows: the comparison shows little", nonEmpty, queries)
	}
}

// stableColumns are table's columns but those that tell when a row was
// written (they differ between two loads of the same data).
func stableColumns(t *testing.T, conn driver.Conn, table string) string {
	t.Helper()
	var cols []string
	for _, c := range column(t, conn, "SELECT name FROM system.columns WHERE database = currentDatabase() AND table = '"+table+"'") {
		switch c {
		case "version", "loaded_at", "updated_at", "seen_at":
			continue
		}
		cols = append(cols, c)
	}
	return strings.Join(cols, ", ")
}

func nodeConn(t *testing.T, n *chcluster.Node, database string) driver.Conn {
	t.Helper()
	conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{n.Addr()}, Auth: clickhouse.Auth{Database: database}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// rows runs q and returns its rows as tab-separated text, sorted.
func rows(t *testing.T, conn driver.Conn, q string) []string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	rs, err := conn.Query(ctx, q)
	if err != nil {
		t.Fatalf("%v\n%s", err, q)
	}
	defer rs.Close()
	types := rs.ColumnTypes()
	var out []string
	for rs.Next() {
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rs.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		cells := make([]string, len(dest))
		for i, d := range dest {
			v := reflect.ValueOf(d).Elem()
			if v.Kind() == reflect.Pointer {
				if v.IsNil() {
					cells[i] = "NULL"
					continue
				}
				v = v.Elem()
			}
			cells[i] = fmt.Sprint(v.Interface())
		}
		out = append(out, strings.Join(cells, "\t"))
	}
	if err := rs.Err(); err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

func column(t *testing.T, conn driver.Conn, q string) []string {
	t.Helper()
	var out []string
	for _, r := range rows(t, conn, q) {
		first, _, _ := strings.Cut(r, "\t")
		out = append(out, first)
	}
	return out
}

func firstDiff(got, want []string) string {
	for i := range max(len(got), len(want)) {
		var g, w string
		if i < len(got) {
			g = got[i]
		}
		if i < len(want) {
			w = want[i]
		}
		if g != w {
			return fmt.Sprintf("row %d: cluster %q, one server %q", i, g, w)
		}
	}
	return "none"
}
