package webhook

import (
	"slices"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// DutyStatusJSON is a call-center operator's duty status as GET
// /api/v2/callcenters/operators/{id}/dutystatus renders it: ids and ms
// as JSON strings, as in Dialpad's example, and unset fields left out.
type DutyStatusJSON struct {
	DutyStatusReason  string `json:"duty_status_reason,omitempty"`
	DutyStatusStarted int64  `json:"duty_status_started,string,omitempty"` // ms
	OnDuty            bool   `json:"on_duty"`
	OnDutyStarted     int64  `json:"on_duty_started,string,omitempty"` // ms; 0 when off duty
	OnDutyStatus      string `json:"on_duty_status"`
	UserID            int64  `json:"user_id,string"`
}

// dutyLookback is how far back DutyStatus first looks for the changes it
// reports. Each weekday's opening and closing change the status, so the
// last change is never further back than a weekend (62 h, 63 across a
// change of the clocks); an on-duty stretch began that day, unless calls
// kept the agent busy through the night, and then DutyStatus looks
// further back.
const dutyLookback = 4 * traffic.MsPerDay

// DutyStatus returns the duty status at now of userID, an operator of the
// call center, read from the timeline their agent status events come
// from: the status and reason of their last change at or before now, and
// its instant; on duty unless unavailable, since their last change from
// unavailable to another status. False when userID is not an operator of
// the call center.
func (hb *Hub) DutyStatus(userID int64, now time.Time) (DutyStatusJSON, bool) {
	co := hb.tr.Company()
	i := slices.IndexFunc(hb.operators, func(pi int) bool { return co.Parties[pi].ID == userID })
	if i < 0 {
		return DutyStatusJSON{}, false
	}
	pi, t := hb.operators[i], now.UnixMilli()
	// Before the oldest leg there is no call to keep an agent busy, so a
	// window that reaches dutyLookback before it holds both changes.
	oldest := t
	if legs := hb.tr.List(); len(legs) > 0 {
		oldest = min(oldest, legs[len(legs)-1].Started)
	}
	var ds DutyStatusJSON
	for back := int64(dutyLookback); ; back *= 2 {
		lo := t - back
		tl := hb.exactTimeline(pi, lo, t+1)
		st := tl.at(t)
		ds = DutyStatusJSON{UserID: userID, OnDutyStatus: st.status, DutyStatusReason: st.reason,
			OnDuty: st.status != "unavailable"}
		cs := tl.changes(lo, t+1)
		if len(cs) > 0 {
			ds.DutyStatusStarted = cs[len(cs)-1]
		}
		if ds.OnDuty {
			// The stretch on duty began at the latest change from unavailable.
			for j := len(cs) - 1; j >= 0 && ds.OnDutyStarted == 0; j-- {
				if tl.at(cs[j]-1).status == "unavailable" {
					ds.OnDutyStarted = cs[j]
				}
			}
		}
		found := ds.DutyStatusStarted != 0 && (!ds.OnDuty || ds.OnDutyStarted != 0)
		if found || lo < oldest-hb.maxSpan-dutyLookback {
			return ds, true
		}
	}
}
