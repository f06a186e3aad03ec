package dialpad

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

const operatorsBody = `{"users":[
 {"id":"5925466191249408","display_name":"Agent Name","first_name":"Agent","last_name":"Name","emails":["agent@example.com"],
  "phone_numbers":["+12522830626"],"state":"active","is_on_duty":true,"on_duty_status":"available","company_id":"5311371869962240",
  "group_details":[{"group_id":"130","group_type":"office","role":"admin"},{"group_id":"4869792674824192","group_type":"department","role":"operator"}]},
 {"id":5925466191249409,"first_name":"Bo","last_name":"Li","emails":null,"group_details":[{"group_id":"999","role":"supervisor"}],"unknown":{"x":1}}
],"rooms":[{"id":"1127","name":"Front desk","phone_numbers":["+14155551001"],"state":"active","is_on_duty":false}]}`

func TestOperatorsOfDepartment(t *testing.T) {
	f := newFake(t, 0)
	f.ops = operatorsBody
	srv := f.start()
	c := f.client(srv)
	ops, err := c.Operators(t.Context(), dept)
	if err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	want := []Operator{
		{ID: 5925466191249408, Kind: "user", DisplayName: "Agent Name", FirstName: "Agent", LastName: "Name",
			Emails: []string{"agent@example.com"}, PhoneNumbers: []string{"+12522830626"}, Role: "operator",
			State: "active", OnDuty: &on, DutyStatus: "available"},
		{ID: 5925466191249409, Kind: "user", DisplayName: "Bo Li", FirstName: "Bo", LastName: "Li"},
		{ID: 1127, Kind: "room", DisplayName: "Front desk", PhoneNumbers: []string{"+14155551001"}, State: "active", OnDuty: &off},
	}
	if !reflect.DeepEqual(ops, want) {
		t.Errorf("got\n%+v\nwant\n%+v", ops, want)
	}
	if f.urls[0] != "/api/v2/departments/4869792674824192/operators" {
		t.Errorf("requested %s", f.urls[0])
	}
}

func TestOperatorsOfUser(t *testing.T) {
	f := newFake(t, 0)
	f.user = `{"id":"5835806903417907","display_name":"テÉst Bot","emails":["bot@fuzz-ball.com"],"state":"active",
		"group_details":[{"group_id":"5220648944236254","group_type":"callcenter","role":"admin"}]}`
	srv := f.start()
	c := f.client(srv)
	ops, err := c.Operators(t.Context(), Target{Type: "user", ID: 5835806903417907})
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 1 || ops[0].ID != 5835806903417907 || ops[0].DisplayName != "テÉst Bot" || ops[0].Role != "" || ops[0].Kind != "user" {
		t.Errorf("got %+v", ops)
	}
	if f.urls[0] != "/api/v2/users/5835806903417907" {
		t.Errorf("requested %s", f.urls[0])
	}
}

func TestOperatorsUnknownTarget(t *testing.T) {
	f := newFake(t, 0) // serves 404 for operators
	srv := f.start()
	c := f.client(srv)
	target := Target{Type: "callcenter", ID: 42}
	_, err := c.Operators(t.Context(), target)
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "callcenter:42 does not exist") || f.requests() != 1 {
		t.Errorf("err = %v after %d requests", err, f.requests())
	}
	// Failures are not cached.
	f.mu.Lock()
	f.ops = operatorsBody
	f.mu.Unlock()
	if _, err := c.Operators(t.Context(), target); err != nil || f.requests() != 2 {
		t.Errorf("after the target appeared: %v, %d requests", err, f.requests())
	}
}

func TestOperatorsAreCachedForTTL(t *testing.T) {
	f := newFake(t, 0)
	f.ops = operatorsBody
	srv := f.start()
	var now atomic.Int64
	now.Store(day0.UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	c := f.client(srv, WithOperatorsTTL(time.Hour), WithClock(clock))

	for range 2 {
		if _, err := c.Operators(t.Context(), dept); err != nil {
			t.Fatal(err)
		}
	}
	if f.requests() != 1 {
		t.Fatalf("%d requests for two calls within the TTL, want 1", f.requests())
	}
	now.Add(int64(59 * time.Minute))
	ops, _ := c.Operators(t.Context(), dept)
	ops[0].DisplayName = "changed by the caller"
	if ops, _ = c.Operators(t.Context(), dept); ops[0].DisplayName != "Agent Name" {
		t.Errorf("a caller's change leaked into the cache: %q", ops[0].DisplayName)
	}
	if f.requests() != 1 {
		t.Fatalf("%d requests after 59 minutes, want 1", f.requests())
	}
	now.Add(int64(2 * time.Minute))
	if _, err := c.Operators(t.Context(), dept); err != nil || f.requests() != 2 {
		t.Fatalf("after the TTL: %v, %d requests, want 2", err, f.requests())
	}
	if _, err := c.Operators(t.Context(), Target{Type: "office", ID: 130}); err != nil || f.requests() != 3 {
		t.Errorf("another target: %v, %d requests, want 3", err, f.requests())
	}
}

func TestOperatorsConcurrentCallersShareOneRequest(t *testing.T) {
	f := newFake(t, 0)
	f.ops = operatorsBody
	release := make(chan struct{})
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		<-release
		return false
	})
	srv := f.start()
	c := f.client(srv)
	var wg sync.WaitGroup
	var got atomic.Int64
	for range 10 {
		wg.Go(func() {
			ops, err := c.Operators(t.Context(), dept)
			if err != nil {
				t.Error(err)
			}
			got.Add(int64(len(ops)))
		})
	}
	time.Sleep(100 * time.Millisecond) // let them all ask
	close(release)
	wg.Wait()
	if f.requests() != 1 || got.Load() != 30 {
		t.Errorf("%d requests, %d operators in all; want 1 request and 10×3 operators", f.requests(), got.Load())
	}
}
