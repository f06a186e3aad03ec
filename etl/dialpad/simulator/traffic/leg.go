package traffic

// Leg is one row of GET /api/v2/call, held compactly: 64 bytes. Fields
// that are pure decoration (fractions of durations, mos_score, csat_score,
// labels, which legs carry master_call_id or operator_call_id, share-link
// tokens) are derived from a hash of the call id when the leg is encoded,
// so they cost no memory and are identical every time.
type Leg struct {
	ID        int64
	EntryID   int64 // agent legs: the entry leg's call_id; else 0
	Started   int64 // date_started, epoch ms
	Ended     int64 // date_ended, epoch ms
	callStart int64 // date_started of the call's first leg (range filter)
	Rang      int32 // date_rang - date_started, ms; -1 when absent
	Connected int32 // date_connected - date_started, ms; -1 when absent
	vmDur     int32 // voicemail length, ms (entry legs that took one)
	Contact   int32 // index into Company.Customers
	Target    int16 // index into Company.Parties
	Group     int16 // the group the leg belongs to (filtering)
	Flags     uint8
	state     uint8
}

// The bits of Leg.Flags.
const (
	Inbound     uint8 = 1 << iota // inbound (else outbound)
	Transferred                   // is_transferred
	Recorded                      // was_recorded, with a call recording
	Voicemail                     // left a voicemail (entry legs)
	ProxyGroup                    // outbound, placed as the group (caller id = group)
	Entry                         // entry leg of an inbound call
	AgentRang                     // entry leg whose call rang at least one agent (it has agent legs)
)

const (
	stateHangup uint8 = iota
	stateMissed
	stateVoicemail
)

var stateNames = [...]string{stateHangup: "hangup", stateMissed: "missed", stateVoicemail: "voicemail"}

// StateName is the leg's state as the list has it: hangup, missed or
// voicemail.
func (a *Leg) StateName() string { return stateNames[a.state] }

// before reports whether a sorts before b in the list order: newest
// first by date_started, ties by call_id descending.
func (a *Leg) before(b *Leg) bool {
	if a.Started != b.Started {
		return a.Started > b.Started
	}
	return a.ID > b.ID
}

func cmpLegs(a, b Leg) int {
	switch {
	case a.before(&b):
		return -1
	case b.before(&a):
		return 1
	}
	return 0
}
