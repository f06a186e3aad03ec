package simulator

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func TestPagingYieldsExactlyTheGroundTruth(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{PageSize: 25})
	srv := serve(t, s)
	start := s.cfg.Start.UnixMilli()
	day := int64(24 * time.Hour / time.Millisecond)
	dept := s.Targets()[0]
	// A window whose bounds are the start times of two listed legs: both
	// must be left out (the bounds are strict).
	mid := s.Legs(dept, simtest.End.Add(-4*24*time.Hour), simtest.End.Add(-3*24*time.Hour))
	var first, last wire.Call
	json.Unmarshal(mid[len(mid)-1], &first)
	json.Unmarshal(mid[0], &last)

	for _, tg := range append(s.Targets(), s.tr.Company().Target(s.tr.Company().UserParty(1))) {
		for _, w := range []struct {
			name          string
			after, before int64 // 0 = absent
		}{
			{"whole range", start - 1, start + 14*day},
			{"one day", start + 3*day, start + 4*day},
			{"strict bounds", int64(first.DateStarted), int64(last.DateStarted)},
			{"no started_after", 0, start + 2*day},
			{"no started_before", start + 12*day, 0},
			{"empty", start + 5*day, start + 5*day + 1},
		} {
			got, pages := listCalls(t, srv.URL, callQuery(tg, w.after, w.before))
			from, to := time.UnixMilli(w.after+1), time.UnixMilli(w.before)
			if w.after == 0 {
				from = time.UnixMilli(0)
			}
			if w.before == 0 {
				to = simtest.End.Add(365 * 24 * time.Hour)
			}
			want := s.Legs(tg, from, to)
			if !simtest.EqualRaw(got, want) {
				t.Errorf("%v, %s: paging gave %d legs, Legs %d; not byte-identical", tg, w.name, len(got), len(want))
			}
			for i, p := range pages[:len(pages)-1] {
				if len(p.Items) != 25 {
					t.Errorf("%v, %s: page %d has %d items, want 25", tg, w.name, i+1, len(p.Items))
				}
			}
			for _, l := range simtest.DecodeLegs(t, got) {
				if w.after != 0 && int64(l.DateStarted) <= w.after || w.before != 0 && int64(l.DateStarted) >= w.before {
					t.Fatalf("%v, %s: leg started at %d outside (%d, %d)", tg, w.name, l.DateStarted, w.after, w.before)
				}
			}
			if w.name == "strict bounds" && len(got) != len(mid)-2 && tg == dept {
				t.Errorf("strict bounds: %d legs, want the day's %d minus the 2 on the bounds", len(got), len(mid))
			}
		}
	}
}

func TestLastPageHasNoCursorKey(t *testing.T) {
	s := newTestSim(t, Config{PageSize: 10})
	srv := serve(t, s)
	q := callQuery(s.Targets()[1], 0, 0)
	for n := 1; ; n++ {
		_, _, body := get(t, srv.URL, "/api/v2/call", q, "sim-token")
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(body, &raw); err != nil {
			t.Fatal(err)
		}
		c, ok := raw["cursor"]
		if !ok {
			if n < 10 {
				t.Fatalf("listing ended after %d pages", n)
			}
			return
		}
		var cur string
		if err := json.Unmarshal(c, &cur); err != nil || cur == "" {
			t.Fatalf("page %d: cursor %s, want a non-empty string or no key", n, c)
		}
		q = url.Values{"cursor": {cur}, "unknown_param": {"ignored"}}
	}
}

func TestNewestFirst(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	legs := simtest.DecodeLegs(t, s.Legs(s.Targets()[0], s.cfg.Start, s.cfg.End))
	for i := 1; i < len(legs); i++ {
		a, b := legs[i-1], legs[i]
		if a.DateStarted < b.DateStarted || a.DateStarted == b.DateStarted && a.CallID < b.CallID {
			t.Fatalf("leg %d (started %d) listed before leg %d (started %d)", a.CallID, a.DateStarted, b.CallID, b.DateStarted)
		}
	}
}

