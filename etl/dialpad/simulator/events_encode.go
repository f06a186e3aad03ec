package simulator

import "strconv"

// appendCallEvent appends the payload of a call event of l at time t:
// the leg as appendLeg writes it, with the changes of Dialpad's webhook
// encoding (64-bit integers as numbers, explicit nulls) and only what is
// known at t. The decorations come from the same hashes as in appendLeg,
// so a final event carries the same leg as the list; keep the two in
// step (TestFinalEventsMatchTheList compares them).
//
// Before the end: date_ended, duration (0), labels, scores, recordings
// and share links are not known yet; total_duration is the time since
// date_started; date_connected and date_rang are null until they happen.
func (hb *Hub) appendCallEvent(b []byte, l *leg, pl *legPlan, t int64, state string, final bool) []byte {
	c := hb.tr.co
	h, h2 := hb.tr.legHashes(l)
	connected := l.connected >= 0 // in the list: at the end
	conn := connected && t >= l.started+int64(l.connected)
	entry := l.flags&fEntry != 0
	inbound := l.flags&fInbound != 0
	viaGroup := inbound || l.flags&fProxyGroup != 0
	recorded := l.flags&fRecorded != 0 && connected
	grp := &c.parties[l.group]

	b = append(b, `{"call_id":`...)
	b = strconv.AppendInt(b, l.id, 10)
	if final && recorded {
		b = append(b, `,"call_recording_share_links":["https://dialpad.com/shared/call/`...)
		b = appendToken(b, h2)
		b = append(b, `"]`...)
	}
	b = append(b, `,"contact":`...)
	b = appendPartyNumeric(b, &c.customers[l.contact])
	if csat := csatScore(l, h); final && csat != "" {
		b = append(b, `,"csat_score":"`...)
		b = append(b, csat...)
		b = append(b, '"')
	}
	b = appendNullableMillis(b, `,"date_connected":`, l.started+int64(l.connected), conn)
	b = appendNullableMillis(b, `,"date_ended":`, l.ended, final)
	b = appendNullableMillis(b, `,"date_first_rang":`, pl.firstRang, pl.firstRang > 0 && t >= pl.firstRang)
	rang := l.started + int64(l.rang)
	b = appendNullableMillis(b, `,"date_queued":`, rang, entry && l.rang >= 0 && t >= rang)
	b = appendNullableMillis(b, `,"date_rang":`, rang, l.rang >= 0 && t >= rang)
	b = append(b, `,"date_started":`...)
	b = strconv.AppendInt(b, l.started, 10)
	if inbound {
		b = append(b, `,"direction":"inbound","duration":`...)
	} else {
		b = append(b, `,"direction":"outbound","duration":`...)
	}
	if final {
		ms, frac := talkDuration(l, h)
		b = appendMillisFrac(b, ms, frac)
	} else {
		b = append(b, '0')
	}
	if id := entryPointID(l, h); id != 0 {
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
	b = append(b, c.customers[l.contact].qnum...)
	if viaGroup {
		b = append(b, `,"group_id":`...) // a string in events too: wire.Call reads it as one
		b = append(b, grp.qid...)
		b = append(b, `,"internal_number":`...)
		b = append(b, grp.qnum...)
	} else {
		b = append(b, `,"internal_number":`...)
		b = append(b, c.parties[l.target].qnum...)
	}
	holdTime, talkTime := pl.times(l, t)
	b = append(b, `,"hold_time":`...)
	b = strconv.AppendInt(b, holdTime, 10)
	b = append(b, `,"is_internal":false,"is_transferred":`...)
	b = strconv.AppendBool(b, final && l.flags&fTransferred != 0)
	if labels := c.groups[l.group].labels; final && (h>>49)&15 < 5 && (inbound || connected) {
		b = append(b, `,"labels":`...)
		b = append(b, labels[int(h>>53&31)%len(labels)]...)
	}
	if id := masterID(l, h); id != 0 {
		b = append(b, `,"master_call_id":`...)
		b = strconv.AppendInt(b, id, 10)
	}
	if final && connected {
		b = append(b, `,"mos_score":`...)
		b = appendMOS(b, h2)
	}
	if l.entryID != 0 && (h>>38)&15 < 4 {
		b = append(b, `,"operator_call_id":`...)
		b = strconv.AppendInt(b, l.entryID, 10)
	}
	switch {
	case l.flags&fProxyGroup != 0:
		b = append(b, `,"proxy_target":`...)
		b = appendPartyNumeric(b, grp)
	case (h>>58)&15 < 10:
		b = append(b, `,"proxy_target":{}`...)
	}
	if final {
		b = appendRecordings(b, l, h2, recorded, appendInt)
	}
	b = append(b, `,"state":`...)
	b = appendString(b, state)
	b = append(b, `,"talk_time":`...)
	b = strconv.AppendInt(b, talkTime, 10)
	b = append(b, `,"target":`...)
	b = appendPartyNumeric(b, &c.parties[l.target])
	b = append(b, `,"total_duration":`...)
	if final {
		b = appendMillisFrac(b, l.ended-l.started, 1+int64(h>>10&1023)%999)
	} else {
		b = strconv.AppendInt(b, t-l.started, 10)
	}
	b = append(b, `,"transferred_from":null`...)
	if final && l.flags&fVoicemail != 0 {
		tok := appendToken(nil, mix64(h2))
		b = append(b, `,"voicemail_link":"https://dialpad.com/shared/voicemail/`...)
		b = append(b, tok...)
		b = append(b, `","voicemail_share_link":"https://dialpad.com/shared/voicemail/`...)
		b = append(b, tok...)
		b = append(b, '"')
	}
	b = append(b, `,"was_recorded":`...)
	return append(strconv.AppendBool(b, recorded && (final || conn)), '}')
}

// times returns the ms on hold (0 until the hold ends) and the ms talked
// (connected, not on hold) by t.
func (pl *legPlan) times(l *leg, t int64) (hold, talk int64) {
	if l.connected < 0 || t < l.started+int64(l.connected) {
		return 0, 0
	}
	talk = t - l.started - int64(l.connected)
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
func appendPartyNumeric(b []byte, p *party) []byte {
	b = append(b, '{')
	if p.email != "" {
		b = append(b, `"email":`...)
		b = appendString(b, p.email)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = strconv.AppendInt(b, p.id, 10)
	if p.name != "" {
		b = append(b, `,"name":`...)
		b = appendString(b, p.name)
	}
	if p.phone != "" {
		b = append(b, `,"phone":`...)
		b = appendString(b, p.phone)
	}
	b = append(b, `,"type":`...)
	b = appendString(b, p.typ)
	return append(b, '}')
}
