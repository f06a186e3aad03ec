package simulator

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
)

// hookDo sends an authorized request with a JSON body, checks the status
// and decodes the answer into out (when not nil); it returns the body.
func hookDo(t testing.TB, base, method, path, body string, want int, out any) []byte {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer sim-token")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, resp.StatusCode, b, want)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v\n%s", method, path, err, b)
		}
	}
	return b
}

func hookPost(t testing.TB, base, path, body string, want int, out any) []byte {
	t.Helper()
	return hookDo(t, base, http.MethodPost, path, body, want, out)
}

// errorMessage reads {"error":{"message":...}}.
func errorMessage(t testing.TB, body []byte) string {
	t.Helper()
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	if err := json.Unmarshal(body, &e); err != nil || e.Error.Message == "" {
		t.Fatalf("not an error body: %s", body)
	}
	return e.Error.Message
}

func TestWebhooksCreateListDelete(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	base := serve(t, s).URL
	signed := hookPost(t, base, "/api/v2/webhooks", `{"hook_url":"https://example.com/hook?a=1&b=2","secret":"puppy"}`, 200, nil)
	var h struct{ ID string }
	json.Unmarshal(signed, &h)
	if !simtest.IDPattern.MatchString(h.ID) {
		t.Fatalf("webhook id %q, want a 16-digit string", h.ID)
	}
	if want := `{"hook_url":"https://example.com/hook?a=1&b=2","id":"` + h.ID +
		`","signature":{"algo":"HS256","secret":"puppy","type":"jwt"}}`; string(signed) != want {
		t.Errorf("created\n%s\nwant\n%s", signed, want)
	}
	plain := hookPost(t, base, "/api/v2/webhooks", `{"hook_url":"http://127.0.0.1:9/events"}`, 200, nil)
	if bytes.Contains(plain, []byte("signature")) {
		t.Errorf("a webhook without a secret has a signature: %s", plain)
	}

	list := hookDo(t, base, http.MethodGet, "/api/v2/webhooks", "", 200, nil)
	if want := `{"items":[` + string(signed) + `,` + string(plain) + `]}`; string(list) != want {
		t.Errorf("list\n%s\nwant\n%s", list, want)
	}
	if got := hookDo(t, base, http.MethodGet, "/api/v2/webhooks/"+h.ID, "", 200, nil); !bytes.Equal(got, signed) {
		t.Errorf("get %s", got)
	}
	if got := hookDo(t, base, http.MethodDelete, "/api/v2/webhooks/"+h.ID, "", 200, nil); !bytes.Equal(got, signed) {
		t.Errorf("delete answered %s", got)
	}
	hookDo(t, base, http.MethodDelete, "/api/v2/webhooks/"+h.ID, "", 404, nil)
	hookDo(t, base, http.MethodGet, "/api/v2/webhooks/"+h.ID, "", 404, nil)
	hookDo(t, base, http.MethodGet, "/api/v2/webhooks/not-a-number", "", 404, nil)
	if list := hookDo(t, base, http.MethodGet, "/api/v2/webhooks", "", 200, nil); string(list) != `{"items":[`+string(plain)+`]}` {
		t.Errorf("after the delete: %s", list)
	}

	for body, want := range map[string]string{
		`{"hook_url":`:             "invalid request body",
		`[1,2]`:                    "must be a JSON object",
		`{"secret":"x"}`:           "hook_url is required",
		`{"hook_url":"ftp://x/y"}`: "absolute http or https URL",
		`{"hook_url":42}`:          "invalid request body",
		`{"hook_url":"http://x/","secret":"a\nb"}`: "single line",
	} {
		if msg := errorMessage(t, hookPost(t, base, "/api/v2/webhooks", body, 400, nil)); !strings.Contains(msg, want) {
			t.Errorf("POST %s: %q, want it to say %q", body, msg, want)
		}
	}
	hookDo(t, base, http.MethodPut, "/api/v2/webhooks", `{}`, 405, nil)
}