func TestGroupFilter(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	byGroup := map[dialpad.Target]map[wire.ID]bool{}
	for _, tg := range s.Targets() {
		byGroup[tg] = map[wire.ID]bool{}
		agents := map[wire.ID]bool{}
		for _, pi := range s.tr.Company().Groups[groupIndex(s, tg)].Members {
			agents[wire.ID(s.tr.Company().Parties[pi].ID)] = true
		}
		legs := simtest.DecodeLegs(t, s.Legs(tg, s.cfg.Start, s.cfg.End))
		entries := map[wire.ID]bool{}
		var nEntry, nAgent, nOut int
		for _, l := range legs {
			byGroup[tg][l.CallID] = true
			switch {
			case l.Direction == "outbound":
				nOut++
				if !agents[l.Target.ID] {
					t.Fatalf("%v lists outbound leg %d of %v, not one of its agents", tg, l.CallID, l.Target)
				}
			case l.Target.Type == tg.Type && int64(l.Target.ID) == tg.ID:
				nEntry++
				entries[l.CallID] = true
			case l.Target.Type == "user" && l.EntryPointTarget.Type == tg.Type && int64(l.EntryPointTarget.ID) == tg.ID:
				nAgent++
			default:
				t.Fatalf("%v lists a leg that is not its own: %s", tg, l.Raw)
			}
		}
		for _, l := range legs {
			if l.Target.Type == "user" && l.Direction == "inbound" && !entries[l.EntryPointCallID] {
				// The entry leg ends after its agent legs: only calls still
				// going at the clock's edge may miss it.
				if l.DateStarted < wire.Millis(simtest.End.Add(-4*time.Hour).UnixMilli()) {
					t.Fatalf("%v: agent leg %d points at %d, not an entry leg of the group", tg, l.CallID, l.EntryPointCallID)
				}
			}
		}
		if nEntry == 0 || nAgent < nEntry || nOut == 0 {
			t.Errorf("%v: %d entry legs, %d agent legs, %d outbound: want all three", tg, nEntry, nAgent, nOut)
		}
	}
	for a, la := range byGroup {
		for b, lb := range byGroup {
			for id := range la {
				if a != b && lb[id] {
					t.Fatalf("leg %d listed under both %v and %v", id, a, b)
				}
			}
		}
	}
}

func groupIndex(s *Sim, tg dialpad.Target) int {
	for gi := range s.tr.Company().Groups {
		if s.tr.Company().Target(gi) == tg {
			return gi
		}
	}
	return -1
}

func TestUserFilter(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	// The user in two groups takes calls from both.
	var shared int
	for ui, u := range s.tr.Company().Users {
		if len(u.Groups) > 1 {
			shared = s.tr.Company().UserParty(ui)
		}
	}
	if shared == 0 {
		t.Fatal("no user belongs to two groups")
	}
	tg := s.tr.Company().Target(shared)
	got, _ := listCalls(t, srv.URL, callQuery(tg, 0, 0))
	groups := map[wire.ID]bool{}
	for _, l := range simtest.DecodeLegs(t, got) {
		if l.Target.Type != "user" || int64(l.Target.ID) != tg.ID {
			t.Fatalf("user:%d lists leg %d of %v", tg.ID, l.CallID, l.Target)
		}
		groups[l.EntryPointTarget.ID] = true
	}
	if len(got) == 0 || len(groups) < 3 { // two groups, and 0 for outbound calls
		t.Errorf("user in two groups: %d legs from %d entry points", len(got), len(groups))
	}
}

func TestOnlyEndedCallsListed(t *testing.T) {
	c := simtest.NewClock(simtest.End.Add(-3 * 24 * time.Hour).Add(15 * time.Hour)) // a busy afternoon
	s := newTestSim(t, Config{Now: c.Now})
	srv := serve(t, s)
	tg := s.Targets()[0]
	q := callQuery(tg, c.Now().Add(-2*time.Hour).UnixMilli(), 0)
	early, _ := listCalls(t, srv.URL, q)
	for _, l := range simtest.DecodeLegs(t, early) {
		if int64(l.DateEnded) > c.Now().UnixMilli() {
			t.Fatalf("leg %d ends at %d, after the clock %d", l.CallID, l.DateEnded, c.Now().UnixMilli())
		}
	}
	c.Set(c.Now().Add(30 * time.Minute))
	later, _ := listCalls(t, srv.URL, q)
	ids := map[string]bool{}
	for _, l := range later {
		ids[string(l)] = true
	}
	for _, l := range early {
		if !ids[string(l)] {
			t.Fatalf("leg listed earlier is gone later: %s", l)
		}
	}
	if len(later) <= len(early) {
		t.Errorf("30 minutes later %d legs are listed, before %d: want more", len(later), len(early))
	}
}

