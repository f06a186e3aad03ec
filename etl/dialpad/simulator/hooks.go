package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Webhooks and event subscriptions, kept in memory:
//
//	POST   /api/v2/webhooks {hook_url, secret}                 the webhook
//	GET    /api/v2/webhooks                                    {"items":[...]}
//	GET    /api/v2/webhooks/{id}, DELETE /api/v2/webhooks/{id} the webhook (deleting also deletes its subscriptions)
//	POST   /api/v2/subscriptions/call {endpoint_id, call_states, target_type, target_id, enabled}
//	GET    /api/v2/subscriptions/call[?target_type=&target_id=]
//	GET|DELETE /api/v2/subscriptions/call/{id}
//	POST   /api/v2/subscriptions/agent_status {endpoint_id, agent_type, enabled}
//	GET    /api/v2/subscriptions/agent_status
//	GET|DELETE /api/v2/subscriptions/agent_status/{id}
//
// Ids are JSON strings, as elsewhere in the API. An unknown id is 404, a
// body that is not the request's JSON object 400.

// nsHooks is the id namespace of webhooks and subscriptions (see ids.go).
const nsHooks = 1<<26 - 4

type hookStore struct {
	mu        sync.Mutex
	seq       int64
	webhooks  []*webhook // in creation order, as listed
	callSubs  []*callSub
	agentSubs []*agentSub
}

type webhook struct {
	id          int64
	url, secret string
}

type callSub struct {
	id, hook       int64
	states         []string
	enabled        bool
	target         dialpad.Target // zero: every call of the company
	groupCallsOnly *bool
}

type agentSub struct {
	id, hook  int64
	agentType string
	enabled   bool
}

// Rendered objects: keys in Dialpad's alphabetical order.
type webhookJSON struct {
	HookURL   string         `json:"hook_url"`
	ID        string         `json:"id"`
	Signature *signatureJSON `json:"signature,omitempty"`
}

type signatureJSON struct {
	Algo   string `json:"algo"`
	Secret string `json:"secret"`
	Type   string `json:"type"`
}

type callSubJSON struct {
	CallStates     []string    `json:"call_states"`
	Enabled        bool        `json:"enabled"`
	GroupCallsOnly *bool       `json:"group_calls_only,omitempty"`
	ID             string      `json:"id"`
	TargetID       string      `json:"target_id,omitempty"`
	TargetType     string      `json:"target_type,omitempty"`
	Webhook        webhookJSON `json:"webhook"`
}

type agentSubJSON struct {
	AgentType string      `json:"agent_type"`
	Enabled   bool        `json:"enabled"`
	ID        string      `json:"id"`
	Webhook   webhookJSON `json:"webhook"`
}

// callSubscriptionStates is the enum of call_states in Dialpad's
// description of POST /api/v2/subscriptions/call.
var callSubscriptionStates = []string{"admin", "admin_recording", "ai_playbook", "all", "barge", "blocked",
	"call_transcription", "calling", "connected", "csat", "dispositions", "eavesdrop", "hangup", "hold", "merged",
	"missed", "monitor", "parked", "pcsat", "postcall", "preanswer", "queued", "recap_action_items",
	"recap_outcome", "recap_purposes", "recap_summary", "recording", "ringing", "takeover", "transcription",
	"voicemail", "voicemail_uploaded"}

// subscriptionTargetTypes is the enum of target_type there.
var subscriptionTargetTypes = []string{"callcenter", "callrouter", "channel", "coachinggroup", "coachingteam",
	"department", "office", "room", "staffgroup", "unknown", "user"}

// serveHooks answers the webhook and subscription endpoints; false when
// path is none of them.
func (s *Sim) serveHooks(w http.ResponseWriter, r *http.Request) bool {
	path := strings.TrimSuffix(r.URL.Path, "/")
	for _, res := range []struct {
		prefix   string
		create   func(http.ResponseWriter, *http.Request)
		list     func(http.ResponseWriter, *http.Request)
		get, del func(int64) (any, bool)
		name     string
	}{
		{"/api/v2/webhooks", s.createWebhook, s.listWebhooks, s.getWebhook, s.deleteWebhook, "webhook"},
		{"/api/v2/subscriptions/call", s.createCallSub, s.listCallSubs, s.getCallSub, s.deleteCallSub, "call event subscription"},
		{"/api/v2/subscriptions/agent_status", s.createAgentSub, s.listAgentSubs, s.getAgentSub, s.deleteAgentSub, "agent status subscription"},
	} {
		rest, ok := strings.CutPrefix(path, res.prefix)
		switch {
		case !ok:
			continue
		case rest == "":
			switch r.Method {
			case http.MethodPost:
				res.create(w, r)
			case http.MethodGet:
				res.list(w, r)
			default:
				methodNotAllowed(w, "GET, POST")
			}
			return true
		case rest[0] != '/' || strings.Contains(rest[1:], "/"):
			continue
		}
		id, err := strconv.ParseInt(rest[1:], 10, 64)
		if err != nil {
			writeError(w, http.StatusNotFound, res.name+" not found")
			return true
		}
		var v any
		var found bool
		switch r.Method {
		case http.MethodGet:
			v, found = res.get(id)
		case http.MethodDelete:
			v, found = res.del(id)
		default:
			methodNotAllowed(w, "GET, DELETE")
			return true
		}
		if !found {
			writeError(w, http.StatusNotFound, fmt.Sprintf("%s %d not found", res.name, id))
			return true
		}
		writeObject(w, v)
		return true
	}
	return false
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeError(w, http.StatusMethodNotAllowed, "method not allowed (allowed: "+allow+")")
}

