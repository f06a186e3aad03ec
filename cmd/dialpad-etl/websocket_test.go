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

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// With DIALPAD_EVENTS=websocket: 'webhooks setup' creates the websocket
// and its subscriptions once and then finds them; schedule connects to
// it and stores the events the simulator pushes, duplicated and
// reordered; no output of the job shows the websocket's URL; 'webhooks
// remove' deletes it.
func TestEventsOverAWebsocketWithTheBinary(t *testing.T) {
	f := newFixture(t, 53, 1, nil, nil)
	addr := fmt.Sprintf("127.0.0.1:%d", testkit.FreePort(t))
	env := f.with("DIALPAD_WEBHOOK_SECRET="+webhookSecret, "DIALPAD_EVENTS=websocket", "ETL_HTTP_ADDR="+addr,
		"ETL_HOURLY_SCHEDULE=0 0 1 1 *", "ETL_NIGHTLY_SCHEDULE=0 0 1 1 *")
	code, out := f.runOut(t, env, "webhooks", "setup")
	if code != 0 || !strings.Contains(out, "created websocket") || strings.Count(out, "created call subscription") != len(f.targets) ||
		!strings.Contains(out, "created agent status subscription") {
		t.Fatalf("first setup exited %d and printed:\n%s\nwant a websocket, %d call subscriptions and the agent status one created",
			code, out, len(f.targets))
	}
	code, out = f.runOut(t, env, "webhooks", "setup")
	if code != 0 || strings.Contains(out, "created") || strings.Count(out, "exists") != len(f.targets)+2 {
		t.Errorf("second setup exited %d and printed:\n%s\nwant everything found and reused", code, out)
	}
	if code, out = f.runOut(t, env, "webhooks", "setup", "--url", "https://etl.example.com/webhooks/dialpad"); code == 0 ||
		!strings.Contains(out, "--url") {
		t.Errorf("setup of a websocket with --url exited %d:\n%s", code, out)
	}

	p := f.spawn(t, env, "schedule")
	testkit.Eventually(t, time.Minute, "schedule connected to the websocket", func() bool { return f.sim.SocketConnections() == 1 })
	// The last hour's events, pushed over the websocket.
	st, err := f.sim.Deliver(context.Background(), webhook.Delivery{Subscriptions: true, From: f.end.Add(-time.Hour), To: f.end,
		Rate: 200, Faults: webhook.DeliveryFaults{DuplicateRate: 0.1, ReorderRate: 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	if st.Delivered == 0 || st.Failed != 0 {
		t.Fatalf("delivery: %+v; want events, each to an open connection", st)
	}
	conn := f.conn(t)
	testkit.Eventually(t, time.Minute, "events in call_events", func() bool {
		var n uint64
		return conn.QueryRow(context.Background(), "SELECT count() FROM call_events").Scan(&n) == nil && n > 0
	})
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(m), "dialpad_etl_events_websocket_connected 1") {
		t.Errorf("/metrics does not show the websocket connected")
	}
	if resp, err := http.Post("http://"+addr+"/webhooks/dialpad", "application/jwt", strings.NewReader("x")); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("POST /webhooks/dialpad answered %d with a websocket; want 404: nothing is served for Dialpad to post to", resp.StatusCode)
		}
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t, 30*time.Second); code != 0 {
		t.Fatalf("schedule exited %d after SIGTERM:\n%s", code, lastLines(p.out.String(), 20))
	}
	code, out = f.runOut(t, env, "webhooks", "status")
	if code != 0 || !strings.Contains(out, "signed with DIALPAD_WEBHOOK_SECRET") || strings.Contains(out, "no call event") {
		t.Errorf("status exited %d and printed:\n%s", code, out)
	}
	if code, out = f.runOut(t, env, "webhooks", "remove"); code != 0 || !strings.Contains(out, "deleted websocket") {
		t.Errorf("remove exited %d and printed:\n%s", code, out)
	}
	// The URL's token is in a query: no output of the job has one.
	for _, leak := range []string{"token=", "/_sim/websocket"} {
		if i := strings.Index(f.printed(), leak); i >= 0 {
			t.Errorf("the websocket URL appears in the job's output: %q", f.printed()[max(0, i-200):min(len(f.printed()), i+100)])
		}
	}
	f.checkNoSecret(t, webhookSecret)
}
