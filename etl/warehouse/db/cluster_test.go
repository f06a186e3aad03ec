package db_test

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chdb"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

// The shard a cluster's job computes a target on is the one ClickHouse
// put the target's rows on: the job's intHash64 is the server's, on both
// engines. (The cluster itself is tested in chcluster.)
func TestShardingFunctionIsClickHouses(t *testing.T) {
	ids := []uint64{0, 1, 2, 4869792674824192, 5506572454860966, 6009822018359257, 7443312741218595, 1<<63 + 12345}
	var list []string
	for _, id := range ids {
		list = append(list, fmt.Sprint(id))
	}
	sql := "SELECT toString(intHash64(toUInt64(arrayJoin([" + strings.Join(list, ", ") + "]))))"
	var want []string
	for _, id := range ids {
		want = append(want, fmt.Sprint(db.IntHash64(id)))
	}
	rows, err := chtest.Conn(t, "default").Query(context.Background(), sql)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		got = append(got, s)
	}
	rows.Close()
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("ClickHouse 18.16's intHash64: %v, the job's: %v", got, want)
	}
	current := currentEngine(t)
	if current == nil {
		return
	}
	out, err := current.Query("", sql, "TSV")
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("the current engine's intHash64: %v, the job's: %v", got, want)
	}
}

// Every migration can be applied on a cluster, and what it becomes
// parses on the current engine too (the cluster test runs it on 18.16).
func TestClusterMigrationsParseOnTheCurrentEngine(t *testing.T) {
	migs, err := schema.Migrations()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := db.ClusterMigrations("dialpad", "dialpad", migs)
	if err != nil {
		t.Fatal(err)
	}
	current := currentEngine(t)
	var statements int
	for _, m := range cl {
		for _, stmt := range m.Statements {
			statements++
			if strings.Contains(stmt, "CREATE TABLE") && !strings.Contains(stmt, " ON CLUSTER `dialpad`") {
				t.Errorf("%s: not ON CLUSTER: %s", m.Name, stmt)
			}
			if current == nil {
				continue
			}
			if _, err := current.Query("", "EXPLAIN AST "+stmt, "TSV"); err != nil {
				t.Errorf("%s: the current engine does not parse %s: %v", m.Name, stmt, err)
			}
		}
	}
	if statements == 0 {
		t.Fatal("no statements")
	}
}

// currentEngine is the current engine, or nil (and the test fails when CI
// is set).
func currentEngine(t *testing.T) *chdb.Engine {
	t.Helper()
	chtest.SkipShort(t, "the current ClickHouse (node and chdb)")
	e, err := chtest.Current()
	switch {
	case err != nil && os.Getenv("CI") != "":
		t.Fatalf("no current ClickHouse for the tests: %v", err)
	case err != nil:
		t.Logf("only ClickHouse 18.16: no current ClickHouse (%v)", err)
		return nil
	}
	return e
}
