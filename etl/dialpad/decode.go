package dialpad

// Decoding of the call list, the hot path of a load.
//
// encoding/json spends most of its time here on reflection and on the
// UnmarshalJSON calls of ID, Millis and Float (each gets a copy of its bytes
// checked again). This file decodes a Call with a hand-written scanner
// (scan.go) and no third-party library: about 9x faster and half the
// allocations (BenchmarkDecodePage against BenchmarkDecodePageStd: some
// 500,000 legs/s on one core against 55,000). It keeps encoding/json's
// semantics exactly, which FuzzDecodeCall checks against json.Unmarshal:
// the same documents are valid, keys match fields case-insensitively, a
// repeated key overwrites (objects merge), null leaves strings, booleans and
// participants unchanged, and ID, Millis and Float parse their raw bytes
// with the same code as their UnmarshalJSON methods.

import (
	"bytes"
	"fmt"
	"math"
	"time"
)

// Page is one page of GET /api/v2/call.
type Page struct {
	Number   int        // 1 for the first page of a window
	Calls    []Call     // the legs that decoded and hold their invariants
	Rejected []Rejected // the legs that did not, in page order
	Bytes    int        // size of the response body
	// Received is when the response arrived (set by ListCalls): a leg read
	// later is newer, whenever each copy is written.
	Received time.Time
}

// Rejected is a leg that could not be used: it failed to decode or broke an
// invariant (a call_id, a date_started, a direction of inbound or outbound).
type Rejected struct {
	Reason string // e.g. "date_started is missing or not positive"
	Raw    []byte // the leg as Dialpad sent it
	CallID ID     // 0 if not known
}

// DecodePage decodes a call list response {"items": [...], "cursor": ...}.
// The cursor is "" on the last page (absent, null or ""). An error means the
// body is not valid JSON or not that envelope; a leg that is valid JSON but
// not a usable Call becomes a Rejected entry instead. The page does not
// retain body.
//
// A page without items is empty only when it has nothing else either ({}
// or {"cursor": ...}): an object of other keys, such as {"error": {...}}
// or {"data": [...]}, is an answer that is not a call page, and taking it
// for an empty last page would lose the window's calls.
func DecodePage(body []byte) (*Page, string, error) {
	s := scanner{data: body}
	page := &Page{Bytes: len(body)}
	var cursor string
	var items bool
	var other []string
	if s.peek() != '{' {
		return nil, "", fmt.Errorf("response is not a JSON object: %w", s.unexpected("'{'"))
	}
	if err := s.open(); err != nil {
		return nil, "", err
	}
	for more := !s.empty('}'); more; {
		key, err := s.key()
		if err != nil {
			return nil, "", err
		}
		switch string(key) {
		case "items":
			items = true
			page.Calls, page.Rejected = page.Calls[:0], page.Rejected[:0]
			if err := s.items(page); err != nil {
				return nil, "", err
			}
		case "cursor":
			switch s.peek() {
			case 'n':
				cursor = ""
				err = s.lit("null")
			case '"':
				cursor, err = s.strValue()
			default:
				err = s.typeError("cursor", "a string")
			}
		default:
			if len(other) < 5 {
				other = append(other, string(key))
			}
			err = s.skip()
		}
		if err != nil {
			return nil, "", err
		}
		if more, err = s.more('}'); err != nil {
			return nil, "", err
		}
	}
	if err := s.end(); err != nil {
		return nil, "", err
	}
	if !items && len(other) > 0 {
		return nil, "", fmt.Errorf("response is not a call page: no items, but %q", other)
	}
	return page, cursor, nil
}

