package wire

// Decoding of the call list with encoding/json. Dialpad caps a company at
// 20 requests/s of about 25 legs, some 500 legs/s; encoding/json decodes
// about 40,000 legs/s on one core (BenchmarkDecodePage), so this is never
// what limits a load.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
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
// or {"cursor": ...}), and items, when present, must be an array: an
// object of other keys, such as {"error": {...}} or {"data": [...]}, or
// items of null, is an answer that is not a call page, and taking it for
// an empty last page would lose the window's calls.
func DecodePage(body []byte) (*Page, string, error) {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(body, &env); err != nil || env == nil {
		return nil, "", fmt.Errorf("response is not a JSON object: %s", Describe(body, err))
	}
	items, hasItems := env["items"]
	var cursor *string
	if raw, ok := env["cursor"]; ok {
		if err := json.Unmarshal(raw, &cursor); err != nil {
			return nil, "", fmt.Errorf("cursor: want a string, got %s", kind(raw))
		}
	}
	if !hasItems {
		var other []string
		for k := range env {
			if k != "cursor" {
				other = append(other, k)
			}
		}
		if len(other) > 0 {
			return nil, "", fmt.Errorf("response is not a call page: no items, but %q", firstKeys(other, 5))
		}
	}
	var raws []json.RawMessage
	if hasItems && (isNull(items) || json.Unmarshal(items, &raws) != nil) {
		return nil, "", fmt.Errorf("items: want an array, got %s", kind(items))
	}
	page := &Page{Bytes: len(body), Calls: make([]Call, 0, len(raws))}
	for _, raw := range raws {
		c, err := DecodeCall(raw)
		if err != nil {
			page.Rejected = append(page.Rejected, Rejected{Reason: err.Error(), Raw: c.Raw, CallID: c.CallID})
			continue
		}
		page.Calls = append(page.Calls, c)
	}
	if cursor == nil {
		return page, "", nil
	}
	return page, *cursor, nil
}

// DecodeCall decodes one leg and checks its invariants: call_id and
// date_started present and positive, direction inbound or outbound,
// durations and MOS finite. On error the returned Call holds what could be
// read (its CallID may be known), and the error says which field was
// wrong. Call.Raw is a copy of raw without the surrounding white space.
func DecodeCall(raw []byte) (Call, error) {
	c, err := decodeCall(raw)
	if err == nil {
		err = c.check()
	}
	return c, err
}

// decodeCall decodes without checking invariants: json.Unmarshal, with
// the reason of a failure spelled for a person.
func decodeCall(raw []byte) (Call, error) {
	var c Call
	err := json.Unmarshal(raw, &c)
	c.Raw = bytes.Clone(bytes.TrimSpace(raw))
	if err == nil {
		return c, nil
	}
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		c.CallID = salvageCallID(raw)
		return c, invalidAt(syn)
	}
	if c.CallID == 0 {
		c.CallID = salvageCallID(raw) // encoding/json stops at the first bad value
	}
	if where := locate(raw, reflect.TypeOf(c), ""); where != nil {
		return c, where
	}
	return c, err
}

// check verifies the invariants every stored leg needs.
func (c *Call) check() error {
	switch {
	case c.CallID <= 0:
		return errors.New("call_id is missing or not positive")
	case c.DateStarted <= 0:
		return errors.New("date_started is missing or not positive")
	case c.Direction != "inbound" && c.Direction != "outbound":
		return fmt.Errorf("direction is %.40q, want inbound or outbound", c.Direction)
	case !finite(c.Duration):
		return errors.New("duration is not a finite number")
	case !finite(c.TotalDuration):
		return errors.New("total_duration is not a finite number")
	case c.MOSScore != nil && !finite(*c.MOSScore):
		return errors.New("mos_score is not a finite number")
	}
	return nil
}

func finite(f Float) bool { return !math.IsInf(float64(f), 0) && !math.IsNaN(float64(f)) }

// locate finds the first value of raw, valid JSON that does not decode
// into typ, and says where and why: "target.id: want an integer, got {}".
func locate(raw []byte, typ reflect.Type, path string) error {
	at := func(msg string) error {
		if path == "" {
			return errors.New(msg)
		}
		return fmt.Errorf("%s: %s", path, msg)
	}
	if typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if isNull(raw) {
		return nil
	}
	switch {
	case typ == reflect.TypeOf(ID(0)) || typ == reflect.TypeOf(Millis(0)):
		if err := json.Unmarshal(raw, reflect.New(typ).Interface()); err != nil {
			return at("want an integer, got " + shown(raw))
		}
	case typ == reflect.TypeOf(Float(0)):
		if err := json.Unmarshal(raw, reflect.New(typ).Interface()); err != nil {
			return at("want a number, got " + shown(raw))
		}
	case reflect.PointerTo(typ).Implements(unmarshaler):
		if err := json.Unmarshal(raw, reflect.New(typ).Interface()); err != nil {
			return at(err.Error())
		}
	case typ.Kind() == reflect.Struct:
		var fields map[string]json.RawMessage
		if json.Unmarshal(raw, &fields) != nil {
			return at("want an object, got " + kind(raw))
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			for key, v := range fields {
				if strings.EqualFold(key, name) {
					if err := locate(v, f.Type, join(path, name)); err != nil {
						return err
					}
				}
			}
		}
	case typ.Kind() == reflect.Slice:
		var elems []json.RawMessage
		if json.Unmarshal(raw, &elems) != nil {
			return at("want an array, got " + kind(raw))
		}
		for i, e := range elems {
			if err := locate(e, typ.Elem(), fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	case typ.Kind() == reflect.String && kind(raw) != "a string":
		return at("want a string, got " + kind(raw))
	case typ.Kind() == reflect.Bool && kind(raw) != "a boolean":
		return at("want a boolean, got " + kind(raw))
	}
	return nil
}

var unmarshaler = reflect.TypeOf((*json.Unmarshaler)(nil)).Elem()

func join(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// kind names the JSON type of raw: "an object", "a string", ...
func kind(raw []byte) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// shown is raw as a reason quotes it: short, and whole where it can be.
func shown(raw []byte) string {
	return fmt.Sprintf("%.40s", bytes.TrimSpace(raw))
}

func isNull(raw []byte) bool { return string(bytes.TrimSpace(raw)) == "null" }

// Describe says why body, which did not decode, is not a JSON object:
// where its JSON breaks, or which JSON type it is instead.
func Describe(body []byte, err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return invalidAt(syn).Error()
	}
	return "got " + kind(body)
}

// invalidAt says where JSON breaks: the byte it could not read.
func invalidAt(syn *json.SyntaxError) error {
	return fmt.Errorf("invalid JSON at byte %d", max(syn.Offset-1, 0))
}

// salvageCallID reads the call_id of a leg that is not valid JSON, up to
// where it breaks, so that its rejection can still name the call.
func salvageCallID(raw []byte) ID {
	dec := json.NewDecoder(bytes.NewReader(raw))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return 0
		}
		key, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return 0
		}
		if strings.EqualFold(key, "call_id") {
			var id ID
			if json.Unmarshal(v, &id) == nil {
				return id
			}
		}
	}
	return 0
}

// firstKeys are the first n of keys in order.
func firstKeys(keys []string, n int) []string {
	slices.Sort(keys)
	return keys[:min(n, len(keys))]
}
