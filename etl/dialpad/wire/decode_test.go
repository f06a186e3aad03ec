package wire

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
)

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// The record shown in the integration notes we were given decodes with
// exactly its values.
func TestDecodeCallSampleRecord(t *testing.T) {
	raw := readTestdata(t, "call_record.json")
	c, err := DecodeCall(raw)
	if err != nil {
		t.Fatal(err)
	}
	want := Call{
		CallID:      5782764944539648,
		Direction:   "inbound",
		DateStarted: 1747503688095,
		DateEnded:   1747503699031,
		Duration:    10936.422,
		Contact: Party{ID: 5784965655216128, Type: "local", Name: "Example Customer",
			Phone: "+15127700269"},
		Target: Party{ID: 5503393985740800, Type: "user", Name: "Agent Name",
			Email: "agent@example.com", Phone: "+18583265696"},
	}
	if string(c.Raw) != strings.TrimSpace(string(raw)) {
		t.Errorf("Raw = %q, want the record as sent", c.Raw)
	}
	c.Raw = nil
	if !reflect.DeepEqual(c, want) {
		t.Errorf("decoded\n%+v\nwant\n%+v", c, want)
	}
	if c.DateConnected != 0 || c.HasVoicemail() {
		t.Errorf("an unconnected leg without voicemail: DateConnected=%d HasVoicemail=%v", c.DateConnected, c.HasVoicemail())
	}
}

func TestDecodeCallForms(t *testing.T) {
	base := `"direction":"outbound","date_started":"1700000000000"`
	mos := Float(4.25)
	tests := []struct {
		name string
		raw  string
		want func(c *Call)
	}{
		{"ids as strings", `{"call_id":"12",` + base + `,"master_call_id":"34"}`,
			func(c *Call) { c.CallID, c.MasterCallID = 12, 34 }},
		{"ids as numbers", `{"call_id":12,` + base + `,"master_call_id":34,"date_ended":1700000000999}`,
			func(c *Call) { c.CallID, c.MasterCallID, c.DateEnded = 12, 34, 1700000000999 }},
		{"ids null or empty", `{"call_id":12,` + base + `,"master_call_id":null,"operator_call_id":"","date_rang":null}`,
			func(c *Call) { c.CallID = 12 }},
		{"integral floats as ids", `{"call_id":1.2e1,` + base + `,"date_ended":"1700000000999.0"}`,
			func(c *Call) { c.CallID, c.DateEnded = 12, 1700000000999 }},
		{"negative and padded ids", `{"call_id":" 12 ",` + base + `,"operator_call_id":-5}`,
			func(c *Call) { c.CallID, c.OperatorCallID = 12, -5 }},
		{"largest id", `{"call_id":"9223372036854775807",` + base + `}`,
			func(c *Call) { c.CallID = 9223372036854775807 }},
		{"durations as numbers, strings, null", `{"call_id":1,` + base + `,"duration":10936.422,"total_duration":"11000.5","mos_score":4.25}`,
			func(c *Call) { c.CallID, c.Duration, c.TotalDuration, c.MOSScore = 1, 10936.422, 11000.5, &mos }},
		{"null mos", `{"call_id":1,` + base + `,"mos_score":null,"duration":null}`,
			func(c *Call) { c.CallID = 1 }},
		{"empty participants", `{"call_id":1,` + base + `,"proxy_target":{},"target":{},"contact":{"id":null},"entry_point_target":null}`,
			func(c *Call) { c.CallID = 1 }},
		{"participant ids as numbers", `{"call_id":1,` + base + `,"target":{"id":5503393985740800,"type":"user"}}`,
			func(c *Call) { c.CallID, c.Target = 1, Party{ID: 5503393985740800, Type: "user"} }},
		{"unknown fields ignored", `{"call_id":1,` + base + `,"routing_breadcrumbs":[{"a":[1,{"b":null}]}],"custom_data":"x","is_internal":true,"talk_time":12.5,"transferred_from":null}`,
			func(c *Call) { c.CallID = 1 }},
		{"null strings and booleans", `{"call_id":1,` + base + `,"state":null,"was_recorded":null,"labels":null,"recording_details":null}`,
			func(c *Call) { c.CallID = 1 }},
		{"escapes and unicode", `{"call_id":1,` + base + `,"target":{"name":"Bj\u00f8rn \"B\" Økland"},"external_number":"+1\/2"}`,
			func(c *Call) { c.CallID, c.Target.Name, c.ExternalNumber = 1, `Bjørn "B" Økland`, "+1/2" }},
		{"keys match case-insensitively like encoding/json", `{"CALL_ID":1,` + base + `,"Target":{"Name":"x"}}`,
			func(c *Call) { c.CallID, c.Target.Name = 1, "x" }},
		{"labels and recordings", `{"call_id":1,` + base + `,"labels":["a","b"],"recording_details":[{"id":"r1","recording_type":"voicemail","duration":"1500","start_time":1700000000100,"url":"u"}],"voicemail_share_link":""}`,
			func(c *Call) {
				c.CallID, c.Labels = 1, []string{"a", "b"}
				c.Recordings = []Recording{{ID: "r1", RecordingType: "voicemail", Duration: 1500, StartTime: 1700000000100, URL: "u"}}
			}},
		{"empty arrays stay empty, not nil", `{"call_id":1,` + base + `,"labels":[],"recording_details":[]}`,
			func(c *Call) { c.CallID, c.Labels, c.Recordings = 1, []string{}, []Recording{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCall([]byte(tt.raw))
			if err != nil {
				t.Fatal(err)
			}
			want := Call{Direction: "outbound", DateStarted: 1700000000000}
			tt.want(&want)
			want.Raw = []byte(tt.raw)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("got\n%+v\nwant\n%+v", got, want)
			}
			var ref Call
			if err := json.Unmarshal([]byte(tt.raw), &ref); err != nil {
				t.Fatalf("encoding/json: %v", err)
			}
			ref.Raw = got.Raw
			if !reflect.DeepEqual(got, ref) {
				t.Errorf("differs from encoding/json:\n%+v\n%+v", got, ref)
			}
		})
	}
}

