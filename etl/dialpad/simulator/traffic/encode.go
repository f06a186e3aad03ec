package traffic

import (
	"sort"
	"strconv"
)

// AppendLeg appends l as Dialpad serialises a call: keys in alphabetical
// order, 64-bit integers as strings, unset fields omitted. Decorative
// fields come from a hash of the call id, so every encoding of a leg is
// byte-identical.
func (tr *Traffic) AppendLeg(b []byte, l *Leg) []byte {
	c := tr.co
	h, h2 := tr.LegHashes(l)
	connected := l.Connected >= 0
	inbound := l.Flags&Inbound != 0
	viaGroup := inbound || l.Flags&ProxyGroup != 0
	recorded := l.Flags&Recorded != 0 && connected
	grp := &c.Parties[l.Group]
	cust := &c.Customers[l.Contact]

	b = append(b, `{"call_id":`...)
	b = appendQuotedInt(b, l.ID)
	if recorded {
		b = append(b, `,"call_recording_share_links":["https://dialpad.com/shared/call/`...)
		b = AppendToken(b, h2)
		b = append(b, `"]`...)
	}
	b = append(b, `,"contact":`...)
	b = append(b, cust.json...)
	b = AppendCSAT(b, l, h)
	if connected {
		b = append(b, `,"date_connected":`...)
		b = appendQuotedInt(b, l.Started+int64(l.Connected))
	}
	b = append(b, `,"date_ended":`...)
	b = appendQuotedInt(b, l.Ended)
	if l.Rang >= 0 {
		b = append(b, `,"date_rang":`...)
		b = appendQuotedInt(b, l.Started+int64(l.Rang))
	}
	b = append(b, `,"date_started":`...)
	b = appendQuotedInt(b, l.Started)
	if inbound {
		b = append(b, `,"direction":"inbound","duration":`...)
	} else {
		b = append(b, `,"direction":"outbound","duration":`...)
	}
	ms, frac := TalkDuration(l, h)
	b = AppendMillisFrac(b, ms, frac)
	if id := EntryPointID(l, h); id != 0 {
		b = append(b, `,"entry_point_call_id":`...)
		b = appendQuotedInt(b, id)
	}
	if inbound {
		b = append(b, `,"entry_point_target":`...)
		b = append(b, grp.json...)
	}
	b = append(b, `,"event_timestamp":`...)
	b = appendQuotedInt(b, l.Ended+1+int64(h>>20)&1023)
	b = append(b, `,"external_number":`...)
	b = append(b, cust.QNum...)
	if viaGroup {
		b = append(b, `,"group_id":`...)
		b = append(b, grp.QID...)
	}
	b = append(b, `,"internal_number":`...)
	b = append(b, c.InternalParty(l).QNum...)
	if l.Flags&Transferred != 0 {
		b = append(b, `,"is_transferred":true`...)
	} else {
		b = append(b, `,"is_transferred":false`...)
	}
	if labels := c.Labels(l, h); labels != nil {
		b = append(b, `,"labels":`...)
		b = append(b, labels...)
	}
	if id := MasterID(l, h); id != 0 {
		b = append(b, `,"master_call_id":`...)
		b = appendQuotedInt(b, id)
	}
	if connected {
		b = append(b, `,"mos_score":`...)
		b = AppendMOS(b, h2)
	}
	if l.EntryID != 0 && (h>>38)&15 < 4 {
		b = append(b, `,"operator_call_id":`...)
		b = appendQuotedInt(b, l.EntryID)
	}
	switch {
	case l.Flags&ProxyGroup != 0:
		b = append(b, `,"proxy_target":`...)
		b = append(b, grp.json...)
	case (h>>58)&15 < 10:
		b = append(b, `,"proxy_target":{}`...)
	}
	b = AppendRecordings(b, l, h2, recorded, appendQuotedInt)
	b = append(b, `,"state":"`...)
	b = append(b, stateNames[l.state]...)
	b = append(b, `","target":`...)
	b = append(b, c.Parties[l.Target].json...)
	b = append(b, `,"total_duration":`...)
	b = AppendMillisFrac(b, l.Ended-l.Started, 1+int64(h>>10&1023)%999)
	if l.Flags&Voicemail != 0 {
		b = append(b, `,"voicemail_share_link":"https://dialpad.com/shared/voicemail/`...)
		b = AppendToken(b, Mix64(h2))
		b = append(b, '"')
	}
	if recorded {
		return append(b, `,"was_recorded":true}`...)
	}
	return append(b, `,"was_recorded":false}`...)
}

// The decisions AppendLeg shares with the call events (package webhook)
// and the records export (package exports), so that no encoding of a leg
// can disagree with the list.

// LegHashes are the hashes of l's call id that its decorations come from.
func (tr *Traffic) LegHashes(l *Leg) (h, h2 uint64) {
	h = Mix64(uint64(l.ID) ^ tr.salt)
	return h, Mix64(h)
}

// TalkDuration is l's talk time as the list's duration has it: ms, and the
// thousandths of a ms taken off them (from the hash h) to give the value
// a fraction, for appendMillisFrac; 0 when l never connected.
func TalkDuration(l *Leg, h uint64) (ms, frac int64) {
	if l.Connected < 0 {
		return 0, 0
	}
	return l.Ended - l.Started - int64(l.Connected), 1 + int64(h&1023)%999
}

// EntryPointID is l's entry_point_call_id, 0 when it has none: an agent
// leg's entry leg, and some entry legs their own id.
func EntryPointID(l *Leg, h uint64) int64 {
	switch {
	case l.EntryID != 0:
		return l.EntryID
	case l.Flags&Entry != 0 && (h>>30)&15 < 6:
		return l.ID
	}
	return 0
}

