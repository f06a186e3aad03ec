package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// dutyPath is the duty status endpoint of user id.
func dutyPath(id string) string { return "/api/v2/callcenters/operators/" + id + "/dutystatus" }

// callCenterMembers returns the ids of the call center's users by their
// role there, as its operators list names them.
func callCenterMembers(t *testing.T, s *Sim, base string) map[string][]string {
	t.Helper()
	tg := s.Targets()[len(s.Targets())-1]
	if tg.Type != "callcenter" {
		t.Fatalf("the last target is %v, want the call center", tg)
	}
	code, _, body := get(t, base, fmt.Sprintf("/api/v2/callcenters/%d/operators", tg.ID), nil, "sim-token")
	var ops struct {
		Users []struct {
			ID           string `json:"id"`
			GroupDetails []struct {
				GroupID string `json:"group_id"`
				Role    string `json:"role"`
			} `json:"group_details"`
		} `json:"users"`
	}
	if err := json.Unmarshal(body, &ops); code != 200 || err != nil {
		t.Fatalf("call center operators: %d %v", code, err)
	}
	byRole := map[string][]string{}
	for _, u := range ops.Users {
		for _, g := range u.GroupDetails {
			if g.GroupID == strconv.FormatInt(tg.ID, 10) {
				byRole[g.Role] = append(byRole[g.Role], u.ID)
			}
		}
	}
	if len(byRole["operator"]) < 3 {
		t.Fatalf("the call center has operators %v, want 3 or more", byRole["operator"])
	}
	return byRole
}

// lastChange is what an agent's status events say of them at an instant.
type lastChange struct {
	status, reason string
	date           int64 // ms of the last event at or before the instant
	onDutySince    int64 // ms of the last event that ended an unavailable stretch; 0 when unavailable
}

// fromEvents reads each agent's last change at or before at from the
// simulator's agent status events of the week before.
func fromEvents(t *testing.T, s *Sim, at time.Time) map[string]lastChange {
	t.Helper()
	byAgent := map[string][]wire.AgentStatusEvent{}
	for _, ev := range s.Events(at.Add(-7*24*time.Hour), at.Add(time.Millisecond)) {
		if ev.State != webhook.AgentStatus {
			continue
		}
		d, err := wire.DecodeEvent(ev.Claims)
		if err != nil || d.Agent == nil {
			t.Fatalf("agent status event %s: %v", ev.Claims, err)
		}
		id := d.Agent.Target.ID.String()
		byAgent[id] = append(byAgent[id], *d.Agent)
	}
	out := map[string]lastChange{}
	for id, evs := range byAgent {
		last := evs[len(evs)-1]
		c := lastChange{status: last.OnDutyStatus, reason: last.OnDutyStatusReason, date: int64(last.Date)}
		if c.status != "unavailable" {
			i := len(evs) - 1
			for i > 0 && evs[i-1].OnDutyStatus != "unavailable" {
				i--
			}
			if i == 0 {
				t.Fatalf("agent %s: on duty for the whole week before %v", id, at)
			}
			c.onDutySince = int64(evs[i].Date)
		}
		out[id] = c
	}
	return out
}

// dutyStatus GETs a user's duty status; the ms and the id must be JSON
// strings, as in Dialpad's example.
func dutyStatus(t *testing.T, base, id string) lastChange {
	t.Helper()
	code, _, body := get(t, base, dutyPath(id), nil, "sim-token")
	if code != http.StatusOK {
		t.Fatalf("duty status of %s: %d %s", id, code, body)
	}
	var ds struct {
		UserID        *string `json:"user_id"`
		OnDuty        *bool   `json:"on_duty"`
		OnDutyStarted *string `json:"on_duty_started"`
		Status        *string `json:"on_duty_status"`
		Started       *string `json:"duty_status_started"`
		Reason        string  `json:"duty_status_reason"`
	}
	if err := json.Unmarshal(body, &ds); err != nil {
		t.Fatalf("duty status of %s is not Dialpad's (ids and ms as strings): %v\n%s", id, err, body)
	}
	if ds.UserID == nil || *ds.UserID != id || ds.OnDuty == nil || ds.Status == nil || ds.Started == nil {
		t.Fatalf("duty status of %s lacks a field: %s", id, body)
	}
	c := lastChange{status: *ds.Status, reason: ds.Reason}
	c.date, _ = strconv.ParseInt(*ds.Started, 10, 64)
	if ds.OnDutyStarted != nil {
		c.onDutySince, _ = strconv.ParseInt(*ds.OnDutyStarted, 10, 64)
	}
	if *ds.OnDuty != (c.status != "unavailable") || *ds.OnDuty != (c.onDutySince != 0) {
		t.Errorf("duty status of %s: on_duty %v with on_duty_status %q: %s", id, *ds.OnDuty, c.status, body)
	}
	return c
}

