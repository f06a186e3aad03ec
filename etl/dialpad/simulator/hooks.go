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

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// The endpoints of webhooks and event subscriptions, which the hub keeps,
// and of the call-center operators' duty status, which it reads from the
// timeline of the agent status events:
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
//	GET    /api/v2/callcenters/operators/{id}/dutystatus       the operator's status at the simulator's clock
//	POST   /api/v2/websockets {secret}                          the websocket, with a URL (sockets.go)
//	GET    /api/v2/websockets, GET|DELETE /api/v2/websockets/{id}
//
// Subscriptions take a webhook's or a websocket's id as endpoint_id.
//
// Ids are JSON strings, as elsewhere in the API. An unknown id is 404, a
// body that is not the request's JSON object 400.

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
	if s.serveSockets(w, r, path) {
		return true
	}
	for _, res := range []struct {
		prefix   string
		create   func(http.ResponseWriter, *http.Request)
		list     func(http.ResponseWriter, *http.Request)
		get, del func(int64) (any, bool)
		name     string
	}{
		{"/api/v2/webhooks", s.createWebhook, s.listWebhooks, found(s.hub.Webhook), found(s.hub.DeleteWebhook), "webhook"},
		{"/api/v2/subscriptions/call", s.createCallSub, s.listCallSubs, found(s.hub.CallSub), found(s.hub.DeleteCallSub),
			"call event subscription"},
		{"/api/v2/subscriptions/agent_status", s.createAgentSub, s.listAgentSubs, found(s.hub.AgentSub),
			found(s.hub.DeleteAgentSub), "agent status subscription"},
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

// found adapts a lookup of the hub to serveHooks's table.
func found[J any](get func(int64) (J, bool)) func(int64) (any, bool) {
	return func(id int64) (any, bool) { return get(id) }
}

type items[T any] struct {
	Items []T `json:"items"`
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
	secret := ""
	if req.Secret != nil {
		if strings.ContainsAny(*req.Secret, "\r\n") {
			writeError(w, http.StatusBadRequest, "secret must be a single line")
			return
		}
		secret = *req.Secret
	}
	writeObject(w, s.hub.AddWebhook(*req.HookURL, secret))
}

func (s *Sim) listWebhooks(w http.ResponseWriter, _ *http.Request) {
	writeObject(w, items[webhook.HookJSON]{Items: s.hub.Webhooks()})
}

func (s *Sim) createCallSub(w http.ResponseWriter, r *http.Request) {
	var req struct {
		EndpointID     wire.ID  `json:"endpoint_id"`
		CallStates     []string `json:"call_states"`
		TargetType     string   `json:"target_type"`
		TargetID       wire.ID  `json:"target_id"`
		Enabled        *bool    `json:"enabled"`
		GroupCallsOnly *bool    `json:"group_calls_only"`
	}
	if !readBody(w, r, &req) {
		return
	}
	for _, st := range req.CallStates {
		if !slices.Contains(callSubscriptionStates, st) {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("call_states: %q is not a call state", st))
			return
		}
	}
	c := webhook.CallSub{States: req.CallStates, Enabled: req.Enabled == nil || *req.Enabled, GroupCallsOnly: req.GroupCallsOnly}
	switch {
	case req.TargetType == "" && req.TargetID == 0:
	case req.TargetType == "" || req.TargetID == 0:
		writeError(w, http.StatusBadRequest, "target_type and target_id must be given together")
		return
	case !slices.Contains(subscriptionTargetTypes, req.TargetType):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("target_type: %q is not a target type", req.TargetType))
		return
	default:
		c.Target = dialpad.Target{Type: req.TargetType, ID: int64(req.TargetID)}
		if _, ok := s.tr.Index(c.Target); !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("target %s:%d not found", c.Target.Type, c.Target.ID))
			return
		}
	}
	out, ok := s.hub.AddCallSub(c, int64(req.EndpointID))
	if !ok {
		webhookNotFound(w, int64(req.EndpointID))
		return
	}
	writeObject(w, out)
}

// listCallSubs lists the call event subscriptions, of one target with
// target_type and target_id.
func (s *Sim) listCallSubs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	typ, id := q.Get("target_type"), q.Get("target_id")
	var tg dialpad.Target
	if typ != "" || id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || typ == "" {
			writeError(w, http.StatusBadRequest, "target_type and target_id (an integer) must be given together")
			return
		}
		tg = dialpad.Target{Type: typ, ID: n}
	}
	writeObject(w, items[webhook.CallSubJSON]{Items: s.hub.CallSubs(tg)})
}

func (s *Sim) createAgentSub(w http.ResponseWriter, r *http.Request) {
	var req struct {
		EndpointID wire.ID `json:"endpoint_id"`
		AgentType  *string `json:"agent_type"`
		Enabled    *bool   `json:"enabled"`
	}
	if !readBody(w, r, &req) {
		return
	}
	if req.AgentType != nil && *req.AgentType != "callcenter" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("agent_type: %q is not an agent type (want callcenter)", *req.AgentType))
		return
	}
	out, ok := s.hub.AddAgentSub(req.Enabled == nil || *req.Enabled, int64(req.EndpointID))
	if !ok {
		webhookNotFound(w, int64(req.EndpointID))
		return
	}
	writeObject(w, out)
}

func (s *Sim) listAgentSubs(w http.ResponseWriter, _ *http.Request) {
	writeObject(w, items[webhook.AgentSubJSON]{Items: s.hub.AgentSubs()})
}

// serveDutyStatus answers GET /api/v2/callcenters/operators/{id}/dutystatus
// with the operator's duty status at the simulator's clock, and 404 for a
// user who is not an operator of the call center; false when path is not
// that endpoint.
func (s *Sim) serveDutyStatus(w http.ResponseWriter, r *http.Request) bool {
	return serveAtClock(w, r, "/api/v2/callcenters/operators/", "/dutystatus", "operator not found",
		func(n int64) string { return fmt.Sprintf("user %d is not an operator of a call center", n) },
		func(n int64) (webhook.DutyStatusJSON, bool) { return s.hub.DutyStatus(n, s.now()) })
}

// webhookNotFound answers a subscription to an unknown endpoint.
func webhookNotFound(w http.ResponseWriter, endpoint int64) {
	writeError(w, http.StatusNotFound, fmt.Sprintf("webhook or websocket %d not found (endpoint_id)", endpoint))
}