// items decodes the items array into page.
func (s *scanner) items(page *Page) error {
	switch s.peek() {
	case 'n':
		return s.lit("null")
	case '[':
	default:
		return s.typeError("items", "an array")
	}
	if err := s.open(); err != nil {
		return err
	}
	if page.Calls == nil {
		page.Calls = make([]Call, 0, 32)
	}
	for more := !s.empty(']'); more; {
		s.peek()
		start, depth := s.i, s.depth
		page.Calls = append(page.Calls, Call{})
		c := &page.Calls[len(page.Calls)-1]
		err := s.call(c)
		if err == nil {
			c.Raw = bytes.Clone(s.data[start:s.i])
			err = c.check()
		} else if _, ok := err.(*syntaxError); ok {
			return err
		} else {
			// Valid JSON or not? Scan the leg again to find its end.
			s.i, s.depth = start, depth
			if serr := s.skip(); serr != nil {
				return serr
			}
			c.Raw = bytes.Clone(s.data[start:s.i])
		}
		if err != nil {
			page.Rejected = append(page.Rejected, Rejected{Reason: err.Error(), Raw: c.Raw, CallID: c.CallID})
			page.Calls = page.Calls[:len(page.Calls)-1]
		}
		var merr error
		if more, merr = s.more(']'); merr != nil {
			return merr
		}
	}
	return nil
}

// DecodeCall decodes one leg and checks its invariants: call_id and
// date_started present and positive, direction inbound or outbound,
// durations and MOS finite. On error the returned Call holds what could be
// read (its CallID may be known). Call.Raw is a copy of raw without the
// surrounding white space.
func DecodeCall(raw []byte) (Call, error) {
	c, err := decodeCall(raw)
	if err == nil {
		err = c.check()
	}
	return c, err
}

// decodeCall decodes without checking invariants: it succeeds exactly when
// json.Unmarshal into a Call does, with the same result.
func decodeCall(raw []byte) (Call, error) {
	var c Call
	s := scanner{data: raw}
	err := s.call(&c)
	if err == nil {
		err = s.end()
	} else if _, ok := err.(*fieldError); ok {
		// A syntax error anywhere makes the whole input invalid, as in encoding/json.
		s.i, s.depth = 0, 0
		if serr := s.skip(); serr != nil {
			err = serr
		} else if serr := s.end(); serr != nil {
			err = serr
		}
	}
	c.Raw = bytes.Clone(bytes.TrimSpace(raw))
	return c, err
}

// check verifies the invariants every stored leg needs.
func (c *Call) check() error {
	var msg string
	switch {
	case c.CallID <= 0:
		msg = "call_id is missing or not positive"
	case c.DateStarted <= 0:
		msg = "date_started is missing or not positive"
	case c.Direction != "inbound" && c.Direction != "outbound":
		msg = fmt.Sprintf("direction is %.40q, want inbound or outbound", c.Direction)
	case !finite(c.Duration):
		msg = "duration is not a finite number"
	case !finite(c.TotalDuration):
		msg = "total_duration is not a finite number"
	case c.MOSScore != nil && !finite(*c.MOSScore):
		msg = "mos_score is not a finite number"
	default:
		return nil
	}
	return &fieldError{msg: msg}
}

func finite(f Float) bool { return !math.IsInf(float64(f), 0) && !math.IsNaN(float64(f)) }

var (
	callFields = newFieldSet("call_id", "direction", "state", "date_started", "date_rang",
		"date_connected", "date_ended", "duration", "total_duration", "mos_score",
		"entry_point_call_id", "master_call_id", "operator_call_id", "entry_point_target",
		"target", "contact", "proxy_target", "external_number", "internal_number", "group_id",
		"is_transferred", "was_recorded", "labels", "csat_score", "voicemail_share_link",
		"recording_details")
	partyFields     = newFieldSet("id", "type", "name", "email", "phone")
	recordingFields = newFieldSet("id", "recording_type", "duration", "start_time", "url")
)

// call decodes a leg (an object or null) into c.
func (s *scanner) call(c *Call) error {
	return s.object(func(key []byte) error { return s.callField(c, key) })
}

