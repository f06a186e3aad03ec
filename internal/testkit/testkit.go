// Package testkit is what the tests share: the simulated company loaded
// into a warehouse (World), waiting for a condition (Eventually) and free
// loopback ports. Its subpackages start the servers: chtest (ClickHouse
// 18.16 and twins with the current engine), chdb, smtptest; hold
// reference data: handbuilt, transformtest; and fakes of the program's
// parts: leasetest (the leases in memory).
//
// Only tests import it: no package of the program may.
package testkit

import (
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/child"
)

// Eventually polls cond until it holds, and fails t if it does not within
// limit, saying what it waited for. It polls every 20 ms, or as seldom as
// cond takes to answer when that is longer, so that a cond that asks a
// server leaves it time for the work waited on. Call it from the test's
// goroutine.
func Eventually(t testing.TB, limit time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for {
		began := time.Now()
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(max(20*time.Millisecond, time.Since(began)))
	}
}

// FreePort returns a loopback port that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	p, err := child.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// FreeRun returns a port p such that p ... p+n-1 were free on loopback a
// moment ago: a private ClickHouse's native, HTTP and interserver ports
// are a run of 3.
func FreeRun(t testing.TB, n int) int {
	t.Helper()
	p, err := child.FreeRun(n)
	if err != nil {
		t.Fatal(err)
	}
	return p
}
