package simulator

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Event subscriptions: which events go to which webhook.

func (s *Sim) renderCallSub(c *callSub) callSubJSON {
	out := callSubJSON{CallStates: c.states, Enabled: c.enabled, GroupCallsOnly: c.groupCallsOnly,
		ID: strconv.FormatInt(c.id, 10), Webhook: s.hooks.webhook(c.hook).render()}
	if c.target.Type != "" {
		out.TargetType, out.TargetID = c.target.Type, strconv.FormatInt(c.target.ID, 10)
	}
	return out
}

func (s *Sim) renderAgentSub(a *agentSub) agentSubJSON {
	return agentSubJSON{AgentType: a.agentType, Enabled: a.enabled, ID: strconv.FormatInt(a.id, 10),
		Webhook: s.hooks.webhook(a.hook).render()}
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
	c := &callSub{states: append([]string{}, req.CallStates...), enabled: req.Enabled == nil || *req.Enabled,
		groupCallsOnly: req.GroupCallsOnly}
	switch {
	case req.TargetType == "" && req.TargetID == 0:
	case req.TargetType == "" || req.TargetID == 0:
		writeError(w, http.StatusBadRequest, "target_type and target_id must be given together")
		return
	case !slices.Contains(subscriptionTargetTypes, req.TargetType):
		writeError(w, http.StatusBadRequest, fmt.Sprintf("target_type: %q is not a target type", req.TargetType))
		return
	default:
		c.target = dialpad.Target{Type: req.TargetType, ID: int64(req.TargetID)}
		if _, ok := s.index[c.target]; !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("target %s:%d not found", c.target.Type, c.target.ID))
			return
		}
	}
	addSub(s, w, &s.hooks.callSubs, c, int64(req.EndpointID), func(c *callSub, hook, id int64) { c.hook, c.id = hook, id },
		s.renderCallSub)
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
	st := &s.hooks
	st.mu.Lock()
	out := items[callSubJSON]{Items: []callSubJSON{}}
	for _, c := range st.callSubs {
		if tg.Type == "" || c.target == tg {
			out.Items = append(out.Items, s.renderCallSub(c))
		}
	}
	st.mu.Unlock()
	writeObject(w, out)
}

func (s *Sim) getCallSub(id int64) (any, bool) {
	return findSub(&s.hooks, &s.hooks.callSubs, id, func(c *callSub) int64 { return c.id }, s.renderCallSub, false)
}

func (s *Sim) deleteCallSub(id int64) (any, bool) {
	return findSub(&s.hooks, &s.hooks.callSubs, id, func(c *callSub) int64 { return c.id }, s.renderCallSub, true)
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
	a := &agentSub{agentType: "callcenter", enabled: req.Enabled == nil || *req.Enabled}
	if req.AgentType != nil && *req.AgentType != "callcenter" {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("agent_type: %q is not an agent type (want callcenter)", *req.AgentType))
		return
	}
	addSub(s, w, &s.hooks.agentSubs, a, int64(req.EndpointID), func(a *agentSub, hook, id int64) { a.hook, a.id = hook, id },
		s.renderAgentSub)
}

func (s *Sim) listAgentSubs(w http.ResponseWriter, _ *http.Request) {
	st := &s.hooks
	st.mu.Lock()
	out := items[agentSubJSON]{Items: []agentSubJSON{}}
	for _, a := range st.agentSubs {
		out.Items = append(out.Items, s.renderAgentSub(a))
	}
	st.mu.Unlock()
	writeObject(w, out)
}

func (s *Sim) getAgentSub(id int64) (any, bool) {
	return findSub(&s.hooks, &s.hooks.agentSubs, id, func(a *agentSub) int64 { return a.id }, s.renderAgentSub, false)
}

func (s *Sim) deleteAgentSub(id int64) (any, bool) {
	return findSub(&s.hooks, &s.hooks.agentSubs, id, func(a *agentSub) int64 { return a.id }, s.renderAgentSub, true)
}

// addSub adds sub to list, sending to webhook endpoint, with a new id
// (set gives it both), and answers with it rendered; 404 when the
// webhook is unknown.
func addSub[T, J any](s *Sim, w http.ResponseWriter, list *[]*T, sub *T, endpoint int64, set func(sub *T, hook, id int64),
	render func(*T) J) {
	st := &s.hooks
	st.mu.Lock()
	if st.webhook(endpoint) == nil {
		st.mu.Unlock()
		writeError(w, http.StatusNotFound, fmt.Sprintf("webhook %d not found (endpoint_id)", endpoint))
		return
	}
	set(sub, endpoint, st.newID(s.salt))
	*list = append(*list, sub)
	out := render(sub)
	st.mu.Unlock()
	writeObject(w, out)
}

// findSub renders the subscription of list whose id is id, and removes
// it when del; ok is false when there is none.
func findSub[T, J any](st *hookStore, list *[]*T, id int64, idOf func(*T) int64, render func(*T) J, del bool) (any, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(*list, func(x *T) bool { return idOf(x) == id })
	if i < 0 {
		return nil, false
	}
	out := render((*list)[i])
	if del {
		*list = slices.Delete(*list, i, i+1)
	}
	return out, true
}

// destinations returns the webhooks subscribed to ev, each once. A call
// subscription's target covers a leg when it is the leg's target, the
// leg's group when the call went through the group's line, or the office.
func (st *hookStore) destinations(s *Sim, ev *Event) []hookDest {
	st.mu.Lock()
	defer st.mu.Unlock()
	var hooks []int64
	if ev.leg == nil {
		for _, a := range st.agentSubs {
			if a.enabled {
				hooks = append(hooks, a.hook)
			}
		}
	} else {
		co, l := s.co, ev.leg
		viaGroup := l.flags&(fInbound|fProxyGroup) != 0 // the group's line: inbound, or placed as the group
		covers := func(t dialpad.Target) bool {
			return t.Type == "" || t == co.target(int(l.target)) || viaGroup && t == co.target(int(l.group)) ||
				t == dialpad.Target{Type: "office", ID: co.officeID}
		}
		for _, c := range st.callSubs {
			if c.enabled && covers(c.target) &&
				(len(c.states) == 0 || slices.Contains(c.states, "all") || slices.Contains(c.states, ev.State)) {
				hooks = append(hooks, c.hook)
			}
		}
	}
	slices.Sort(hooks)
	var out []hookDest
	for _, id := range slices.Compact(hooks) {
		if h := st.webhook(id); h != nil {
			out = append(out, hookDest{url: h.url, secret: h.secret})
		}
	}
	return out
}
