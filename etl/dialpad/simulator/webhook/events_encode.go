package webhook

import (
	"strconv"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// appendCallEvent appends the payload of a call event of l at time t:
// the leg as traffic's AppendLeg writes it, with the changes of Dialpad's
// webhook encoding (64-bit integers as numbers, explicit nulls) and only
// what is known at t. The decorations come from the same hashes as in
// AppendLeg, so a final event, and each event after it, carries the same
// leg as the list; keep the two in step (TestFinalEventsMatchTheList and
// TestEventsAfterTheCallMatchTheList compare them).
//
// Before the end (!ended): date_ended, duration (0), labels, scores,
// recordings and share links are not known yet; total_duration is the
// time since date_started; date_connected and date_rang are null until
// they happen. The events after the end add what they tell: pcsat_score
// ("1" to "5") in a pcsat event, and in a dispositions event
// "dispositions": [{"id": "<id>", "name": "<name>"}, ...]; Dialpad
// publishes neither [assume].
func (hb *Hub) appendCallEvent(b []byte, l *traffic.Leg, pl *legPlan, t int64, state string, ended bool) []byte {
	c := hb.tr.Company()
	h, h2 := hb.tr.LegHashes(l)
	connected := l.Connected >= 0 // in the list: at the end
	conn := connected && t >= l.Started+int64(l.Connected)
	entry := l.Flags&traffic.Entry != 0
	inbound := l.Flags&traffic.Inbound != 0
	viaGroup := inbound || l.Flags&traffic.ProxyGroup != 0
	recorded := l.Flags&traffic.Recorded != 0 && connected
	grp := &c.Parties[l.Group]

	b = append(b, `{"call_id":`...)
	b = strconv.AppendInt(b, l.ID, 10)
	if ended && recorded {
		b = append(b, `,"call_recording_share_links":["https://dialpad.com/shared/call/`...)
		b = traffic.AppendToken(b, h2)
		b = append(b, `"]`...)
	}
	b = append(b, `,"contact":`...)
	b = appendPartyNumeric(b, &c.Customers[l.Contact])
	if ended {
		b = traffic.AppendCSAT(b, l, h)
	}
	b = appendNullableMillis(b, `,"date_connected":`, l.Started+int64(l.Connected), conn)
	b = appendNullableMillis(b, `,"date_ended":`, l.Ended, ended)
	b = appendNullableMillis(b, `,"date_first_rang":`, pl.firstRang, pl.firstRang > 0 && t >= pl.firstRang)
	rang := l.Started + int64(l.Rang)
	b = appendNullableMillis(b, `,"date_queued":`, rang, entry && l.Rang >= 0 && t >= rang)
	b = appendNullableMillis(b, `,"date_rang":`, rang, l.Rang >= 0 && t >= rang)
	b = append(b, `,"date_started":`...)
	b = strconv.AppendInt(b, l.Started, 10)
	if inbound {
		b = append(b, `,"direction":"inbound"`...)
	} else {
		b = append(b, `,"direction":"outbound"`...)
	}
	if state == evDispositions {
		b = append(b, `,"dispositions":[`...)
		for i, d := range c.Dispositions(l, h) {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"id":"`...)
			b = strconv.AppendInt(b, c.DispositionID(d), 10)
			b = append(b, `","name":`...)
			b = traffic.AppendString(b, d)
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	b = append(b, `,"duration":`...)
	if ended {
		ms, frac := traffic.TalkDuration(l, h)
		b = traffic.AppendMillisFrac(b, ms, frac)
	} else {
		b = append(b, '0')
	}
	if id := traffic.EntryPointID(l, h); id != 0 {
		b = append(b, `,"entry_point_call_id":`...)
		b = strconv.AppendInt(b, id, 10)
	}
	if inbound {
		b = append(b, `,"entry_point_target":`...)
		b = appendPartyNumeric(b, grp)
	}
	b = append(b, `,"event_timestamp":`...)
	b = strconv.AppendInt(b, t, 10)
	b = append(b, `,"external_number":`...)
	b = append(b, c.Customers[l.Contact].QNum...)
	if viaGroup {
		b = append(b, `,"group_id":`...) // a string in events too: wire.Call reads it as one
		b = append(b, grp.QID...)
		b = append(b, `,"internal_number":`...)
		b = append(b, grp.QNum...)
	} else {
		b = append(b, `,"internal_number":`...)
		b = append(b, c.Parties[l.Target].QNum...)
	}
	holdTime, talkTime := pl.times(l, min(t, l.Ended))
	b = append(b, `,"hold_time":`...)
	b = strconv.AppendInt(b, holdTime, 10)
	b = append(b, `,"is_internal":false,"is_transferred":`...)
	b = strconv.AppendBool(b, ended && l.Flags&traffic.Transferred != 0)
	if labels := c.Labels(l, h); ended && labels != nil {
		b = append(b, `,"labels":`...)
		b = append(b, labels...)
	}
	if id := traffic.MasterID(l, h); id != 0 {
		b = append(b, `,"master_call_id":`...)
		b = strconv.AppendInt(b, id, 10)
	}
	if ended && connected {
		b = append(b, `,"mos_score":`...)
		b = traffic.AppendMOS(b, h2)
	}
	if l.EntryID != 0 && (h>>38)&15 < 4 {
		b = append(b, `,"operator_call_id":`...)
		b = strconv.AppendInt(b, l.EntryID, 10)
	}
	if state == evPCSAT {
		b = append(b, `,"pcsat_score":`...)
		b = traffic.AppendString(b, c.PCSATScore(l, h))
	}
	switch {
	case l.Flags&traffic.ProxyGroup != 0:
		b = append(b, `,"proxy_target":`...)
		b = appendPartyNumeric(b, grp)
	case (h>>58)&15 < 10:
		b = append(b, `,"proxy_target":{}`...)
	}
	if ended {
		b = traffic.AppendRecordings(b, l, h2, recorded, traffic.AppendInt)
	}
	b = append(b, `,"state":`...)
	b = traffic.AppendString(b, state)
	b = append(b, `,"talk_time":`...)
	b = strconv.AppendInt(b, talkTime, 10)
	b = append(b, `,"target":`...)
	b = appendPartyNumeric(b, &c.Parties[l.Target])
	b = append(b, `,"total_duration":`...)
	if ended {
		b = traffic.AppendMillisFrac(b, l.Ended-l.Started, 1+int64(h>>10&1023)%999)
	} else {
		b = strconv.AppendInt(b, t-l.Started, 10)
	}
	b = append(b, `,"transferred_from":null`...)
	if ended && l.Flags&traffic.Voicemail != 0 {
		tok := traffic.AppendToken(nil, traffic.Mix64(h2))
		b = append(b, `,"voicemail_link":"https://dialpad.com/shared/voicemail/`...)
		b = append(b, tok...)
		b = append(b, `","voicemail_share_link":"https://dialpad.com/shared/voicemail/`...)
		b = append(b, tok...)
		b = append(b, '"')
	}
	b = append(b, `,"was_recorded":`...)
	return append(strconv.AppendBool(b, recorded && (ended || conn)), '}')
}

// times returns the ms on hold (0 until the hold ends) and the ms talked
// (connected, not on hold) by t.
func (pl *legPlan) times(l *traffic.Leg, t int64) (hold, talk int64) {
	if l.Connected < 0 || t < l.Started+int64(l.Connected) {
		return 0, 0
	}
	talk = t - l.Started - int64(l.Connected)
	if pl.holdStart > 0 && t >= pl.holdStart {
		on := min(t, pl.holdEnd) - pl.holdStart
		talk -= on
		if t >= pl.holdEnd {
			hold = on
		}
	}
	return hold, talk
}

// appendNullableMillis appends key and v, or null when !known.
func appendNullableMillis(b []byte, key string, v int64, known bool) []byte {
	b = append(b, key...)
	if !known {
		return append(b, "null"...)
	}
	return strconv.AppendInt(b, v, 10)
}

// appendPartyNumeric appends p as renderParty does, with a numeric id.
func appendPartyNumeric(b []byte, p *traffic.Party) []byte {
	b = append(b, '{')
	if p.Email != "" {
		b = append(b, `"email":`...)
		b = traffic.AppendString(b, p.Email)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = strconv.AppendInt(b, p.ID, 10)
	if p.Name != "" {
		b = append(b, `,"name":`...)
		b = traffic.AppendString(b, p.Name)
	}
	if p.Phone != "" {
		b = append(b, `,"phone":`...)
		b = traffic.AppendString(b, p.Phone)
	}
	b = append(b, `,"type":`...)
	b = traffic.AppendString(b, p.Type)
	return append(b, '}')
}