func TestDecodeCallRejects(t *testing.T) {
	tests := []struct {
		raw, reason string
		callID      ID
	}{
		{`{"date_started":"1","direction":"inbound"}`, "call_id is missing or not positive", 0},
		{`{"call_id":"0","date_started":"1","direction":"inbound"}`, "call_id is missing or not positive", 0},
		{`{"call_id":"7","direction":"inbound"}`, "date_started is missing or not positive", 7},
		{`{"call_id":"7","date_started":"1","direction":"sideways"}`, `direction is "sideways", want inbound or outbound`, 7},
		{`{"call_id":"7","date_started":"1"}`, `direction is "", want inbound or outbound`, 7},
		{`{"call_id":"7","date_started":"yesterday","direction":"inbound"}`, `date_started: want an integer, got "yesterday"`, 7},
		{`{"call_id":"7","date_started":"1","direction":"inbound","target":"Agent"}`, "target: want an object, got a string", 7},
		{`{"call_id":"7","date_started":"1","direction":"inbound","target":{"id":{}}}`, "target.id: want an integer, got {}", 7},
		{`{"call_id":"7","date_started":"1","direction":"inbound","labels":["a",3]}`, "labels[1]: want a string, got a number", 7},
		{`{"call_id":"7","date_started":"1","direction":"inbound","recording_details":[{"url":false}]}`, "recording_details[0].url: want a string, got a boolean", 7},
		{`{"call_id":"7","date_started":"1","direction":"inbound","duration":"NaN"}`, "duration is not a finite number", 7},
		{`{"call_id":"7","date_started":"1","direction":5}`, "direction: want a string, got a number", 7},
		{`["call_id"]`, "want an object, got an array", 0},
		{`{"call_id":"7",}`, "invalid JSON at byte 15", 7},
		{`{"call_id":"7"} x`, "invalid JSON at byte 16", 7},
		{``, "invalid JSON at byte 0", 0},
	}
	for _, tt := range tests {
		c, err := DecodeCall([]byte(tt.raw))
		if err == nil {
			t.Errorf("DecodeCall(%s) accepted", tt.raw)
			continue
		}
		if !strings.Contains(err.Error(), tt.reason) {
			t.Errorf("DecodeCall(%s): %q, want it to say %q", tt.raw, err, tt.reason)
		}
		if c.CallID != tt.callID {
			t.Errorf("DecodeCall(%s): CallID %d, want %d", tt.raw, c.CallID, tt.callID)
		}
		// Without the invariants, we agree with encoding/json.
		var ref Call
		refErr := json.Unmarshal([]byte(tt.raw), &ref)
		if _, derr := decodeCall([]byte(tt.raw)); (derr == nil) != (refErr == nil) {
			t.Errorf("%s: decodeCall says %v, encoding/json says %v", tt.raw, derr, refErr)
		}
	}
}

