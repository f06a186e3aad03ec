// Package chtest gives tests a real ClickHouse server.
//
// With CLICKHOUSE_ADDR set, tests use that server (and its HTTP interface
// at CLICKHOUSE_HTTP_ADDR, else port 8123 of the same host). Otherwise the first test
// that asks starts a private clickhouse-server (see chserver) on free
// loopback ports, with its data in a temporary directory; [Main] stops it
// and removes the data when the package's tests end (CHTEST_KEEP=1 keeps
// them). Each test gets a database of its own, dropped when it ends.
//
// When no server can be had, tests fail if CI is set and skip otherwise,
// with a message that says how to install one. Under go test -short
// (make test-short) every test that needs a server is skipped and none is
// started: see SkipShort.
//
// Only tests import it. It imports warehouse (a twin is a warehouse on
// both engines), internal/chserver and internal/testkit/chdb.
package chtest

import (
	"context"
	"fmt"
	"os"
	"regexp"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

// InstallHint tells a developer how to get a server for the tests.
const InstallHint = "install it with 'apt-get install -y clickhouse-server clickhouse-client' (or run 'make test'), or set CLICKHOUSE_ADDR"

var (
	once    sync.Once
	shared  *chserver.Server
	errOnce error
	seq     atomic.Int64
)

// Main runs the package's tests and stops the private server and the
// current engine (see Twin) afterwards.
// Call it from TestMain: func TestMain(m *testing.M) { chtest.Main(m) }.
func Main(m *testing.M) { os.Exit(Run(m)) }

// Run is Main for a TestMain that has more to clean up: it returns the
// exit code instead of exiting.
func Run(m *testing.M) int {
	code := m.Run()
	if current != nil {
		current.Close()
	}
	if shared != nil {
		shared.Stop()
		if shared.Dir != "" && os.Getenv("CHTEST_KEEP") == "" {
			os.RemoveAll(shared.Dir)
		}
	}
	return code
}

// SkipShort skips tb under go test -short, saying that it needs what
// (a ClickHouse server, Chromium, ZooKeeper, ...): the fast tier starts
// no such process.
func SkipShort(tb testing.TB, what string) {
	tb.Helper()
	if testing.Short() {
		tb.Skipf("needs %s: skipped under -short", what)
	}
}

// Get returns the package's server, starting it on first use. It skips or
// fails the test when no server can be had, and under -short.
func Get(tb testing.TB) *chserver.Server {
	tb.Helper()
	SkipShort(tb, "a ClickHouse server")
	once.Do(func() {
		if addr := os.Getenv("CLICKHOUSE_ADDR"); addr != "" {
			shared, errOnce = chserver.External(addr, os.Getenv("CLICKHOUSE_HTTP_ADDR"), 10*time.Second)
			return
		}
		shared, errOnce = chserver.Start(chserver.Options{})
	})
	if errOnce != nil {
		if os.Getenv("CI") != "" {
			tb.Fatalf("no ClickHouse server for the tests: %v", errOnce)
		}
		tb.Skipf("no ClickHouse server for the tests: %v; %s", errOnce, InstallHint)
	}
	return shared
}

// Database returns the server's address and the name of a fresh, empty
// database that is dropped when the test ends.
func Database(tb testing.TB) (addr, database string) {
	tb.Helper()
	s := Get(tb)
	name := fmt.Sprintf("t_%d_%d_%s", os.Getpid(), seq.Add(1), nonWord.ReplaceAllString(tb.Name(), "_"))
	if len(name) > 100 {
		name = name[:100]
	}
	conn := Conn(tb, "default")
	ctx := context.Background()
	if err := conn.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		tb.Fatalf("create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		if os.Getenv("CHTEST_KEEP") == "" {
			_ = conn.Exec(ctx, "DROP DATABASE IF EXISTS "+name)
		}
	})
	return s.Addr, name
}

// Conn opens a connection to database on the server, closed when the test
// ends.
func Conn(tb testing.TB, database string) clickhouse.Conn {
	tb.Helper()
	s := Get(tb)
	conn, err := s.Open(database)
	if err != nil {
		tb.Fatalf("connect to ClickHouse at %s: %v", s.Addr, err)
	}
	tb.Cleanup(func() { conn.Close() })
	return conn
}

var nonWord = regexp.MustCompile(`[^A-Za-z0-9_]+`)
