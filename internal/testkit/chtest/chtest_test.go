package chtest

import (
	"context"
	"testing"
)

func TestMain(m *testing.M) { Main(m) }

func TestServerAnswersQueries(t *testing.T) {
	addr, db := Database(t)
	conn := Conn(t, db)
	var one uint8
	if err := conn.QueryRow(context.Background(), "SELECT toUInt8(1)").Scan(&one); err != nil || one != 1 {
		t.Fatalf("SELECT 1 on %s: got %d, %v", addr, one, err)
	}
	var name string
	if err := conn.QueryRow(context.Background(), "SELECT currentDatabase()").Scan(&name); err != nil || name != db {
		t.Fatalf("current database: got %q, %v; want %q", name, err, db)
	}
}