func (s *scanner) callField(c *Call, key []byte) error {
	switch string(key) {
	case "call_id":
		return s.id("call_id", (*int64)(&c.CallID))
	case "direction":
		return s.str("direction", &c.Direction)
	case "state":
		return s.str("state", &c.State)
	case "date_started":
		return s.id("date_started", (*int64)(&c.DateStarted))
	case "date_rang":
		return s.id("date_rang", (*int64)(&c.DateRang))
	case "date_connected":
		return s.id("date_connected", (*int64)(&c.DateConnected))
	case "date_ended":
		return s.id("date_ended", (*int64)(&c.DateEnded))
	case "duration":
		return s.float("duration", &c.Duration)
	case "total_duration":
		return s.float("total_duration", &c.TotalDuration)
	case "mos_score":
		return s.floatPtr("mos_score", &c.MOSScore)
	case "entry_point_call_id":
		return s.id("entry_point_call_id", (*int64)(&c.EntryPointCallID))
	case "master_call_id":
		return s.id("master_call_id", (*int64)(&c.MasterCallID))
	case "operator_call_id":
		return s.id("operator_call_id", (*int64)(&c.OperatorCallID))
	case "entry_point_target":
		return within("entry_point_target", s.party(&c.EntryPointTarget))
	case "target":
		return within("target", s.party(&c.Target))
	case "contact":
		return within("contact", s.party(&c.Contact))
	case "proxy_target":
		return within("proxy_target", s.party(&c.ProxyTarget))
	case "external_number":
		return s.str("external_number", &c.ExternalNumber)
	case "internal_number":
		return s.str("internal_number", &c.InternalNumber)
	case "group_id":
		return s.str("group_id", &c.GroupID)
	case "is_transferred":
		return s.boolean("is_transferred", &c.IsTransferred)
	case "was_recorded":
		return s.boolean("was_recorded", &c.WasRecorded)
	case "labels":
		return within("labels", s.stringList(&c.Labels))
	case "csat_score":
		return s.str("csat_score", &c.CSATScore)
	case "voicemail_share_link":
		return s.str("voicemail_share_link", &c.VoicemailLink)
	case "recording_details":
		return within("recording_details", s.recordingList(&c.Recordings))
	}
	if name, ok := callFields.match(key); ok {
		return s.callField(c, name)
	}
	return s.skip()
}

// party decodes a participant; {} and null leave p as it is.
func (s *scanner) party(p *Party) error {
	return s.object(func(key []byte) error { return s.partyField(p, key) })
}

func (s *scanner) partyField(p *Party, key []byte) error {
	switch string(key) {
	case "id":
		return s.id("id", (*int64)(&p.ID))
	case "type":
		return s.str("type", &p.Type)
	case "name":
		return s.str("name", &p.Name)
	case "email":
		return s.str("email", &p.Email)
	case "phone":
		return s.str("phone", &p.Phone)
	}
	if name, ok := partyFields.match(key); ok {
		return s.partyField(p, name)
	}
	return s.skip()
}

func (s *scanner) recording(r *Recording) error {
	return s.object(func(key []byte) error { return s.recordingField(r, key) })
}

func (s *scanner) recordingField(r *Recording, key []byte) error {
	switch string(key) {
	case "id":
		return s.str("id", &r.ID)
	case "recording_type":
		return s.str("recording_type", &r.RecordingType)
	case "duration":
		return s.id("duration", (*int64)(&r.Duration))
	case "start_time":
		return s.id("start_time", (*int64)(&r.StartTime))
	case "url":
		return s.str("url", &r.URL)
	}
	if name, ok := recordingFields.match(key); ok {
		return s.recordingField(r, name)
	}
	return s.skip()
}

// str decodes a string; null leaves *dst unchanged.
func (s *scanner) str(path string, dst *string) error {
	switch s.peek() {
	case '"':
		v, err := s.strValue()
		if err == nil {
			*dst = v
		}
		return err
	case 'n':
		return s.lit("null")
	}
	return s.typeError(path, "a string")
}

// bool decodes a boolean; null leaves *dst unchanged.
func (s *scanner) boolean(path string, dst *bool) error {
	switch s.peek() {
	case 't':
		*dst = true
		return s.lit("true")
	case 'f':
		*dst = false
		return s.lit("false")
	case 'n':
		return s.lit("null")
	}
	return s.typeError(path, "a boolean")
}