func TestCursorIsStableWhileCallsEnd(t *testing.T) {
	c := simtest.NewClock(simtest.End.Add(-3 * 24 * time.Hour).Add(15 * time.Hour))
	s := newTestSim(t, Config{Now: c.Now, PageSize: 5})
	srv := serve(t, s)
	tg := s.Targets()[0]
	from := c.Now().Add(-3 * time.Hour)
	_, _, body := get(t, srv.URL, "/api/v2/call", callQuery(tg, from.UnixMilli()-1, 0), "sim-token")
	var p1 page
	json.Unmarshal(body, &p1)
	far := simtest.End.Add(24 * time.Hour)
	before := s.Legs(tg, from, far)
	c.Set(c.Now().Add(time.Hour)) // more calls end, some newer than page 1
	rest, _ := listCalls(t, srv.URL, url.Values{"cursor": {*p1.Cursor}})

	// The rest is what is listed now after page 1's last leg: no leg twice,
	// none skipped, and the calls that ended meanwhile but sort before the
	// cursor are left for the next run.
	now := s.Legs(tg, from, far)
	at := -1
	for i, l := range now {
		if string(l) == string(p1.Items[len(p1.Items)-1]) {
			at = i
		}
	}
	if at < 0 || !simtest.EqualRaw(rest, now[at+1:]) {
		t.Fatalf("after the cursor: %d legs, want the %d listed after page 1's last", len(rest), len(now)-at-1)
	}
	if len(now) <= len(before) {
		t.Errorf("an hour later %d legs are listed, before %d: the test shows nothing", len(now), len(before))
	}
}