// readBody decodes the request's JSON object into v, or answers 400.
func readBody(w http.ResponseWriter, r *http.Request, v any) bool {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 1<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, "cannot read the request body")
		return false
	}
	if t := bytes.TrimSpace(body); len(t) == 0 || t[0] != '{' {
		writeError(w, http.StatusBadRequest, "the request body must be a JSON object")
		return false
	}
	if err := json.Unmarshal(body, v); err != nil {
		writeError(w, http.StatusBadRequest, "invalid request body: "+err.Error())
		return false
	}
	return true
}

// writeObject answers 200 with v as JSON, URLs unescaped.
func writeObject(w http.ResponseWriter, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		writeError(w, http.StatusInternalServerError, "cannot render the answer")
		return
	}
	writeJSON(w, http.StatusOK, bytes.TrimSuffix(buf.Bytes(), []byte("\n")))
}

type items[T any] struct {
	Items []T `json:"items"`
}

func (st *hookStore) newID(salt uint64) int64 {
	st.seq++
	return makeID(salt, nsHooks, st.seq)
}

func (h *webhook) render() webhookJSON {
	out := webhookJSON{HookURL: h.url, ID: strconv.FormatInt(h.id, 10)}
	if h.secret != "" {
		out.Signature = &signatureJSON{Algo: "HS256", Secret: h.secret, Type: "jwt"}
	}
	return out
}

func (st *hookStore) webhook(id int64) *webhook {
	for _, h := range st.webhooks {
		if h.id == id {
			return h
		}
	}
	return nil
}

func (s *Sim) createWebhook(w http.ResponseWriter, r *http.Request) {
	var req struct {
		HookURL *string `json:"hook_url"`
		Secret  *string `json:"secret"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.HookURL == nil || *req.HookURL == "" {
		writeError(w, http.StatusBadRequest, "hook_url is required")
		return
	}
	if u, err := url.Parse(*req.HookURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		writeError(w, http.StatusBadRequest, "hook_url must be an absolute http or https URL")
		return
	}
	h := &webhook{url: *req.HookURL}
	if req.Secret != nil {
		if strings.ContainsAny(*req.Secret, "\r\n") {
			writeError(w, http.StatusBadRequest, "secret must be a single line")
			return
		}
		h.secret = *req.Secret
	}
	st := &s.hooks
	st.mu.Lock()
	h.id = st.newID(s.salt)
	st.webhooks = append(st.webhooks, h)
	out := h.render()
	st.mu.Unlock()
	writeObject(w, out)
}

func (s *Sim) listWebhooks(w http.ResponseWriter, _ *http.Request) {
	st := &s.hooks
	st.mu.Lock()
	out := items[webhookJSON]{Items: []webhookJSON{}}
	for _, h := range st.webhooks {
		out.Items = append(out.Items, h.render())
	}
	st.mu.Unlock()
	writeObject(w, out)
}

func (s *Sim) getWebhook(id int64) (any, bool) {
	st := &s.hooks
	st.mu.Lock()
	defer st.mu.Unlock()
	if h := st.webhook(id); h != nil {
		return h.render(), true
	}
	return nil, false
}

// deleteWebhook deletes the webhook and the subscriptions that use it.
func (s *Sim) deleteWebhook(id int64) (any, bool) {
	st := &s.hooks
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(st.webhooks, func(h *webhook) bool { return h.id == id })
	if i < 0 {
		return nil, false
	}
	out := st.webhooks[i].render()
	st.webhooks = slices.Delete(st.webhooks, i, i+1)
	st.callSubs = slices.DeleteFunc(st.callSubs, func(c *callSub) bool { return c.hook == id })
	st.agentSubs = slices.DeleteFunc(st.agentSubs, func(a *agentSub) bool { return a.hook == id })
	return out, true
}
