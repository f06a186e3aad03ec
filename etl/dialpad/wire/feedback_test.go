package wire

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The states after a call (csat, pcsat, dispositions) carry what the
// agent and the customer said of it, in shapes Dialpad does not publish
// for pcsat and dispositions: each decodes from every form seen or
// assumed.
func TestDecodeFeedbackEvents(t *testing.T) {
	base := `"call_id":7,"direction":"inbound","date_started":1700000000000,"event_timestamp":1700000090000`
	tests := []struct {
		name     string
		body     string
		score    string
		comments []string
		pcsat    Text
		names    Names
	}{
		{"csat with comments", `{` + base + `,"state":"csat","csat_score":"4","csat_transcriptions":["Quick, thanks","<b>bold</b>"]}`,
			"4", []string{"Quick, thanks", "<b>bold</b>"}, "", nil},
		{"pcsat as a string", `{` + base + `,"state":"pcsat","pcsat_score":"3"}`, "", nil, "3", nil},
		{"pcsat as a number", `{` + base + `,"state":"pcsat","pcsat_score":4.5}`, "", nil, "4.5", nil},
		{"pcsat null", `{` + base + `,"state":"pcsat","pcsat_score":null}`, "", nil, "", nil},
		{"dispositions as strings", `{` + base + `,"state":"dispositions","dispositions":["Billing","Refund"]}`,
			"", nil, "", Names{"Billing", "Refund"}},
		{"dispositions as objects", `{` + base + `,"state":"dispositions","dispositions":[{"id":"9","name":"Billing"},{"name":"Refund","extra":[1]}]}`,
			"", nil, "", Names{"Billing", "Refund"}},
		{"dispositions mixed, with null and empty names", `{` + base + `,"state":"dispositions","dispositions":["Billing",null,{"name":""},{"name":"Sales"},""]}`,
			"", nil, "", Names{"Billing", "Sales"}},
		{"dispositions null", `{` + base + `,"state":"dispositions","dispositions":null}`, "", nil, "", nil},
		{"a lone disposition", `{` + base + `,"state":"dispositions","dispositions":"Billing"}`, "", nil, "", Names{"Billing"}},
		{"a lone disposition object", `{` + base + `,"state":"dispositions","dispositions":{"name":"Billing"}}`, "", nil, "", Names{"Billing"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev, err := DecodeEvent([]byte(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			c := ev.Call
			if c == nil || c.CallID != 7 {
				t.Fatalf("not a call event of leg 7: %+v", ev)
			}
			if c.CSATScore != tt.score || !reflect.DeepEqual(c.CSATComments, tt.comments) || c.PCSATScore != tt.pcsat ||
				!reflect.DeepEqual(c.Dispositions, tt.names) {
				t.Errorf("csat %q %q, pcsat %q, dispositions %q; want %q %q, %q, %q",
					c.CSATScore, c.CSATComments, c.PCSATScore, c.Dispositions, tt.score, tt.comments, tt.pcsat, tt.names)
			}
		})
	}
}

// A shape that is neither refuses the event and says which field.
func TestDecodeFeedbackRejects(t *testing.T) {
	base := `"call_id":7,"direction":"inbound","date_started":1700000000000,"event_timestamp":1700000090000`
	for body, want := range map[string]string{
		`{` + base + `,"state":"dispositions","dispositions":true}`:           "dispositions: want an array, a string or an object with a name, got a boolean",
		`{` + base + `,"state":"dispositions","dispositions":[1]}`:            "dispositions: want a string or an object with a name, got a number",
		`{` + base + `,"state":"dispositions","dispositions":[{"name":2}]}`:   "dispositions: want an object with a string name",
		`{` + base + `,"state":"pcsat","pcsat_score":{"value":3}}`:            "pcsat_score: want a string or a number, got an object",
		`{` + base + `,"state":"csat","csat_score":"5","pcsat_score":[true]}`: "pcsat_score: want a string or a number, got an array",
	} {
		_, err := DecodeEvent([]byte(body))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err %v, want one saying %q", body, err, want)
		}
	}
}

// The states subscribed include those after a call, none of them final.
func TestFeedbackStatesSubscribed(t *testing.T) {
	for _, s := range FeedbackStates {
		if !slices.Contains(CallStates, s) || IsFinal(s) {
			t.Errorf("state %q: subscribed %v, final %v; want subscribed and not final", s, slices.Contains(CallStates, s), IsFinal(s))
		}
	}
}