// id decodes an ID or Millis from a string, a number or null, with
// parseInt (as their UnmarshalJSON does) unless the value is plain digits.
func (s *scanner) id(path string, dst *int64) error {
	tok, err := s.token()
	if err != nil {
		return err
	}
	if v, ok := digits(tok); ok {
		*dst = v
		return nil
	}
	v, err := parseInt(tok)
	if err != nil {
		return &fieldError{path: path, msg: fmt.Sprintf("want an integer, got %.40s", tok)}
	}
	*dst = v
	return nil
}

// digits reads 1 to 18 decimal digits, quoted or not: a value that cannot
// overflow and that parseInt would read the same way.
func digits(tok []byte) (int64, bool) {
	if len(tok) >= 2 && tok[0] == '"' {
		tok = tok[1 : len(tok)-1]
	}
	if len(tok) == 0 || len(tok) > 18 {
		return 0, false
	}
	var v int64
	for _, c := range tok {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

// float decodes a Float with its own UnmarshalJSON.
func (s *scanner) float(path string, dst *Float) error {
	tok, err := s.token()
	if err != nil {
		return err
	}
	if err := dst.UnmarshalJSON(tok); err != nil {
		return &fieldError{path: path, msg: fmt.Sprintf("want a number, got %.40s", tok)}
	}
	return nil
}

// floatPtr decodes a *Float: null sets it to nil.
func (s *scanner) floatPtr(path string, dst **Float) error {
	if s.peek() == 'n' {
		*dst = nil
		return s.lit("null")
	}
	if *dst == nil {
		*dst = new(Float)
	}
	return s.float(path, *dst)
}

// stringList and recordingList decode arrays as list does.
func (s *scanner) stringList(dst *[]string) error {
	return list(s, dst, func(v *string) error { return s.str("", v) })
}

func (s *scanner) recordingList(dst *[]Recording) error {
	return list(s, dst, s.recording)
}

// object decodes an object, calling field for each key; null leaves the
// destination as it is, as encoding/json does.
func (s *scanner) object(field func(key []byte) error) error {
	switch s.peek() {
	case 'n':
		return s.lit("null")
	case '{':
	default:
		return s.typeError("", "an object")
	}
	if err := s.open(); err != nil {
		return err
	}
	for more := !s.empty('}'); more; {
		key, err := s.key()
		if err != nil {
			return err
		}
		if err := field(key); err != nil {
			return err
		}
		if more, err = s.more('}'); err != nil {
			return err
		}
	}
	return nil
}

// list decodes an array into *dst the way encoding/json does: null sets
// nil, [] an empty slice, and elements are decoded in place over the old
// ones by elem.
func list[T any](s *scanner, dst *[]T, elem func(*T) error) error {
	switch s.peek() {
	case 'n':
		*dst = nil
		return s.lit("null")
	case '[':
	default:
		return s.typeError("", "an array")
	}
	if err := s.open(); err != nil {
		return err
	}
	v, i := *dst, 0
	for more := !s.empty(']'); more; i++ {
		v = extend(v, i)
		if err := elem(&v[i]); err != nil {
			return within(fmt.Sprintf("[%d]", i), err)
		}
		var err error
		if more, err = s.more(']'); err != nil {
			return err
		}
	}
	*dst = truncate(v, i)
	return nil
}

// extend makes v[i] addressable, reusing the backing array like
// reflect.Value.Grow and SetLen do in encoding/json.
func extend[T any](v []T, i int) []T {
	if i >= cap(v) {
		v = append(v[:cap(v)], make([]T, i+1-cap(v))...)[:len(v)]
	}
	if i >= len(v) {
		v = v[:i+1]
	}
	return v
}

func truncate[T any](v []T, n int) []T {
	if n == 0 {
		return []T{}
	}
	return v[:n]
}