// At each instant the simulator's clock stands on, every operator's duty
// status is what their last agent status event said, and when.
func TestDutyStatusIsTheLastAgentStatusEvent(t *testing.T) {
	t.Parallel()
	clock := simtest.NewClock(simtest.End)
	s := newTestSim(t, Config{Now: clock.Now})
	base := serve(t, s).URL
	ops := callCenterMembers(t, s, base)["operator"]
	local := func(d, h, m int) time.Time { return time.Date(2025, 5, d, h, m, 0, 0, s.cfg.Location) }

	// A change: the first agent status event after 10:00 on Wednesday.
	var change time.Time
	var changed string
	for _, ev := range s.Events(local(14, 10, 0), local(14, 11, 0)) {
		if ev.State == webhook.AgentStatus {
			d, _ := wire.DecodeEvent(ev.Claims)
			change, changed = ev.At, d.Agent.Target.ID.String()
			break
		}
	}
	if change.IsZero() {
		t.Fatal("no agent status change on Wednesday 10:00-11:00")
	}

	seen := map[string]int{}
	for _, at := range []struct {
		name    string
		t       time.Time
		changed string // an operator whose status changes at t
	}{
		{"Thursday mid-morning", local(15, 10, 30), ""},
		{"Thursday 12:20, lunch", local(15, 12, 20), ""}, // lunch starts 12:00-12:45 and lasts 30 minutes
		{"Thursday 12:50, lunch", local(15, 12, 50), ""},
		{"Saturday afternoon", local(17, 15, 0), ""},
		{"Monday before opening, after a weekend", local(12, 7, 30), ""},
		{"at a change", change, changed},
		{"just before that change", change.Add(-time.Millisecond), ""},
	} {
		clock.Set(at.t)
		want := fromEvents(t, s, at.t)
		if len(want) != len(ops) {
			t.Fatalf("%s: status events of %d agents, the call center has %d operators", at.name, len(want), len(ops))
		}
		for _, id := range ops {
			got := dutyStatus(t, base, id)
			if got != want[id] {
				t.Errorf("%s: operator %s: duty status %+v, their events say %+v", at.name, id, got, want[id])
			}
			seen[got.status+"/"+got.reason]++
			if id == at.changed && got.date != at.t.UnixMilli() {
				t.Errorf("%s: operator %s changed at %d, duty_status_started %d", at.name, id, at.t.UnixMilli(), got.date)
			}
		}
	}
	// The instants cover the statuses a day goes through.
	for _, st := range []string{"available/", "occupied/", "unavailable/", "unavailable/lunch"} {
		if seen[st] == 0 {
			t.Errorf("no operator was %s at any instant: %v", st, seen)
		}
	}
}

// A user who is not an operator of the call center, or no user at all,
// is Dialpad's 404.
func TestDutyStatusOfOthers(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	base := serve(t, s).URL
	members := callCenterMembers(t, s, base)
	others := append([]string{"1234", "not-an-id"}, members["supervisor"]...)
	others = append(others, members["admin"]...)
	if len(others) < 3 {
		t.Fatalf("the call center has no supervisor or admin: %v", members)
	}
	for _, id := range others {
		code, _, body := get(t, base, dutyPath(id), nil, "sim-token")
		if code != http.StatusNotFound || errorMessage(t, body) == "" {
			t.Errorf("duty status of %s: %d %s, want 404 with Dialpad's error body", id, code, body)
		}
	}
	if code, _, _ := get(t, base, dutyPath(members["operator"][0]), nil, ""); code != http.StatusUnauthorized {
		t.Errorf("without a key: %d, want 401", code)
	}
	hookDo(t, base, http.MethodPost, dutyPath(members["operator"][0]), `{}`, http.StatusMethodNotAllowed, nil)
}

func TestDutyStatusCountsAgainstTheRateLimit(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{RateLimit: 1, Burst: 1})
	frozen := time.Now()
	s.limiter = newBucket(1, 1, func() time.Time { return frozen }) // no refill
	base := serve(t, s).URL
	id := strconv.FormatInt(s.tr.Company().Parties[s.tr.Company().Groups[len(s.tr.Company().Groups)-1].Members[0]].ID, 10)
	var codes []int
	for range 2 {
		code, _, _ := get(t, base, dutyPath(id), nil, "sim-token")
		codes = append(codes, code)
	}
	if st := s.Stats(); codes[0] == 429 || codes[1] != 429 || st.Requests != 2 || st.RateLimited != 1 {
		t.Errorf("two requests with a bucket of one: %v, stats %+v", codes, st)
	}
}