// MasterID is l's master_call_id, 0 when it has none.
func MasterID(l *Leg, h uint64) int64 {
	switch m := (h >> 34) & 15; {
	case l.EntryID != 0 && m < 8:
		return l.EntryID
	case l.EntryID == 0 && (l.Flags&Entry != 0 && m < 5 || l.Flags&Inbound == 0 && m < 3):
		return l.ID
	}
	return 0
}

// InternalParty is the party whose number is l's internal_number: the
// group's when the call came in through it or was placed as it, else the
// agent's own.
func (c *Company) InternalParty(l *Leg) *Party {
	if l.Flags&(Inbound|ProxyGroup) != 0 {
		return &c.Parties[l.Group]
	}
	return &c.Parties[l.Target]
}

// AppendRecordings appends recording_details: the call recording of a
// recorded connected leg and the voicemail of an entry leg that took one.
// num appends an integer: quoted in the list, a number in events.
func AppendRecordings(b []byte, l *Leg, h2 uint64, recorded bool, num func([]byte, int64) []byte) []byte {
	vm := l.Flags&Voicemail != 0
	if !recorded && !vm {
		return b
	}
	b = append(b, `,"recording_details":[`...)
	if recorded {
		start := l.Started + int64(l.Connected)
		b = append(b, `{"duration":`...)
		b = num(b, l.Ended-start)
		b = append(b, `,"id":"`...)
		b = strconv.AppendUint(b, h2>>12, 10)
		b = append(b, `","recording_type":"callrecording","start_time":`...)
		b = num(b, start)
		b = append(b, `,"url":"https://dialpad.com/r/callrecording/`...)
		b = AppendToken(b, h2)
		b = append(b, `"}`...)
		if vm {
			b = append(b, ',')
		}
	}
	if vm {
		start := l.Ended - int64(l.vmDur)
		b = append(b, `{"duration":`...)
		b = num(b, int64(l.vmDur))
		b = append(b, `,"id":"`...)
		b = strconv.AppendUint(b, h2>>13, 10)
		b = append(b, `","recording_type":"voicemail","start_time":`...)
		b = num(b, start)
		b = append(b, `,"url":"https://dialpad.com/r/voicemail/`...)
		b = AppendToken(b, Mix64(h2))
		b = append(b, `"}`...)
	}
	return append(b, ']')
}

// AppendInt appends v as a JSON number.
func AppendInt(b []byte, v int64) []byte { return strconv.AppendInt(b, v, 10) }

// TransferredTo is the leg l was transferred to, nil when l was not
// transferred: the colleague's leg of the same call that started as l
// was handed over (dayGen.answer starts it 200 ms to 1.5 s before l ends).
func (tr *Traffic) TransferredTo(l *Leg) *Leg {
	if l.Flags&Transferred == 0 {
		return nil
	}
	legs := tr.legs // newest first
	i := sort.Search(len(legs), func(i int) bool { return legs[i].Started <= l.Ended-200 })
	for ; i < len(legs) && legs[i].Started >= l.Ended-1500; i++ {
		if t := &legs[i]; t.EntryID == l.EntryID && t.ID != l.ID {
			return t
		}
	}
	return nil
}

// The times only Dialpad's events tell of a leg (date_queued,
// date_first_rang, hold_time), which the events (package webhook) and
// the records export (package exports) both write.

// holdShare is the share of connected agent and outbound legs that put
// the other side on hold once.
const holdShare = 30 // percent

// Hold is when l put the other side on hold, decided from a hash of the
// call id: about holdShare of the connected legs other than entry legs,
// for 3 s to a minute, starting between a fifth and half of the talk and
// never past two thirds of it; ok is false for the others.
func (tr *Traffic) Hold(l *Leg) (start, end int64, ok bool) {
	if l.Connected < 0 || l.Flags&Entry != 0 {
		return 0, 0, false
	}
	c := l.Started + int64(l.Connected)
	h := Mix64(uint64(l.ID) ^ tr.salt ^ 0x401D)
	talk := l.Ended - c
	n := min(3000+int64(h>>8%57_001), talk/3)
	if h%100 >= holdShare || n < 1000 {
		return 0, 0, false
	}
	start = c + talk*int64(20+h>>32%31)/100
	return start, start + n, true
}

// Queued is when the caller of the entry leg l entered the queue: its
// date_rang; 0 for other legs and an entry leg that never rang.
func Queued(l *Leg) int64 {
	if l.Flags&Entry == 0 || l.Rang < 0 {
		return 0
	}
	return l.Started + int64(l.Rang)
}

// FirstRang is the date_first_rang of the leg List()[p]: for an entry
// leg the earliest date_rang of its agent legs (0 when it has none), for
// the others their own date_rang (0 when none).
func (tr *Traffic) FirstRang(p int) int64 {
	e := &tr.legs[p]
	if e.Flags&Entry == 0 {
		if e.Rang < 0 {
			return 0
		}
		return e.Started + int64(e.Rang)
	}
	// The agent legs start within seconds after the entry leg, so they
	// sit just before it in the list order.
	first := int64(0)
	for q := p - 1; q >= 0 && tr.legs[q].Started <= e.Started+agentLegWindow; q-- {
		a := &tr.legs[q]
		if a.EntryID == e.ID && a.Rang >= 0 && (first == 0 || a.Started+int64(a.Rang) < first) {
			first = a.Started + int64(a.Rang)
		}
	}
	return first
}

// agentLegWindow bounds how long after its entry leg the first agent leg
// of a call starts (inbound: at most minOffset 2.2 s + 2.5 s).
const agentLegWindow = 10_000
