package webhook

import (
	"sort"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// CallCenterStatusJSON is a call center's live status as GET
// /api/v2/callcenters/{id}/status renders it: the int64 counts as JSON
// strings, as Dialpad sends its 64-bit integers.
type CallCenterStatusJSON struct {
	Availability        AvailabilityJSON `json:"availability"`
	Capacity            int64            `json:"capacity,string"`
	LongestCallWaitTime int64            `json:"longest_call_wait_time,string"` // seconds
	OnDutyOperators     int64            `json:"on_duty_operators,string"`
	Pending             int64            `json:"pending,string"`
}

// AvailabilityJSON is schemas.group.AvailabilityStatusProto.
type AvailabilityJSON struct {
	Name   string `json:"name"`
	Status string `json:"status"` // open or closed
}

// CallCenterStatus returns the status at now of call center id, read
// from its traffic and its operators' timeline, or false when id is not
// the company's call center:
//
//	pending                 its customer calls (entry legs) that have
//	                        started and neither connected nor ended: ringing
//	                        or queued, as their events say
//	longest_call_wait_time  the longest of those waits so far, whole seconds
//	on_duty_operators       its operators on duty (DutyStatus)
//	capacity                of those, the ones available now
//	availability            open during the agents' business hours
//	                        (08:00-18:00 local on weekdays; always, for a
//	                        company open around the clock), else closed
func (hb *Hub) CallCenterStatus(id int64, now time.Time) (CallCenterStatusJSON, bool) {
	co := hb.tr.Company()
	cc := len(co.Groups) - 1
	if co.Parties[cc].ID != id {
		return CallCenterStatusJSON{}, false
	}
	t := now.UnixMilli()
	var st CallCenterStatusJSON
	ix, _ := hb.tr.Index(co.Target(cc))
	legs := hb.tr.List()
	p := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started <= t })
	for ; p < len(ix) && legs[ix[p]].Started >= t-hb.maxSpan; p++ {
		l := &legs[ix[p]]
		if l.Flags&traffic.Entry == 0 || int(l.Target) != cc {
			continue
		}
		waitEnd := l.Ended
		if l.Connected >= 0 {
			waitEnd = l.Started + int64(l.Connected)
		}
		if waitEnd > t {
			st.Pending++
			st.LongestCallWaitTime = max(st.LongestCallWaitTime, (t-l.Started)/1000)
		}
	}
	for _, pi := range hb.operators {
		ds, _ := hb.DutyStatus(co.Parties[pi].ID, now)
		if ds.OnDuty {
			st.OnDutyOperators++
			if ds.OnDutyStatus == "available" {
				st.Capacity++
			}
		}
	}
	st.Availability = AvailabilityJSON{Name: "Closed", Status: "closed"}
	lt := now.In(hb.tr.Location())
	if hb.tr.AlwaysOpen() {
		st.Availability = AvailabilityJSON{Name: "Open", Status: "open"}
	} else if wd := lt.Weekday(); wd != time.Saturday && wd != time.Sunday {
		if tod := time.Duration(lt.Hour())*time.Hour + time.Duration(lt.Minute())*time.Minute; tod >= dutyStart && tod < dutyEnd {
			st.Availability = AvailabilityJSON{Name: "Open", Status: "open"}
		}
	}
	return st, true
}