func TestDecodePage(t *testing.T) {
	body := readTestdata(t, "page_25.json")
	page, cursor, err := DecodePage(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Calls) != 25 || len(page.Rejected) != 0 || page.Bytes != len(body) {
		t.Fatalf("calls %d, rejected %d, bytes %d; want 25, 0, %d", len(page.Calls), len(page.Rejected), page.Bytes, len(body))
	}
	if !strings.HasPrefix(cursor, "Cj0KEQoEY2FsbBCA") {
		t.Errorf("cursor %q", cursor)
	}
	var env struct {
		Items []json.RawMessage `json:"items"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	ids := map[ID]bool{}
	for i, c := range page.Calls {
		if string(c.Raw) != string(env.Items[i]) {
			t.Fatalf("item %d: Raw is not the item as sent", i)
		}
		var ref Call
		if err := json.Unmarshal(env.Items[i], &ref); err != nil {
			t.Fatal(err)
		}
		ref.Raw = c.Raw
		if !reflect.DeepEqual(c, ref) {
			t.Errorf("item %d differs from encoding/json:\n%+v\n%+v", i, c, ref)
		}
		ids[c.CallID] = true
	}
	if len(ids) != 25 {
		t.Errorf("%d distinct call ids, want 25", len(ids))
	}
	// Raw is a copy: the body can be reused.
	for i := range body {
		body[i] = ' '
	}
	if page.Calls[0].Raw[0] != '{' {
		t.Error("Call.Raw aliases the response body")
	}
}

func TestDecodePageRejectsBadItems(t *testing.T) {
	body := `{"items":[
		{"call_id":"1","date_started":"1700000000000","direction":"inbound"},
		{"call_id":"2","date_started":"soon","direction":"inbound"},
		{"call_id":"3","date_started":"1700000000000","direction":"inbound","target":[1,2]},
		"not a call",
		{"date_started":"1700000000000","direction":"outbound"},
		{"call_id":"6","date_started":"1700000000000","direction":"outbound","contact":{},"extra":{"deep":[[]]}}
	],"cursor":null}`
	page, cursor, err := DecodePage([]byte(body))
	if err != nil {
		t.Fatal(err)
	}
	if cursor != "" {
		t.Errorf("cursor %q, want none", cursor)
	}
	var got []ID
	for _, c := range page.Calls {
		got = append(got, c.CallID)
	}
	if !reflect.DeepEqual(got, []ID{1, 6}) {
		t.Errorf("calls %v, want [1 6]", got)
	}
	want := []struct {
		id     ID
		reason string
		raw    string
	}{
		{2, `date_started: want an integer, got "soon"`, `{"call_id":"2","date_started":"soon","direction":"inbound"}`},
		{3, "target: want an object, got an array", `{"call_id":"3","date_started":"1700000000000","direction":"inbound","target":[1,2]}`},
		{0, "want an object, got a string", `"not a call"`},
		{0, "call_id is missing or not positive", `{"date_started":"1700000000000","direction":"outbound"}`},
	}
	if len(page.Rejected) != len(want) {
		t.Fatalf("rejected %d, want %d: %+v", len(page.Rejected), len(want), page.Rejected)
	}
	for i, w := range want {
		r := page.Rejected[i]
		if r.CallID != w.id || r.Reason != w.reason || string(r.Raw) != w.raw {
			t.Errorf("rejected[%d] = {%d %q %s}, want {%d %q %s}", i, r.CallID, r.Reason, r.Raw, w.id, w.reason, w.raw)
		}
	}
}

func TestDecodePageEnvelope(t *testing.T) {
	for _, tt := range []struct {
		body, cursor string
		n            int
	}{
		{`{"items":[]}`, "", 0},
		{`{"items":[],"cursor":""}`, "", 0},
		{`{"cursor":"abc","items":[{"call_id":1,"date_started":1,"direction":"inbound"}],"unknown":{"x":[1]}}`, "abc", 1},
		{` {"items":[] , "cursor" : "a\u0062c"} ` + "\n", "abc", 0},
		{`{}`, "", 0},
		{`{"cursor":"next"}`, "next", 0},
	} {
		page, cursor, err := DecodePage([]byte(tt.body))
		if err != nil {
			t.Errorf("%s: %v", tt.body, err)
			continue
		}
		if cursor != tt.cursor || len(page.Calls) != tt.n {
			t.Errorf("%s: cursor %q, %d calls; want %q, %d", tt.body, cursor, len(page.Calls), tt.cursor, tt.n)
		}
	}
	for _, body := range []string{
		``, `null`, `[]`, `{"items":[{"call_id":1}`, `{"items":[{"call_id":1}]`, `{"items":{}}`,
		`{"items":[],"cursor":5}`, `{"items":[]}{}`, `<html>502 Bad Gateway</html>`,
		`{"items":[{"call_id":"1","date_started":"1","direction":"inbound","target":{"id":"1",}}]}`,
		// 2xx answers that are not a call page: never an empty last page.
		`{"error":{"code":500,"message":"backend unavailable"}}`, `{"data":[{"call_id":"1"}]}`,
		`{"cursor":"abc","calls":[]}`, `[{"call_id":"1"}]`, `"ok"`, `true`, `{"items":null}`, `{"items":null,"cursor":""}`,
	} {
		if _, _, err := DecodePage([]byte(body)); err == nil {
			t.Errorf("DecodePage(%s) accepted", body)
		}
	}
}

func TestDecodeDepthLimitMatchesEncodingJSON(t *testing.T) {
	for _, depth := range []int{10000, 10001} {
		nest := strings.Repeat("[", depth-1) + strings.Repeat("]", depth-1)
		raw := `{"call_id":1,"x":` + nest + `}`
		_, err := decodeCall([]byte(raw))
		var ref Call
		refErr := json.Unmarshal([]byte(raw), &ref)
		if (err == nil) != (refErr == nil) {
			t.Errorf("depth %d: we say %v, encoding/json says %v", depth, err, refErr)
		}
	}
}
