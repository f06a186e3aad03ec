package grafana

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// Grafana's ClickHouse user, as the stack creates it (clickhouse/
// grafana-user.xml in the server's users.d), on a real server: it reads
// the project's database and can change nothing, anywhere.
func TestGrafanasUserCanOnlyRead(t *testing.T) {
	chtest.Get(t) // skips or fails as the other tests do without a server
	user, err := Files.ReadFile("clickhouse/grafana-user.xml")
	if err != nil {
		t.Fatal(err)
	}
	srv, err := chserver.Start(chserver.Options{Dir: t.TempDir(), UsersD: map[string][]byte{"grafana-user.xml": user},
		Env: []string{"GRAFANA_CLICKHOUSE_PASSWORD=gr-pass", "CLICKHOUSE_DB=dialpad"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Stop)
	ctx := context.Background()
	job, err := warehouse.Open(ctx, warehouse.Options{Addr: srv.Addr, Database: "dialpad"})
	if err != nil {
		t.Fatal(err)
	}
	defer job.Close()
	if _, err := job.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := job.DB().Exec(ctx, "CREATE DATABASE other"); err != nil {
		t.Fatal(err)
	}
	if err := job.DB().Exec(ctx, "CREATE TABLE other.t (x UInt8) ENGINE = Memory"); err != nil {
		t.Fatal(err)
	}

	open := func(password string) clickhouse.Conn {
		conn, err := clickhouse.Open(&clickhouse.Options{Addr: []string{srv.Addr},
			Auth: clickhouse.Auth{Database: "dialpad", Username: "grafana", Password: password}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn
	}
	if err := open("wrong").Ping(ctx); err == nil {
		t.Error("grafana logged in with a wrong password")
	}
	g := open("gr-pass")
	var n uint64
	// The legs, and what the wallboard reads of the events.
	for _, table := range []string{"calls FINAL", "live_calls FINAL", "agent_status FINAL", "call_events"} {
		if err := g.QueryRow(ctx, "SELECT count() FROM "+table).Scan(&n); err != nil {
			t.Fatalf("grafana cannot read %s: %v", table, err)
		}
	}
	// The alert rules' queries, which Grafana runs as this user too.
	at := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	for _, group := range loadAlerts(t).Groups {
		for _, r := range group.Rules {
			for _, q := range r.Data {
				if q.DatasourceUID == "__expr__" {
					continue
				}
				sql, err := q.At(at).Expand(q.Model.RawSQL)
				if err != nil {
					t.Fatal(err)
				}
				rows, err := g.Query(ctx, sql)
				if err != nil {
					t.Errorf("grafana cannot run alert %s's query %s: %v", r.UID, q.RefID, err)
					continue
				}
				rows.Close()
			}
		}
	}
	if err := g.QueryRow(ctx, "SELECT count() FROM calls FINAL SETTINGS max_threads = 1").Scan(&n); err != nil {
		t.Errorf("grafana cannot set its queries' settings: %v", err)
	}
	for _, stmt := range []string{
		"INSERT INTO etl_settings (name, value, updated_at, version) SELECT 'x', 'y', now(), 1",
		"CREATE TABLE dialpad.evil (x UInt8) ENGINE = Memory",
		"ALTER TABLE calls DELETE WHERE 1",
		"DROP TABLE etl_settings",
		"TRUNCATE TABLE etl_runs",
		"CREATE DATABASE evil",
		"SET readonly = 0",
	} {
		if err := g.Exec(ctx, stmt); err == nil {
			t.Errorf("grafana could run %q", stmt)
		}
	}
	if err := g.QueryRow(ctx, "SELECT count() FROM other.t").Scan(&n); err == nil || !strings.Contains(err.Error(), "other") {
		t.Errorf("grafana read another database: %v", err)
	}
}
