package chdb

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func start(t *testing.T) *Engine {
	t.Helper()
	if testing.Short() {
		t.Skip("needs the current ClickHouse (node and chdb): skipped under -short")
	}
	e, err := Start()
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("no current ClickHouse: %v", err)
		}
		t.Skipf("no current ClickHouse: %v; %s", err, InstallHint)
	}
	t.Cleanup(func() { e.Close() })
	return e
}

func TestEngineKeepsDatabasesAndReportsErrors(t *testing.T) {
	e := start(t)
	if !strings.HasPrefix(e.Version, "26.") {
		t.Errorf("version %q, want the 26.x release chdb %s brings", e.Version, Version)
	}
	for _, db := range []string{"a", "b"} {
		if err := e.Exec("", "CREATE DATABASE "+db); err != nil {
			t.Fatal(err)
		}
		if err := e.Exec(db, "CREATE TABLE t (x String) ENGINE = MergeTree ORDER BY x"); err != nil {
			t.Fatal(err)
		}
		if err := e.Exec(db, "INSERT INTO t (x) VALUES ('in "+db+"'), ('tab\there')"); err != nil {
			t.Fatal(err)
		}
	}
	got, err := e.Query("a", "SELECT x FROM t ORDER BY x", "TabSeparatedWithNames")
	if want := "x\nin a\ntab\\there\n"; err != nil || got != want {
		t.Errorf("database a holds %q, %v; want %q", got, err, want)
	}
	_, err = e.Query("b", "SELECT toDayOfWeek(now(), 'UTC')", "TabSeparated")
	var ex *Error
	if !errors.As(err, &ex) || ex.Code != 43 || !strings.Contains(ex.Message, "week_mode") {
		t.Errorf("a week mode given a zone: %v, want code 43 naming week_mode", err)
	}
	if got, err := e.Query("b", "SELECT count() FROM t", "TabSeparated"); err != nil || got != "2\n" {
		t.Errorf("after an error the session answers %q, %v", got, err)
	}
}
