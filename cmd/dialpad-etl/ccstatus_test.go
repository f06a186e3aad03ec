package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// schedule, with no webhook secret, polls the call center's live status
// into callcenter_status, exactly as the simulator serves it at its clock,
// and counts the polls; the departments are not polled. A bad interval
// stops the start with a line naming the setting.
func TestSchedulePollsTheCallCenterWithoutEvents(t *testing.T) {
	f := newPastFixture(t, 29, 1, nil, nil)
	if code, out := f.runOut(t, f.with("CALLCENTER_STATUS_INTERVAL=2s"), "schedule"); code == 0 ||
		!strings.Contains(out, "CALLCENTER_STATUS_INTERVAL: must be 0 (never) or from 5s to 1h, got 2s") {
		t.Errorf("schedule with CALLCENTER_STATUS_INTERVAL=2s exited %d:\n%s", code, lastLines(out, 5))
	}

	cc := f.targets[len(f.targets)-1]
	at := time.UnixMilli(f.clock.Load())
	served, ok := f.sim.CallCenterStatus(cc.ID, at)
	if cc.Type != "callcenter" || !ok {
		t.Fatalf("the last target is %v, want the call center", cc)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	p := f.spawn(t, f.with("ETL_HTTP_ADDR="+addr, "CALLCENTER_STATUS_INTERVAL=5s"), "schedule")
	conn := f.conn(t)
	ctx := context.Background()
	testkit.Eventually(t, time.Minute, "two polls of the call center stored", func() bool {
		var n uint64
		err := conn.QueryRow(ctx, "SELECT count() FROM callcenter_status WHERE target_id = ?", uint64(cc.ID)).Scan(&n)
		return err == nil && n >= 2
	})
	rows, err := conn.Query(ctx, `SELECT toString(target_type), target_id, interval_s, availability, is_open, on_duty_operators,
		capacity, pending, longest_call_wait_s FROM callcenter_status`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	want := fmt.Sprintf("%s 5 %s %d %d %d %d %d", cc, served.Availability.Status, map[bool]int{true: 1}[served.Availability.Status == "open"],
		served.OnDutyOperators, served.Capacity, served.Pending, served.LongestCallWaitTime)
	for rows.Next() {
		var typ, avail string
		var id uint64
		var every, onDuty, capacity, pending, longest uint32
		var open uint8
		if err := rows.Scan(&typ, &id, &every, &avail, &open, &onDuty, &capacity, &pending, &longest); err != nil {
			t.Fatal(err)
		}
		if got := fmt.Sprintf("%s:%d %d %s %d %d %d %d %d", typ, id, every, avail, open, onDuty, capacity, pending, longest); got != want {
			t.Errorf("stored %s, the simulator served %s", got, want)
		}
	}
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(body), fmt.Sprintf("dialpad_etl_callcenter_status_polls_total{target=%q}", cc.String())) ||
		strings.Contains(string(body), "dialpad_etl_callcenter_status_failures_total{") {
		t.Errorf("/metrics does not count the polls of %s, or counts failures", cc)
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Errorf("schedule exited %d after SIGTERM:\n%s", code, lastLines(p.out.String(), 10))
	}
	f.checkNoSecret(t)
}
