package dialpad_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
)

// dutyWorld is a simulator over HTTP whose clock stands at now, a client
// of it, and the user ids of its call center's operators.
func dutyWorld(t *testing.T, now time.Time) (*httptest.Server, *dialpad.Client, []int64) {
	t.Helper()
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: now.AddDate(0, 0, -4), End: now.AddDate(0, 0, 1),
		RateLimit: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	t.Cleanup(srv.Close)
	c, err := dialpad.New(srv.URL, "sim-token", dialpad.WithClock(func() time.Time { return now }), dialpad.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	cc := sim.Targets()[len(sim.Targets())-1]
	ops, err := c.Operators(t.Context(), cc)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, o := range ops {
		if o.Role == "operator" {
			ids = append(ids, o.ID)
		}
	}
	if cc.Type != "callcenter" || len(ids) < 3 {
		t.Fatalf("%v has operators %v, want a call center's 3 or more", cc, ids)
	}
	return srv, c, ids
}

// rawDutyStatus is the simulator's answer for a user, read without the
// client: ms and ids as the strings Dialpad's example sends.
func rawDutyStatus(t *testing.T, base string, id int64) dialpad.DutyStatus {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v2/callcenters/operators/%d/dutystatus", base, id), nil)
	req.Header.Set("Authorization", "Bearer sim-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var raw map[string]any
	if err := json.Unmarshal(body, &raw); err != nil || resp.StatusCode != 200 {
		t.Fatalf("duty status of %d: %d %s", id, resp.StatusCode, body)
	}
	ms := func(key string) time.Time {
		if raw[key] == nil {
			return time.Time{}
		}
		n, err := strconv.ParseInt(raw[key].(string), 10, 64)
		if err != nil {
			t.Fatalf("%s: %v in %s", key, err, body)
		}
		return time.UnixMilli(n).UTC()
	}
	ds := dialpad.DutyStatus{OnDuty: raw["on_duty"].(bool), OnDutyStarted: ms("on_duty_started"),
		Status: raw["on_duty_status"].(string), Started: ms("duty_status_started")}
	ds.UserID, _ = strconv.ParseInt(raw["user_id"].(string), 10, 64)
	if r, ok := raw["duty_status_reason"]; ok {
		ds.Reason = r.(string)
	}
	return ds
}

// OperatorDutyStatus reads every field of what the simulator answers for
// each operator at lunch time, when some are at lunch and some on duty.
func TestOperatorDutyStatusReadsEveryField(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	now := time.Date(2025, 5, 15, 12, 20, 0, 0, ny) // a Thursday; lunch starts 12:00-12:45 and lasts 30 minutes
	srv, c, ids := dutyWorld(t, now)
	var lunch, onDuty int
	for _, id := range ids {
		got, err := c.OperatorDutyStatus(t.Context(), id)
		if err != nil {
			t.Fatalf("operator %d: %v", id, err)
		}
		if want := rawDutyStatus(t, srv.URL, id); got != want {
			t.Errorf("operator %d: got %+v, the simulator sent %+v", id, got, want)
		}
		if got.UserID != id || got.Started.IsZero() || got.Started.After(now) || got.Started.Location() != time.UTC {
			t.Errorf("operator %d: %+v", id, got)
		}
		switch {
		case got.Status == "unavailable" && got.Reason == "lunch" && !got.OnDuty && got.OnDutyStarted.IsZero():
			lunch++
		case got.OnDuty && !got.OnDutyStarted.IsZero() && !got.OnDutyStarted.After(got.Started):
			onDuty++
		default:
			t.Errorf("operator %d at lunch time: %+v", id, got)
		}
	}
	if lunch == 0 || onDuty == 0 {
		t.Errorf("at 12:20 on a Thursday %d of %d operators at lunch and %d on duty, want some of each", lunch, len(ids), onDuty)
	}
}

// OperatorDutyStatus reads the ms and ids as strings (Dialpad's example)
// and as numbers (its description), and null or absent fields as unset.
func TestOperatorDutyStatusForms(t *testing.T) {
	jan1 := time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC) // 1356998400000
	bodies := map[string]string{
		"/api/v2/callcenters/operators/2/dutystatus": `{"duty_status_reason":"Lunch Time","duty_status_started":"1356998400000",
			"on_duty":false,"on_duty_started":"1356998400000","on_duty_status":"unavailable","user_id":"2"}`,
		"/api/v2/callcenters/operators/3/dutystatus": `{"duty_status_reason":null,"duty_status_started":1356998400000,
			"on_duty":true,"on_duty_started":1356998400000,"on_duty_status":"available","user_id":3}`,
		"/api/v2/callcenters/operators/4/dutystatus": `{"duty_status_reason":null,"duty_status_started":null,
			"on_duty":null,"on_duty_started":null,"on_duty_status":null,"user_id":null}`,
		"/api/v2/callcenters/operators/5/dutystatus": `{"duty_status_started":"0","on_duty_status":"wrapup-end","unknown":{"x":[1]}}`,
		"/api/v2/callcenters/operators/6/dutystatus": `[{"user_id":"6"}]`,
		"/api/v2/callcenters/operators/7/dutystatus": `{"user_id":"seven"}`,
		"/api/v2/callcenters/operators/8/dutystatus": `null`,
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := bodies[r.URL.Path]
		if !ok || r.Method != http.MethodGet {
			http.Error(w, `{"error":{"message":"not found"}}`, http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, body)
	}))
	t.Cleanup(srv.Close)
	c, err := dialpad.New(srv.URL, "test-token", dialpad.WithMaxAttempts(2), dialpad.WithBackoff(0, 0))
	if err != nil {
		t.Fatal(err)
	}
	for id, want := range map[int64]dialpad.DutyStatus{
		2: {UserID: 2, OnDuty: false, OnDutyStarted: jan1, Status: "unavailable", Started: jan1, Reason: "Lunch Time"},
		3: {UserID: 3, OnDuty: true, OnDutyStarted: jan1, Status: "available", Started: jan1},
		4: {UserID: 4},
		5: {UserID: 5, Status: "wrapup-end"},
	} {
		got, err := c.OperatorDutyStatus(t.Context(), id)
		if err != nil || got != want {
			t.Errorf("%s:\ngot  %+v, %v\nwant %+v", bodies[fmt.Sprintf("/api/v2/callcenters/operators/%d/dutystatus", id)], got, err, want)
		}
	}
	// A body that is not a duty status is a bad response, tried again.
	for id, say := range map[int64]string{6: "got an array", 7: "not an integer", 8: "got null"} {
		_, err := c.OperatorDutyStatus(t.Context(), id)
		if !errors.Is(err, dialpad.ErrBadResponse) || !strings.Contains(err.Error(), say) || !strings.Contains(err.Error(), "after 2 attempts") {
			t.Errorf("user %d: %v, want a bad response that says %q, after 2 attempts", id, err, say)
		}
	}
}

// A user who is not an operator of the call center is Dialpad's 404,
// which the caller recognises and which is not tried again.
func TestOperatorDutyStatusOfNoOperator(t *testing.T) {
	_, c, ids := dutyWorld(t, time.Date(2025, 5, 15, 15, 0, 0, 0, time.UTC))
	_, err := c.OperatorDutyStatus(t.Context(), ids[0]+1)
	var apiErr *dialpad.APIError
	if !errors.Is(err, dialpad.ErrNotFound) || !errors.As(err, &apiErr) || apiErr.Status != 404 || apiErr.Attempts != 1 ||
		!strings.Contains(apiErr.Message, "not an operator") || !strings.Contains(err.Error(), fmt.Sprint(ids[0]+1)) {
		t.Errorf("a user who is no operator: %v", err)
	}
	if _, err := c.OperatorDutyStatus(t.Context(), 0); err == nil || !strings.Contains(err.Error(), "positive") {
		t.Errorf("user 0: %v", err)
	}
}