func TestErrors(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	dept := fmt.Sprint(s.Targets()[0].ID)
	for _, c := range []struct {
		name, path, token string
		q                 url.Values
		code              int
		message           string
	}{
		{"no key", "/api/v2/call", "", nil, 401, "missing API key"},
		{"wrong key", "/api/v2/call", "nope", nil, 401, "invalid API key"},
		{"limited key", "/api/v2/call", "sim-limited", nil, 403, "calls:list"},
		{"unknown target", "/api/v2/call", "sim-token", url.Values{"target_type": {"department"}, "target_id": {"123"}}, 404, "department:123 not found"},
		{"bad started_after", "/api/v2/call", "sim-token", url.Values{"started_after": {"yesterday"}}, 400, "started_after"},
		{"bad cursor", "/api/v2/call", "sim-token", url.Values{"cursor": {"!!"}}, 400, "invalid cursor"},
		{"unknown user", "/api/v2/users/42", "sim-token", nil, 404, "not found"},
		{"operators without key", "/api/v2/departments/" + dept + "/operators", "", nil, 401, "missing API key"},
	} {
		code, _, body := get(t, srv.URL, c.path, c.q, c.token)
		var e struct {
			Error struct {
				Code    int    `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(body, &e); err != nil {
			t.Errorf("%s: body %s is not JSON", c.name, body)
		}
		if code != c.code || e.Error.Code != c.code || !strings.Contains(e.Error.Message, c.message) {
			t.Errorf("%s: %d %s, want %d with %q", c.name, code, body, c.code, c.message)
		}
		if c.token != "" && strings.Contains(string(body), c.token) {
			t.Errorf("%s: the response echoes the key", c.name)
		}
	}
	// The key also works as ?apikey=, and the limited key reads operators.
	if code, _, body := get(t, srv.URL, "/api/v2/call", url.Values{"apikey": {"sim-token"}}, ""); code != 200 {
		t.Errorf("?apikey=: %d %s", code, body)
	}
	if code, _, body := get(t, srv.URL, "/api/v2/departments/"+dept+"/operators", nil, "sim-limited"); code != 200 {
		t.Errorf("limited key on operators: %d %s", code, body)
	}
}

func TestDirectory(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	type user struct {
		ID           string   `json:"id"`
		FirstName    string   `json:"first_name"`
		LastName     string   `json:"last_name"`
		DisplayName  string   `json:"display_name"`
		Emails       []string `json:"emails"`
		PhoneNumbers []string `json:"phone_numbers"`
		State        string   `json:"state"`
		OfficeID     string   `json:"office_id"`
		GroupDetails []struct {
			GroupID   string `json:"group_id"`
			GroupType string `json:"group_type"`
			Role      string `json:"role"`
		} `json:"group_details"`
	}
	memberships := map[string]int{}
	for _, tg := range s.Targets() {
		code, _, body := get(t, srv.URL, fmt.Sprintf("/api/v2/%ss/%d/operators", tg.Type, tg.ID), nil, "sim-token")
		var ops struct {
			Users []user            `json:"users"`
			Rooms []json.RawMessage `json:"rooms"`
		}
		if err := json.Unmarshal(body, &ops); code != 200 || err != nil {
			t.Fatalf("%v operators: %d %v", tg, code, err)
		}
		if len(ops.Users) < 4 || len(ops.Users) > 8 || len(ops.Rooms) != 1 {
			t.Errorf("%v: %d users and %d rooms, want 4-8 and 1", tg, len(ops.Users), len(ops.Rooms))
		}
		for _, u := range ops.Users {
			memberships[u.ID]++
			if !simtest.IDPattern.MatchString(u.ID) || u.DisplayName != u.FirstName+" "+u.LastName || len(u.Emails) != 1 || len(u.PhoneNumbers) != 1 || u.State != "active" {
				t.Errorf("%v: incomplete user %+v", tg, u)
			}
			found := false
			for _, g := range u.GroupDetails {
				found = found || g.GroupID == fmt.Sprint(tg.ID) && g.GroupType == tg.Type && (g.Role == "operator" || g.Role == "admin" || g.Role == "supervisor")
			}
			if !found {
				t.Errorf("%v: user %s lacks its group_details entry: %+v", tg, u.ID, u.GroupDetails)
			}
			code, _, body := get(t, srv.URL, "/api/v2/users/"+u.ID, nil, "sim-token")
			var one user
			if json.Unmarshal(body, &one); code != 200 || one.ID != u.ID {
				t.Errorf("/api/v2/users/%s: %d %s", u.ID, code, body)
			}
		}
	}
	shared := 0
	for _, n := range memberships {
		if n > 1 {
			shared++
		}
	}
	if shared == 0 {
		t.Error("no user is an operator of two groups")
	}
	for typ, want := range map[string]int{"departments": 2, "callcenters": 1} {
		code, _, body := get(t, srv.URL, "/api/v2/"+typ, nil, "sim-token")
		var list struct {
			Items []struct {
				ID   string `json:"id"`
				Name string `json:"name"`
			} `json:"items"`
			Cursor *string `json:"cursor"`
		}
		if err := json.Unmarshal(body, &list); code != 200 || err != nil || len(list.Items) != want || list.Cursor != nil {
			t.Errorf("/api/v2/%s: %d %s", typ, code, body)
		}
	}
	code, _, body := get(t, srv.URL, fmt.Sprintf("/api/v2/offices/%d/operators", s.tr.Company().OfficeID), nil, "sim-token")
	if code != 200 || !strings.Contains(string(body), `"rooms":[{`) {
		t.Errorf("office operators: %d %s", code, body)
	}
}

func TestGroundTruthOverHTTP(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	tg := s.Targets()[2]
	from, to := simtest.End.Add(-48*time.Hour), simtest.End.Add(-24*time.Hour)
	q := url.Values{"target_type": {tg.Type}, "target_id": {fmt.Sprint(tg.ID)},
		"from": {fmt.Sprint(from.UnixMilli())}, "to": {fmt.Sprint(to.UnixMilli())}}
	code, _, body := get(t, srv.URL, "/_sim/legs", q, "sim-token")
	var got page
	if err := json.Unmarshal(body, &got); code != 200 || err != nil {
		t.Fatalf("/_sim/legs: %d %v", code, err)
	}
	if want := s.Legs(tg, from, to); len(want) == 0 || !simtest.EqualRaw(got.Items, want) {
		t.Errorf("/_sim/legs gave %d legs, Legs %d", len(got.Items), len(want))
	}
	if code, _, _ := get(t, srv.URL, "/_sim/legs", q, ""); code != 401 {
		t.Errorf("/_sim/legs without a key: %d, want 401", code)
	}
	code, _, body = get(t, srv.URL, "/_sim/healthz", nil, "")
	if code != 200 || !strings.Contains(string(body), `"status":"ok"`) {
		t.Errorf("/_sim/healthz: %d %s", code, body)
	}
	if st := s.Stats(); st.Requests != 0 {
		t.Errorf("the /_sim/ endpoints counted as %d API requests", st.Requests)
	}
}
