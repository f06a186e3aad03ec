package wire

import (
	"encoding/json"
	"math"
	"reflect"
	"testing"
)

// addCallSeeds seeds f with the sample record, every leg of the sample page
// and the awkward forms Dialpad is known to send.
func addCallSeeds(f *testing.F) {
	f.Add(readTestdata(f, "call_record.json"))
	var env struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(readTestdata(f, "page_25.json"), &env); err != nil {
		f.Fatal(err)
	}
	for _, item := range env.Items {
		f.Add([]byte(item))
	}
	for _, s := range []string{
		`{"call_id":12,"date_started":1700000000000,"direction":"inbound","mos_score":null,"proxy_target":{}}`,
		`{"call_id":"12","CALL_ID":"13","date_started":"1","direction":"outbound","target":{"id":"1"},"target":{"name":"x"}}`,
		`{"call_id":"1","date_started":"1","direction":"inbound","labels":["a","b"],"labels":[null],"recording_details":[{"id":"r"}],"recording_details":[null,{}]}`,
		`{"call_id":" 1e3 ","date_started":"-0","direction":"inbound","duration":"1e400","total_duration":"0x1p-2"}`,
		`{"call_id":"\u0031","date_started":"1","direction":"in\u0062ound","target":{"name":"\ud800x\xff"}}`,
		`{"call_id":1,"date_started":1,"direction":"inbound","\u0063all_id":2,"ſtate":"K","Kelvin":1}`,
		`null`, `[]`, `"x"`, `{"call_id":{}}`, `{"a":[[[[{}]]]]}`, `{"call_id":1} `, `{"call_id":01}`, `{"call_id":-}`,
	} {
		f.Add([]byte(s))
	}
}

// FuzzDecodeCall checks the tolerant rules as a property: every input
// either decodes to a Call that holds the invariants (what json.Unmarshal
// with the tolerant ID, Millis and Float gives) or is rejected with a
// reason, never a panic; and an accepted Call decodes again to itself from
// its Raw and from its own JSON encoding.
func FuzzDecodeCall(f *testing.F) {
	addCallSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		full, err := DecodeCall(raw)
		var ref Call
		refErr := json.Unmarshal(raw, &ref)
		switch {
		case err != nil && err.Error() == "":
			t.Fatalf("input %q: rejected without a reason", raw)
		case err != nil && refErr != nil:
			return // not a Call at all, and said why
		case err != nil:
			if full.check() == nil {
				t.Fatalf("input %q: rejected (%v), but it decodes and holds the invariants", raw, err)
			}
			return
		case refErr != nil:
			t.Fatalf("input %q: accepted, but encoding/json says %v", raw, refErr)
		}
		ref.Raw = full.Raw
		if !sameCall(full, ref) || full.check() != nil {
			t.Fatalf("input %q: accepted as\n%#v\nencoding/json decodes\n%#v", raw, full, ref)
		}
		again, err := DecodeCall(full.Raw)
		if err != nil || !sameCall(full, again) {
			t.Fatalf("input %q: Raw decodes differently (%v):\n%#v\n%#v", raw, err, full, again)
		}
		enc, err := json.Marshal(full)
		if err != nil {
			t.Fatalf("input %q: cannot encode the decoded call: %v", raw, err)
		}
		dec, err := DecodeCall(enc)
		if err != nil {
			t.Fatalf("input %q: its encoding %s is refused: %v", raw, enc, err)
		}
		dec.Raw = full.Raw
		if !sameCall(full, dec) {
			t.Fatalf("input %q: its encoding %s decodes differently:\n%#v\n%#v", raw, enc, full, dec)
		}
	})
}

// FuzzDecodePage checks that DecodePage never panics, accepts only valid
// JSON objects with items or nothing but a cursor, and that each leg it returns or rejects gets the same verdict from
// DecodeCall.
func FuzzDecodePage(f *testing.F) {
	// Two legs of the sample page: a whole page makes each new input slow
	// to minimize, which stalls short fuzzing runs.
	var env struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(readTestdata(f, "page_25.json"), &env); err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"cursor":"Cj0KEQoEY2Fs","items":[` + string(env.Items[0]) + `,` + string(env.Items[1]) + `]}`))
	f.Add([]byte(`{"items":[{"call_id":"1","date_started":"1","direction":"inbound"},{"call_id":"x"},5,null],"cursor":"abc"}`))
	f.Add([]byte(`{"items":null,"cursor":null}`))
	f.Add([]byte(`{"cursor":"","items":[{"call_id":1,"date_started":2,"direction":"outbound","target":{}}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		page, _, err := DecodePage(body)
		if !json.Valid(body) && err == nil {
			t.Fatalf("accepted invalid JSON %q", body)
		}
		if err != nil {
			return
		}
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(body, &keys); err != nil {
			t.Fatalf("accepted %q, which is not a JSON object: %v", body, err)
		}
		if items, ok := keys["items"]; ok && string(items) == "null" {
			t.Fatalf("accepted %q: items of null are not a page", body)
		} else if !ok {
			delete(keys, "cursor")
			if len(keys) > 0 {
				t.Fatalf("accepted %q as an empty page, but it has other keys than a cursor", body)
			}
		}
		for _, c := range page.Calls {
			again, err := DecodeCall(c.Raw)
			if err != nil || !sameCall(c, again) {
				t.Fatalf("leg %q: DecodeCall says %v:\n%#v\n%#v", c.Raw, err, c, again)
			}
		}
		for _, r := range page.Rejected {
			c, err := DecodeCall(r.Raw)
			if err == nil || err.Error() != r.Reason || c.CallID != r.CallID {
				t.Fatalf("rejected leg %q (%s, %d): DecodeCall says %v, %d", r.Raw, r.Reason, r.CallID, err, c.CallID)
			}
		}
	})
}

// sameCall is reflect.DeepEqual with NaN equal to NaN.
func sameCall(a, b Call) bool {
	sameFloat := func(x, y Float) bool {
		return x == y || math.IsNaN(float64(x)) && math.IsNaN(float64(y))
	}
	if !sameFloat(a.Duration, b.Duration) || !sameFloat(a.TotalDuration, b.TotalDuration) {
		return false
	}
	if (a.MOSScore == nil) != (b.MOSScore == nil) || a.MOSScore != nil && !sameFloat(*a.MOSScore, *b.MOSScore) {
		return false
	}
	a.Duration, a.TotalDuration, a.MOSScore = 0, 0, nil
	b.Duration, b.TotalDuration, b.MOSScore = 0, 0, nil
	return reflect.DeepEqual(a, b)
}
