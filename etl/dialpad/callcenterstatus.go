package dialpad

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// CallCenterStatus is a call center's live status as Dialpad reports it:
// its own figures of the queue and the operators, beside those the job
// counts from events.
type CallCenterStatus struct {
	// Availability is open, closed, holiday_open or holiday_closed
	// (empty when Dialpad does not say); AvailabilityName its
	// description, e.g. the holiday's name.
	Availability     string
	AvailabilityName string
	Capacity         int64 // operators available to take a call now
	OnDutyOperators  int64 // operators on duty
	Pending          int64 // calls waiting in the queue
	LongestWaitS     int64 // the longest of those waits so far, in seconds
}

// Open reports whether the call center takes calls now: open, or open
// on a holiday.
func (s CallCenterStatus) Open() bool {
	return s.Availability == "open" || s.Availability == "holiday_open"
}

// wireCallCenterStatus is schemas.group.CallCenterStatusProto. Every
// field may be null; the int64 counts may come as strings, like Dialpad's
// other 64-bit integers.
type wireCallCenterStatus struct {
	Availability *struct {
		Name   string `json:"name"`
		Status string `json:"status"`
	} `json:"availability"`
	Capacity            wire.Float `json:"capacity"`
	LongestCallWaitTime wire.Float `json:"longest_call_wait_time"`
	OnDutyOperators     wire.Float `json:"on_duty_operators"`
	Pending             wire.Float `json:"pending"`
}

// CallCenterStatus returns the live status of call center id (GET
// /api/v2/callcenters/{id}/status; Dialpad allows 1200 a minute): open or
// closed, operators on duty and available, calls waiting and the longest
// wait. It goes through the client's rate limiter and retries like every
// request. A null or absent count reads as 0; a negative one as 0.
//
// An unknown call center is an *APIError that matches ErrNotFound.
func (c *Client) CallCenterStatus(ctx context.Context, id int64) (CallCenterStatus, error) {
	if id <= 0 {
		return CallCenterStatus{}, fmt.Errorf("dialpad: status of call center %d: the id must be positive", id)
	}
	var w wireCallCenterStatus
	decode := func(b []byte) error {
		w = wireCallCenterStatus{}
		err := json.Unmarshal(b, &w)
		var syn *json.SyntaxError
		if t := bytes.TrimSpace(b); errors.As(err, &syn) || len(t) == 0 || t[0] != '{' {
			return fmt.Errorf("not a call center status: %s", wire.Describe(b, err))
		}
		if err != nil {
			return fmt.Errorf("not a call center status: %w", err)
		}
		return nil
	}
	target := Target{Type: "callcenter", ID: id}.String()
	if _, err := c.get(ctx, fmt.Sprintf("/api/v2/callcenters/%d/status", id), nil, target, decode); err != nil {
		return CallCenterStatus{}, fmt.Errorf("status of %s: %w", target, err)
	}
	count := func(f wire.Float) int64 { return int64(math.Max(math.Round(float64(f)), 0)) }
	s := CallCenterStatus{Capacity: count(w.Capacity), OnDutyOperators: count(w.OnDutyOperators),
		Pending: count(w.Pending), LongestWaitS: count(w.LongestCallWaitTime)}
	if w.Availability != nil {
		s.Availability, s.AvailabilityName = w.Availability.Status, w.Availability.Name
	}
	return s, nil
}
