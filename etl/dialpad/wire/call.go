package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
)

// Call is one row of GET /api/v2/call: one leg of a customer's call.
//
// Dialpad sends 64-bit integers as JSON strings in REST responses and as
// numbers (or null) in webhooks; unset fields are omitted and empty
// participants come back as {}. Every field here decodes from all of
// those forms, and a field that is absent reads as its zero value.
type Call struct {
	CallID           ID          `json:"call_id"`
	Direction        string      `json:"direction"`
	State            string      `json:"state"`
	DateStarted      Millis      `json:"date_started"`
	DateRang         Millis      `json:"date_rang"`
	DateConnected    Millis      `json:"date_connected"`
	DateEnded        Millis      `json:"date_ended"`
	Duration         Float       `json:"duration"`       // talk time, ms
	TotalDuration    Float       `json:"total_duration"` // with ring time, ms
	MOSScore         *Float      `json:"mos_score"`
	EntryPointCallID ID          `json:"entry_point_call_id"`
	MasterCallID     ID          `json:"master_call_id"`
	OperatorCallID   ID          `json:"operator_call_id"`
	EntryPointTarget Party       `json:"entry_point_target"`
	Target           Party       `json:"target"`
	Contact          Party       `json:"contact"`
	ProxyTarget      Party       `json:"proxy_target"`
	ExternalNumber   string      `json:"external_number"`
	InternalNumber   string      `json:"internal_number"`
	GroupID          string      `json:"group_id"`
	IsTransferred    bool        `json:"is_transferred"`
	WasRecorded      bool        `json:"was_recorded"`
	Labels           []string    `json:"labels"`
	CSATScore        string      `json:"csat_score"`
	CSATComments     []string    `json:"csat_transcriptions"`
	VoicemailLink    string      `json:"voicemail_share_link"`
	Recordings       []Recording `json:"recording_details"`

	// Raw is the leg exactly as Dialpad sent it.
	Raw json.RawMessage `json:"-"`
}

// Party is a participant of a call: its target, contact, entry point or
// proxy. An empty object ({}) decodes to the zero Party.
type Party struct {
	ID    ID     `json:"id"`
	Type  string `json:"type"`
	Name  string `json:"name"`
	Email string `json:"email"`
	Phone string `json:"phone"`
}

// Recording describes one recording of a call.
type Recording struct {
	ID            string `json:"id"`
	RecordingType string `json:"recording_type"`
	Duration      Millis `json:"duration"`
	StartTime     Millis `json:"start_time"`
	URL           string `json:"url"`
}

// HasVoicemail reports whether the leg left a voicemail: a voicemail share
// link, a recording of type voicemail, or the state "voicemail".
func (c *Call) HasVoicemail() bool {
	if c.VoicemailLink != "" || c.State == "voicemail" {
		return true
	}
	for _, r := range c.Recordings {
		if r.RecordingType == "voicemail" {
			return true
		}
	}
	return false
}

// ID is a 64-bit identifier sent as a JSON string, a number or null.
// Absent, null and "" read as 0.
type ID int64

// UnmarshalJSON accepts "123", 123 and null.
func (id *ID) UnmarshalJSON(b []byte) error {
	v, err := parseInt(b)
	*id = ID(v)
	return err
}

// String returns the decimal form.
func (id ID) String() string { return strconv.FormatInt(int64(id), 10) }

// ConversationOf is the id shared by every leg of one customer call: the
// entry point's call id, else the master call id, else the leg's own.
func ConversationOf(entryPoint, master, own ID) ID {
	switch {
	case entryPoint > 0:
		return entryPoint
	case master > 0:
		return master
	}
	return own
}

// Text is a string that may also arrive as a number or null: a score
// whose type Dialpad does not publish. A number reads as its JSON form
// ("4", "0.82"); absent and null read as "".
type Text string

// UnmarshalJSON accepts "4", 4 and null.
func (t *Text) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*t = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*t = Text(s)
	case b[0] == '-' || (b[0] >= '0' && b[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return err
		}
		*t = Text(n)
	default:
		return fmt.Errorf("want a string or a number, got %s", kind(b))
	}
	return nil
}

// Names is a list of names sent as strings or as objects with a name
// ({"name": "Billing", ...}), whose shape Dialpad does not publish; a
// lone string or object is a list of one. Empty names are left out; null
// reads as none.
type Names []string

// UnmarshalJSON accepts ["Billing"], [{"name": "Billing"}], a mix of
// both, "Billing", {"name": "Billing"} and null.
func (n *Names) UnmarshalJSON(b []byte) error {
	*n = nil
	if isNull(b) {
		return nil
	}
	var elems []json.RawMessage
	switch kind(b) {
	case "an array":
		if err := json.Unmarshal(b, &elems); err != nil {
			return err
		}
	case "a string", "an object":
		elems = []json.RawMessage{b}
	default:
		return fmt.Errorf("want an array, a string or an object with a name, got %s", kind(b))
	}
	for _, e := range elems {
		var name string
		switch kind(e) {
		case "null":
			continue
		case "a string":
			if err := json.Unmarshal(e, &name); err != nil {
				return err
			}
		case "an object":
			var o struct {
				Name string `json:"name"`
			}
			if err := json.Unmarshal(e, &o); err != nil {
				return fmt.Errorf("want an object with a string name, got %s", shown(e))
			}
			name = o.Name
		default:
			return fmt.Errorf("want a string or an object with a name, got %s", kind(e))
		}
		if name != "" {
			*n = append(*n, name)
		}
	}
	return nil
}

// Millis is a UTC timestamp in milliseconds since the epoch, sent as a
// JSON string, a number or null. Absent and null read as 0.
type Millis int64

// UnmarshalJSON accepts "1747503688095", 1747503688095 and null.
func (m *Millis) UnmarshalJSON(b []byte) error {
	v, err := parseInt(b)
	*m = Millis(v)
	return err
}

// Float is a JSON number that may also arrive as a string or null.
type Float float64

// UnmarshalJSON accepts 10936.422, "10936.422" and null.
func (f *Float) UnmarshalJSON(b []byte) error {
	b = unquote(b)
	if len(b) == 0 || string(b) == "null" {
		*f = 0
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("not a number: %.40s", b)
	}
	*f = Float(v)
	return nil
}

func parseInt(b []byte) (int64, error) {
	b = unquote(b)
	if len(b) == 0 || string(b) == "null" {
		return 0, nil
	}
	v, err := strconv.ParseInt(string(b), 10, 64)
	if err == nil {
		return v, nil
	}
	// Some producers write integral values with a fraction or exponent.
	f, ferr := strconv.ParseFloat(string(b), 64)
	if ferr != nil || f != float64(int64(f)) {
		return 0, fmt.Errorf("not an integer: %.40s", b)
	}
	return int64(f), nil
}

func unquote(b []byte) []byte {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		return bytes.TrimSpace(b[1 : len(b)-1])
	}
	return b
}