func TestHooksNeedTheKeyAndPassTheFaults(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	base := serve(t, s).URL
	req, _ := http.NewRequest(http.MethodPost, base+"/api/v2/webhooks", strings.NewReader(`{"hook_url":"http://x/"}`))
	req.Header.Set("Authorization", "Bearer wrong-key-4711")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 401 || bytes.Contains(body, []byte("4711")) {
		t.Errorf("a wrong key: %d %s", resp.StatusCode, body)
	}
	if list := hookDo(t, base, http.MethodGet, "/api/v2/webhooks", "", 200, nil); string(list) != `{"items":[]}` {
		t.Errorf("a refused POST created a webhook: %s", list)
	}
	s.SetFaults(Faults{ErrorRate: 1})
	req, _ = http.NewRequest(http.MethodPost, base+"/api/v2/webhooks", strings.NewReader(`{"hook_url":"http://x/"}`))
	req.Header.Set("Authorization", "Bearer sim-token")
	if resp, err = http.DefaultClient.Do(req); err != nil || resp.StatusCode < 500 {
		t.Errorf("with ErrorRate 1: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestCallSubscriptions(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	base := serve(t, s).URL
	var hook map[string]any
	hookPost(t, base, "/api/v2/webhooks", `{"hook_url":"https://example.com/e","secret":"k"}`, 200, &hook)
	hid := hook["id"].(string)
	dept := s.Targets()[0]

	type sub struct {
		ID         string         `json:"id"`
		CallStates []string       `json:"call_states"`
		Enabled    bool           `json:"enabled"`
		TargetType string         `json:"target_type"`
		TargetID   string         `json:"target_id"`
		Webhook    map[string]any `json:"webhook"`
	}
	var a, b sub
	hookPost(t, base, "/api/v2/subscriptions/call", `{"endpoint_id":"`+hid+`","call_states":["ringing","hangup"],`+
		`"target_type":"department","target_id":`+strconv.FormatInt(dept.ID, 10)+`,"enabled":true}`, 200, &a)
	if !simtest.IDPattern.MatchString(a.ID) || a.ID == hid || strings.Join(a.CallStates, ",") != "ringing,hangup" || !a.Enabled ||
		a.TargetType != "department" || a.TargetID != strconv.FormatInt(dept.ID, 10) || a.Webhook["id"] != hid || a.Webhook["hook_url"] != hook["hook_url"] {
		t.Errorf("created %+v", a)
	}
	hookPost(t, base, "/api/v2/subscriptions/call", `{"endpoint_id":`+hid+`,"call_states":["all"],"enabled":false}`, 200, &b)
	if b.Enabled || b.TargetType != "" || b.TargetID != "" {
		t.Errorf("created %+v", b)
	}

	var list struct{ Items []sub }
	hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/call", "", 200, &list)
	if len(list.Items) != 2 || list.Items[0].ID != a.ID || list.Items[1].ID != b.ID {
		t.Errorf("list %+v", list.Items)
	}
	hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/call?target_type=department&target_id="+strconv.FormatInt(dept.ID, 10), "", 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != a.ID {
		t.Errorf("list of the department %+v", list.Items)
	}
	hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/call?target_type=department", "", 400, nil)

	for body, want := range map[string]int{
		`{"endpoint_id":"123","call_states":["hangup"]}`:                         404,
		`{"endpoint_id":"` + hid + `","call_states":["exploded"]}`:               400,
		`{"endpoint_id":"` + hid + `","target_type":"department"}`:               400,
		`{"endpoint_id":"` + hid + `","target_type":"planet","target_id":1}`:     400,
		`{"endpoint_id":"` + hid + `","target_type":"department","target_id":1}`: 404,
		`{"endpoint_id":"` + hid + `","call_states":"hangup"}`:                   400,
		`{"endpoint_id":`: 400,
	} {
		errorMessage(t, hookPost(t, base, "/api/v2/subscriptions/call", body, want, nil))
	}

	var got sub
	hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/call/"+a.ID, "", 200, &got)
	hookDo(t, base, http.MethodDelete, "/api/v2/subscriptions/call/"+a.ID, "", 200, &got)
	if got.ID != a.ID {
		t.Errorf("deleted %+v", got)
	}
	hookDo(t, base, http.MethodDelete, "/api/v2/subscriptions/call/"+a.ID, "", 404, nil)
	hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/call", "", 200, &list)
	if len(list.Items) != 1 || list.Items[0].ID != b.ID {
		t.Errorf("after the delete %+v", list.Items)
	}
	// Deleting the webhook deletes its subscriptions.
	hookDo(t, base, http.MethodDelete, "/api/v2/webhooks/"+hid, "", 200, nil)
	if body := hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/call", "", 200, nil); string(body) != `{"items":[]}` {
		t.Errorf("the webhook's subscriptions outlived it: %s", body)
	}
}

func TestAgentStatusSubscriptions(t *testing.T) {
	t.Parallel()
	s := newTestSim(t, Config{})
	base := serve(t, s).URL
	var hook struct{ ID string }
	hookPost(t, base, "/api/v2/webhooks", `{"hook_url":"https://example.com/agents"}`, 200, &hook)
	created := hookPost(t, base, "/api/v2/subscriptions/agent_status",
		`{"endpoint_id":"`+hook.ID+`","agent_type":"callcenter","enabled":true}`, 200, nil)
	var a struct{ ID string }
	json.Unmarshal(created, &a)
	if want := `{"agent_type":"callcenter","enabled":true,"id":"` + a.ID +
		`","webhook":{"hook_url":"https://example.com/agents","id":"` + hook.ID + `"}}`; string(created) != want {
		t.Errorf("created\n%s\nwant\n%s", created, want)
	}
	if list := hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/agent_status", "", 200, nil); string(list) != `{"items":[`+string(created)+`]}` {
		t.Errorf("list %s", list)
	}
	hookPost(t, base, "/api/v2/subscriptions/agent_status", `{"endpoint_id":"`+hook.ID+`","agent_type":"user"}`, 400, nil)
	hookPost(t, base, "/api/v2/subscriptions/agent_status", `{"endpoint_id":"1","agent_type":"callcenter"}`, 404, nil)
	if got := hookDo(t, base, http.MethodDelete, "/api/v2/subscriptions/agent_status/"+a.ID, "", 200, nil); !bytes.Equal(got, created) {
		t.Errorf("deleted %s", got)
	}
	hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/agent_status/"+a.ID, "", 404, nil)
	if list := hookDo(t, base, http.MethodGet, "/api/v2/subscriptions/agent_status", "", 200, nil); string(list) != `{"items":[]}` {
		t.Errorf("after the delete: %s", list)
	}
}
