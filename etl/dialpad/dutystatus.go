package dialpad

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// DutyStatus is a call-center operator's duty status now, as Dialpad
// keeps it: the truth that agent status events report changes of.
type DutyStatus struct {
	UserID        int64
	OnDuty        bool      // on duty for call-center calls
	OnDutyStarted time.Time // when the operator went on duty; zero when Dialpad does not say (off duty)
	Status        string    // on_duty_status: available, busy, occupied, occupied-end, unavailable, wrapup or wrapup-end
	Started       time.Time // duty_status_started: when Status began; zero when Dialpad does not say
	Reason        string    // duty_status_reason, e.g. an off-duty reason such as "Lunch Time"; may be empty
}

// wireDutyStatus is schemas.group.OperatorDutyStatusProto. Dialpad's
// description says integers, its example sends strings; any field may
// be null or absent.
type wireDutyStatus struct {
	UserID            wire.ID     `json:"user_id"`
	OnDuty            bool        `json:"on_duty"`
	OnDutyStarted     wire.Millis `json:"on_duty_started"`
	OnDutyStatus      string      `json:"on_duty_status"`
	DutyStatusStarted wire.Millis `json:"duty_status_started"`
	DutyStatusReason  string      `json:"duty_status_reason"`
}

// OperatorDutyStatus returns the current duty status of the call-center
// operator userID (GET /api/v2/callcenters/operators/{id}/dutystatus;
// Dialpad allows 1200 a minute): on duty or not and since when, the
// status and its reason and since when. Agent status events report the
// changes of this state, so it repairs those that were missed. UserID is
// the id Dialpad answers with, else userID. Results are not cached.
//
// A user who is not (or no longer) an operator of a call center is an
// *APIError that matches ErrNotFound.
func (c *Client) OperatorDutyStatus(ctx context.Context, userID int64) (DutyStatus, error) {
	if userID <= 0 {
		return DutyStatus{}, fmt.Errorf("dialpad: duty status of user %d: the id must be positive", userID)
	}
	var w wireDutyStatus
	decode := func(b []byte) error {
		w = wireDutyStatus{}
		err := json.Unmarshal(b, &w)
		var syn *json.SyntaxError
		if t := bytes.TrimSpace(b); errors.As(err, &syn) || len(t) == 0 || t[0] != '{' {
			return fmt.Errorf("not a duty status: %s", wire.Describe(b, err)) // where the JSON breaks, or its type
		}
		if err != nil {
			return fmt.Errorf("not a duty status: %w", err) // a field of the wrong type
		}
		return nil
	}
	target := fmt.Sprintf("user:%d", userID)
	if _, err := c.get(ctx, fmt.Sprintf("/api/v2/callcenters/operators/%d/dutystatus", userID), nil, target, decode); err != nil {
		return DutyStatus{}, fmt.Errorf("duty status of %s: %w", target, err)
	}
	ds := DutyStatus{UserID: int64(w.UserID), OnDuty: w.OnDuty, OnDutyStarted: msTime(w.OnDutyStarted),
		Status: w.OnDutyStatus, Started: msTime(w.DutyStatusStarted), Reason: w.DutyStatusReason}
	if ds.UserID == 0 {
		ds.UserID = userID
	}
	return ds, nil
}

// msTime is the UTC time of ms since the epoch; zero for 0 and before.
func msTime(ms wire.Millis) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(int64(ms)).UTC()
}
