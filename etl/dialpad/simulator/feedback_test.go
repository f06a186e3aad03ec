package simulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// feedbackEvent is what an event after a call tells.
type feedbackEvent struct {
	CallID       wire.ID  `json:"call_id"`
	State        string   `json:"state"`
	CSATScore    string   `json:"csat_score"`
	CSATComments []string `json:"csat_transcriptions"`
	PCSATScore   string   `json:"pcsat_score"`
	Dispositions []struct {
		ID   string `json:"id"`
		Name string `json:"name"`
	} `json:"dispositions"`
}

// TestFeedbackAgreesAcrossListEventsAndExports: for the same leg, the
// csat event gives the list's csat_score and comments, which the calls
// export has too, and the dispositions events give the dispositions
// export's rows.
func TestFeedbackAgreesAcrossListEventsAndExports(t *testing.T) {
	s := newTestSim(t, Config{ExportDelay: -1})
	srv := serve(t, s)
	ny, _ := time.LoadLocation("America/New_York")
	// simtest.End is 20:00 on 18 May in New York: days 2 to 4 ago are
	// 14-16 May.
	from, to := time.Date(2025, 5, 14, 0, 0, 0, 0, ny), time.Date(2025, 5, 17, 0, 0, 0, 0, ny)
	cc := s.Targets()[2]
	list := map[wire.ID]simtest.Decoded{}
	for _, l := range simtest.DecodeLegs(t, s.Legs(cc, from, to)) {
		list[l.CallID] = l
	}
	csat, disp := map[wire.ID]feedbackEvent{}, map[wire.ID][]string{}
	for _, ev := range s.Events(from, to.Add(5*time.Hour)) { // a call lasts at most 4 h
		if ev.State != "csat" && ev.State != "dispositions" {
			continue
		}
		var f feedbackEvent
		if err := json.Unmarshal(ev.Claims, &f); err != nil {
			t.Fatal(err)
		}
		if _, ok := list[f.CallID]; !ok {
			continue
		}
		if ev.State == "csat" {
			csat[f.CallID] = f
		}
		for _, d := range f.Dispositions {
			disp[f.CallID] = append(disp[f.CallID], d.Name)
		}
	}

	e := startExport(t, srv.URL, recordsBody("America/New_York", `,"days_ago_start":2,"days_ago_end":4`+targetFields(cc)))
	scored := 0
	for _, r := range downloadRecords(t, srv.URL, e.RequestID) {
		l := list[mustID(t, r["call_id"])]
		f, ok := csat[l.CallID]
		if ok != (l.CSATScore != "") || f.CSATScore != l.CSATScore || !slices.Equal(f.CSATComments, l.CSATComments) {
			t.Errorf("leg %d: the list's csat %q %q, its csat event's (%v) %q %q", l.CallID, l.CSATScore, l.CSATComments, ok, f.CSATScore, f.CSATComments)
		}
		if r["csat_score"] != l.CSATScore {
			t.Errorf("leg %d: the export's csat_score %q, the list's %q", l.CallID, r["csat_score"], l.CSATScore)
		}
		if ok {
			scored++
		}
	}

	e = startExport(t, srv.URL, dispositionsBody("America/New_York", `,"days_ago_start":2,"days_ago_end":4`+targetFields(cc)))
	rows := map[wire.ID][]string{}
	for _, r := range byName(downloadCSV(t, srv.URL, e.RequestID)) {
		id := mustID(t, r["call_id"])
		rows[id] = append(rows[id], r["disposition"])
	}
	for id, names := range disp {
		if !slices.Equal(rows[id], names) {
			t.Errorf("leg %d: the dispositions event gives %q, the export %q", id, names, rows[id])
		}
	}
	if len(rows) != len(disp) || len(disp) < 50 || scored < 20 {
		t.Errorf("%d legs with dispositions in the export, %d with a dispositions event; %d scored: want many, the same", len(rows), len(disp), scored)
	}
}

func mustID(t testing.TB, s string) wire.ID {
	t.Helper()
	var id wire.ID
	if err := json.Unmarshal([]byte(s), &id); err != nil {
		t.Fatalf("call_id %q: %v", s, err)
	}
	return id
}

// TestEventsAfterTheCallReachSubscribers: a webhook and a websocket
// subscribed to the csat, pcsat and dispositions states of the call
// center get those events of its legs, and no other.
func TestEventsAfterTheCallReachSubscribers(t *testing.T) {
	sim := newTestSim(t, Config{})
	srv := serve(t, sim)
	var mu sync.Mutex
	var hooked []string
	rcv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		hooked = append(hooked, string(b))
		mu.Unlock()
	}))
	t.Cleanup(rcv.Close)
	cc := sim.Targets()[2]
	states := `"call_states":["csat","pcsat","dispositions"],"target_type":"callcenter","target_id":"` + fmt.Sprint(cc.ID) + `"`
	var hook struct{ ID string }
	hookPost(t, srv.URL, "/api/v2/webhooks", `{"hook_url":"`+rcv.URL+`"}`, http.StatusOK, &hook)
	hookPost(t, srv.URL, "/api/v2/subscriptions/call", `{"endpoint_id":`+hook.ID+`,`+states+`}`, http.StatusOK, nil)
	var ws socketAnswer
	hookPost(t, srv.URL, "/api/v2/websockets", `{}`, http.StatusOK, &ws)
	hookPost(t, srv.URL, "/api/v2/subscriptions/call", `{"endpoint_id":`+ws.ID+`,`+states+`}`, http.StatusOK, nil)
	c, _, err := websocket.Dial(context.Background(), ws.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()

	from := sim.cfg.End.Add(-4 * 24 * time.Hour).Add(14 * time.Hour)
	to := from.Add(2 * time.Hour)
	var want []string
	for _, ev := range sim.Events(from, to) {
		if ev.State != "csat" && ev.State != "pcsat" && ev.State != "dispositions" {
			continue
		}
		var f struct {
			EntryPointTarget wire.Party `json:"entry_point_target"`
		}
		if json.Unmarshal(ev.Claims, &f) == nil && f.EntryPointTarget.Type == "callcenter" {
			want = append(want, string(ev.Claims))
		}
	}
	st, err := sim.Deliver(context.Background(), webhook.Delivery{Subscriptions: true, From: from, To: to, Rate: 2000})
	if err != nil || st.Failed != 0 {
		t.Fatalf("deliver: %+v, %v", st, err)
	}
	var pushed []string
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for len(pushed) < len(want) {
		_, msg, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("after %d of %d messages: %v", len(pushed), len(want), err)
		}
		pushed = append(pushed, string(msg))
	}
	counts := map[string]int{}
	for _, w := range want {
		var f feedbackEvent
		json.Unmarshal([]byte(w), &f)
		counts[f.State]++
	}
	t.Logf("%d events after the call of the call center's legs: %v", len(want), counts)
	if counts["csat"] == 0 || counts["pcsat"] < 5 || counts["dispositions"] < 5 {
		t.Fatalf("events %v: too few to test", counts)
	}
	mu.Lock()
	defer mu.Unlock()
	for name, got := range map[string][]string{"webhook": hooked, "websocket": pushed} {
		slices.Sort(got)
		w := slices.Clone(want)
		slices.Sort(w)
		if !slices.Equal(got, w) {
			t.Errorf("the %s got %d events, want the %d after the call: %.300s", name, len(got), len(w), strings.Join(got, "\n"))
		}
	}
}
