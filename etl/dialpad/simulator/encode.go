package simulator

import "strconv"

var csatValues = [8]string{"5", "5", "4", "5", "3", "4", "2", "1"}

// appendLeg appends l as Dialpad serialises a call: keys in alphabetical
// order, 64-bit integers as strings, unset fields omitted. Decorative
// fields come from a hash of the call id, so every encoding of a leg is
// byte-identical.
func (tr *Traffic) appendLeg(b []byte, l *leg) []byte {
	c := tr.co
	h, h2 := tr.legHashes(l)
	connected := l.connected >= 0
	inbound := l.flags&fInbound != 0
	viaGroup := inbound || l.flags&fProxyGroup != 0
	recorded := l.flags&fRecorded != 0 && connected
	grp := &c.parties[l.group]
	cust := &c.customers[l.contact]

	b = append(b, `{"call_id":`...)
	b = appendQuotedInt(b, l.id)
	if recorded {
		b = append(b, `,"call_recording_share_links":["https://dialpad.com/shared/call/`...)
		b = appendToken(b, h2)
		b = append(b, `"]`...)
	}
	b = append(b, `,"contact":`...)
	b = append(b, cust.json...)
	if csat := csatScore(l, h); csat != "" {
		b = append(b, `,"csat_score":"`...)
		b = append(b, csat...)
		b = append(b, '"')
	}
	if connected {
		b = append(b, `,"date_connected":`...)
		b = appendQuotedInt(b, l.started+int64(l.connected))
	}
	b = append(b, `,"date_ended":`...)
	b = appendQuotedInt(b, l.ended)
	if l.rang >= 0 {
		b = append(b, `,"date_rang":`...)
		b = appendQuotedInt(b, l.started+int64(l.rang))
	}
	b = append(b, `,"date_started":`...)
	b = appendQuotedInt(b, l.started)
	if inbound {
		b = append(b, `,"direction":"inbound","duration":`...)
	} else {
		b = append(b, `,"direction":"outbound","duration":`...)
	}
	ms, frac := talkDuration(l, h)
	b = appendMillisFrac(b, ms, frac)
	if id := entryPointID(l, h); id != 0 {
		b = append(b, `,"entry_point_call_id":`...)
		b = appendQuotedInt(b, id)
	}
	if inbound {
		b = append(b, `,"entry_point_target":`...)
		b = append(b, grp.json...)
	}
	b = append(b, `,"event_timestamp":`...)
	b = appendQuotedInt(b, l.ended+1+int64(h>>20)&1023)
	b = append(b, `,"external_number":`...)
	b = append(b, cust.qnum...)
	if viaGroup {
		b = append(b, `,"group_id":`...)
		b = append(b, grp.qid...)
	}
	b = append(b, `,"internal_number":`...)
	b = append(b, c.internalParty(l).qnum...)
	if l.flags&fTransferred != 0 {
		b = append(b, `,"is_transferred":true`...)
	} else {
		b = append(b, `,"is_transferred":false`...)
	}
	if labels := c.groups[l.group].labels; (h>>49)&15 < 5 && (inbound || connected) {
		b = append(b, `,"labels":`...)
		b = append(b, labels[int(h>>53&31)%len(labels)]...)
	}
	if id := masterID(l, h); id != 0 {
		b = append(b, `,"master_call_id":`...)
		b = appendQuotedInt(b, id)
	}
	if connected {
		b = append(b, `,"mos_score":`...)
		b = appendMOS(b, h2)
	}
	if l.entryID != 0 && (h>>38)&15 < 4 {
		b = append(b, `,"operator_call_id":`...)
		b = appendQuotedInt(b, l.entryID)
	}
	switch {
	case l.flags&fProxyGroup != 0:
		b = append(b, `,"proxy_target":`...)
		b = append(b, grp.json...)
	case (h>>58)&15 < 10:
		b = append(b, `,"proxy_target":{}`...)
	}
	b = appendRecordings(b, l, h2, recorded, appendQuotedInt)
	b = append(b, `,"state":"`...)
	b = append(b, stateNames[l.state]...)
	b = append(b, `","target":`...)
	b = append(b, c.parties[l.target].json...)
	b = append(b, `,"total_duration":`...)
	b = appendMillisFrac(b, l.ended-l.started, 1+int64(h>>10&1023)%999)
	if l.flags&fVoicemail != 0 {
		b = append(b, `,"voicemail_share_link":"https://dialpad.com/shared/voicemail/`...)
		b = appendToken(b, mix64(h2))
		b = append(b, '"')
	}
	if recorded {
		return append(b, `,"was_recorded":true}`...)
	}
	return append(b, `,"was_recorded":false}`...)
}

