package events_test

// What the tests on fakes and those on ClickHouse share: the secret,
// the targets, and events as Dialpad sends them.

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

const secret = "a-webhook-secret-of-32-characters"

var (
	dept  = dialpad.Target{Type: "department", ID: 700}
	other = dialpad.Target{Type: "department", ID: 800}
)

// sign makes claims a webhook body signed with the secret.
func sign(t *testing.T, claims string) string {
	t.Helper()
	tok, err := wire.SignEvent([]byte(claims), []byte(secret))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// base is an hour ago: live states of legs started days ago are dropped.
var base = time.Now().UTC().Add(-time.Hour).Truncate(time.Minute)

// at is base plus s seconds, in ms.
func at(s float64) int64 { return base.UnixMilli() + int64(s*1000) }

// event is a call event as Dialpad sends it: ids as numbers, explicit
// nulls. fields override or add to the leg's.
func event(callID int64, state string, ts int64, fields map[string]any) string {
	m := map[string]any{
		"call_id": callID, "state": state, "event_timestamp": ts, "direction": "inbound",
		"date_started": at(0), "date_connected": nil, "date_ended": nil, "duration": 0,
		"target":      map[string]any{"id": dept.ID, "type": "department", "name": "Support"},
		"contact":     map[string]any{"id": 91, "type": "local", "name": "Dana Caller", "phone": "+15550100"},
		"is_internal": false, "transferred_from": nil, "external_number": "+15550100",
		"entry_point_target": map[string]any{"id": dept.ID, "type": "department", "name": "Support"},
	}
	for k, v := range fields {
		m[k] = v
	}
	b, _ := json.Marshal(m)
	return string(b)
}
