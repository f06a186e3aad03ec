package simulator

// leg is one row of GET /api/v2/call, held compactly: 64 bytes. Fields
// that are pure decoration (fractions of durations, mos_score, csat_score,
// labels, which legs carry master_call_id or operator_call_id, share-link
// tokens) are derived from a hash of the call id when the leg is encoded,
// so they cost no memory and are identical every time.
type leg struct {
	id        int64
	entryID   int64 // agent legs: the entry leg's call_id; else 0
	started   int64 // date_started, epoch ms
	ended     int64 // date_ended, epoch ms
	callStart int64 // date_started of the call's first leg (range filter)
	rang      int32 // date_rang - date_started, ms; -1 when absent
	connected int32 // date_connected - date_started, ms; -1 when absent
	vmDur     int32 // voicemail length, ms (entry legs that took one)
	contact   int32 // index into company.customers
	target    int16 // index into company.parties
	group     int16 // the group the leg belongs to (filtering)
	flags     uint8
	state     uint8
}

const (
	fInbound     uint8 = 1 << iota
	fTransferred       // is_transferred
	fRecorded          // was_recorded, with a call recording
	fVoicemail         // left a voicemail (entry legs)
	fProxyGroup        // outbound, placed as the group (caller id = group)
	fEntry             // entry leg of an inbound call
)

const (
	stateHangup uint8 = iota
	stateMissed
	stateVoicemail
)

var stateNames = [...]string{stateHangup: "hangup", stateMissed: "missed", stateVoicemail: "voicemail"}

// before reports whether a sorts before b in the list order: newest
// first by date_started, ties by call_id descending.
func (a *leg) before(b *leg) bool {
	if a.started != b.started {
		return a.started > b.started
	}
	return a.id > b.id
}

func cmpLegs(a, b leg) int {
	switch {
	case a.before(&b):
		return -1
	case b.before(&a):
		return 1
	}
	return 0
}