// The decisions appendLeg shares with the call events and the records
// export, so that no encoding of a leg can disagree with the list.

// legHashes are the hashes of l's call id that its decorations come from.
func (tr *Traffic) legHashes(l *leg) (h, h2 uint64) {
	h = mix64(uint64(l.id) ^ tr.salt)
	return h, mix64(h)
}

// talkDuration is l's talk time as the list's duration has it: ms, and the
// thousandths of a ms taken off them (from the hash h) to give the value
// a fraction, for appendMillisFrac; 0 when l never connected.
func talkDuration(l *leg, h uint64) (ms, frac int64) {
	if l.connected < 0 {
		return 0, 0
	}
	return l.ended - l.started - int64(l.connected), 1 + int64(h&1023)%999
}

// csatScore is l's csat_score, "" when it has none.
func csatScore(l *leg, h uint64) string {
	if l.connected >= 0 && (h>>42)&15 < 3 {
		return csatValues[(h>>46)&7]
	}
	return ""
}

// entryPointID is l's entry_point_call_id, 0 when it has none: an agent
// leg's entry leg, and some entry legs their own id.
func entryPointID(l *leg, h uint64) int64 {
	switch {
	case l.entryID != 0:
		return l.entryID
	case l.flags&fEntry != 0 && (h>>30)&15 < 6:
		return l.id
	}
	return 0
}

// masterID is l's master_call_id, 0 when it has none.
func masterID(l *leg, h uint64) int64 {
	switch m := (h >> 34) & 15; {
	case l.entryID != 0 && m < 8:
		return l.entryID
	case l.entryID == 0 && (l.flags&fEntry != 0 && m < 5 || l.flags&fInbound == 0 && m < 3):
		return l.id
	}
	return 0
}

// internalParty is the party whose number is l's internal_number: the
// group's when the call came in through it or was placed as it, else the
// agent's own.
func (c *company) internalParty(l *leg) *party {
	if l.flags&(fInbound|fProxyGroup) != 0 {
		return &c.parties[l.group]
	}
	return &c.parties[l.target]
}

// appendMOS appends the mos_score of a connected leg, from the hash h2:
// 2.90 to 4.60, mostly high, always two decimals.
func appendMOS(b []byte, h2 uint64) []byte {
	v := h2 & 255
	m := 460 - v*v*170/65025
	b = strconv.AppendUint(b, m/100, 10)
	return append(b, '.', byte('0'+m/10%10), byte('0'+m%10))
}

// appendRecordings appends recording_details: the call recording of a
// recorded connected leg and the voicemail of an entry leg that took one.
// num appends an integer: quoted in the list, a number in events.
func appendRecordings(b []byte, l *leg, h2 uint64, recorded bool, num func([]byte, int64) []byte) []byte {
	vm := l.flags&fVoicemail != 0
	if !recorded && !vm {
		return b
	}
	b = append(b, `,"recording_details":[`...)
	if recorded {
		start := l.started + int64(l.connected)
		b = append(b, `{"duration":`...)
		b = num(b, l.ended-start)
		b = append(b, `,"id":"`...)
		b = strconv.AppendUint(b, h2>>12, 10)
		b = append(b, `","recording_type":"callrecording","start_time":`...)
		b = num(b, start)
		b = append(b, `,"url":"https://dialpad.com/r/callrecording/`...)
		b = appendToken(b, h2)
		b = append(b, `"}`...)
		if vm {
			b = append(b, ',')
		}
	}
	if vm {
		start := l.ended - int64(l.vmDur)
		b = append(b, `{"duration":`...)
		b = num(b, int64(l.vmDur))
		b = append(b, `,"id":"`...)
		b = strconv.AppendUint(b, h2>>13, 10)
		b = append(b, `","recording_type":"voicemail","start_time":`...)
		b = num(b, start)
		b = append(b, `,"url":"https://dialpad.com/r/voicemail/`...)
		b = appendToken(b, mix64(h2))
		b = append(b, `"}`...)
	}
	return append(b, ']')
}

// appendInt appends v as a JSON number.
func appendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }
