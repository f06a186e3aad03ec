package webhook

import (
	"slices"
	"strconv"
	"sync"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// Webhooks and event subscriptions, kept in memory as the API keeps them
// (the simulator's server answers their endpoints with these methods).
// Ids are unique across webhooks and subscriptions, and are rendered as
// JSON strings, as elsewhere in the API.

// nsHooks is the id namespace of webhooks and subscriptions (see traffic.MakeID).
const nsHooks = 1<<26 - 4

type hookStore struct {
	mu        sync.Mutex
	seq       int64
	webhooks  []*webhook // in creation order, as listed
	sockets   []*socket  // websockets, in creation order (sockets.go)
	callSubs  []*callSub
	agentSubs []*agentSub
}

type webhook struct {
	id          int64
	url, secret string
}

// A subscription's hook is the id of its endpoint: a webhook or a
// websocket.
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

// HookJSON is a webhook as the API renders it. Its keys, and those of the
// subscriptions, are in Dialpad's alphabetical order.
type HookJSON struct {
	HookURL   string         `json:"hook_url"`
	ID        string         `json:"id"`
	Signature *SignatureJSON `json:"signature,omitempty"`
}

// SignatureJSON is how a webhook's events are signed.
type SignatureJSON struct {
	Algo   string `json:"algo"`
	Secret string `json:"secret"`
	Type   string `json:"type"`
}

// CallSubJSON is a call event subscription as the API renders it.
type CallSubJSON struct {
	CallStates     []string    `json:"call_states"`
	Enabled        bool        `json:"enabled"`
	GroupCallsOnly *bool       `json:"group_calls_only,omitempty"`
	ID             string      `json:"id"`
	TargetID       string      `json:"target_id,omitempty"`
	TargetType     string      `json:"target_type,omitempty"`
	Webhook        *HookJSON   `json:"webhook,omitempty"`
	Websocket      *SocketJSON `json:"websocket,omitempty"`
}

// AgentSubJSON is an agent status subscription as the API renders it.
type AgentSubJSON struct {
	AgentType string      `json:"agent_type"`
	Enabled   bool        `json:"enabled"`
	ID        string      `json:"id"`
	Webhook   *HookJSON   `json:"webhook,omitempty"`
	Websocket *SocketJSON `json:"websocket,omitempty"`
}

func (st *hookStore) newID(salt uint64) int64 {
	st.seq++
	return traffic.MakeID(salt, nsHooks, st.seq)
}

func (h *webhook) render() HookJSON {
	out := HookJSON{HookURL: h.url, ID: strconv.FormatInt(h.id, 10)}
	if h.secret != "" {
		out.Signature = &SignatureJSON{Algo: "HS256", Secret: h.secret, Type: "jwt"}
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

// AddWebhook adds a webhook that receives events at url, signed with
// secret ("" for none: plain JSON), and returns it.
func (hb *Hub) AddWebhook(url, secret string) HookJSON {
	h := &webhook{url: url, secret: secret}
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	h.id = st.newID(hb.tr.Salt())
	st.webhooks = append(st.webhooks, h)
	return h.render()
}

// Webhooks returns the webhooks in the order they were added.
func (hb *Hub) Webhooks() []HookJSON {
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []HookJSON{}
	for _, h := range st.webhooks {
		out = append(out, h.render())
	}
	return out
}

// Webhook returns the webhook with id; false when there is none.
func (hb *Hub) Webhook(id int64) (HookJSON, bool) {
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if h := st.webhook(id); h != nil {
		return h.render(), true
	}
	return HookJSON{}, false
}

// DeleteWebhook deletes the webhook and the subscriptions that use it,
// and returns it; false when there is none.
func (hb *Hub) DeleteWebhook(id int64) (HookJSON, bool) {
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(st.webhooks, func(h *webhook) bool { return h.id == id })
	if i < 0 {
		return HookJSON{}, false
	}
	out := st.webhooks[i].render()
	st.webhooks = slices.Delete(st.webhooks, i, i+1)
	st.callSubs = slices.DeleteFunc(st.callSubs, func(c *callSub) bool { return c.hook == id })
	st.agentSubs = slices.DeleteFunc(st.agentSubs, func(a *agentSub) bool { return a.hook == id })
	return out, true
}

// CallSub is a call event subscription to add: the call states it sends
// (none, or "all": every state), whether it is enabled, and its target
// (zero: every call of the company).
type CallSub struct {
	States         []string
	Enabled        bool
	Target         dialpad.Target
	GroupCallsOnly *bool
}

// AddCallSub adds a call event subscription sending to webhook endpoint,
// and returns it; false when there is no such webhook.
func (hb *Hub) AddCallSub(c CallSub, endpoint int64) (CallSubJSON, bool) {
	sub := &callSub{states: append([]string{}, c.States...), enabled: c.Enabled, target: c.Target, groupCallsOnly: c.GroupCallsOnly}
	return addSub(hb, &hb.store.callSubs, sub, endpoint, func(c *callSub, hook, id int64) { c.hook, c.id = hook, id },
		hb.renderCallSub)
}

// CallSubs returns the call event subscriptions in the order they were
// added, those of target tg only when tg is not zero.
func (hb *Hub) CallSubs(tg dialpad.Target) []CallSubJSON {
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []CallSubJSON{}
	for _, c := range st.callSubs {
		if tg.Type == "" || c.target == tg {
			out = append(out, hb.renderCallSub(c))
		}
	}
	return out
}

// CallSub returns the call event subscription with id; false when there
// is none.
func (hb *Hub) CallSub(id int64) (CallSubJSON, bool) {
	return findSub(&hb.store, &hb.store.callSubs, id, func(c *callSub) int64 { return c.id }, hb.renderCallSub, false)
}

// DeleteCallSub deletes the call event subscription with id and returns
// it; false when there is none.
func (hb *Hub) DeleteCallSub(id int64) (CallSubJSON, bool) {
	return findSub(&hb.store, &hb.store.callSubs, id, func(c *callSub) int64 { return c.id }, hb.renderCallSub, true)
}

// AddAgentSub adds an agent status subscription (of the call centers'
// agents) sending to webhook endpoint, and returns it; false when there
// is no such webhook.
func (hb *Hub) AddAgentSub(enabled bool, endpoint int64) (AgentSubJSON, bool) {
	sub := &agentSub{agentType: "callcenter", enabled: enabled}
	return addSub(hb, &hb.store.agentSubs, sub, endpoint, func(a *agentSub, hook, id int64) { a.hook, a.id = hook, id },
		hb.renderAgentSub)
}

// AgentSubs returns the agent status subscriptions in the order they
// were added.
func (hb *Hub) AgentSubs() []AgentSubJSON {
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	out := []AgentSubJSON{}
	for _, a := range st.agentSubs {
		out = append(out, hb.renderAgentSub(a))
	}
	return out
}

// AgentSub returns the agent status subscription with id; false when
// there is none.
func (hb *Hub) AgentSub(id int64) (AgentSubJSON, bool) {
	return findSub(&hb.store, &hb.store.agentSubs, id, func(a *agentSub) int64 { return a.id }, hb.renderAgentSub, false)
}

// DeleteAgentSub deletes the agent status subscription with id and
// returns it; false when there is none.
func (hb *Hub) DeleteAgentSub(id int64) (AgentSubJSON, bool) {
	return findSub(&hb.store, &hb.store.agentSubs, id, func(a *agentSub) int64 { return a.id }, hb.renderAgentSub, true)
}

func (hb *Hub) renderCallSub(c *callSub) CallSubJSON {
	out := CallSubJSON{CallStates: c.states, Enabled: c.enabled, GroupCallsOnly: c.groupCallsOnly,
		ID: strconv.FormatInt(c.id, 10)}
	out.Webhook, out.Websocket = hb.store.renderEndpoint(c.hook)
	if c.target.Type != "" {
		out.TargetType, out.TargetID = c.target.Type, strconv.FormatInt(c.target.ID, 10)
	}
	return out
}

func (hb *Hub) renderAgentSub(a *agentSub) AgentSubJSON {
	out := AgentSubJSON{AgentType: a.agentType, Enabled: a.enabled, ID: strconv.FormatInt(a.id, 10)}
	out.Webhook, out.Websocket = hb.store.renderEndpoint(a.hook)
	return out
}

// addSub adds sub to list, sending to endpoint (a webhook or a
// websocket), with a new id (set gives it both), and returns it
// rendered; false when the endpoint is unknown.
func addSub[T, J any](hb *Hub, list *[]*T, sub *T, endpoint int64, set func(sub *T, hook, id int64), render func(*T) J) (J, bool) {
	st := &hb.store
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.webhook(endpoint) == nil && st.socket(endpoint) == nil {
		var none J
		return none, false
	}
	set(sub, endpoint, st.newID(hb.tr.Salt()))
	*list = append(*list, sub)
	return render(sub), true
}

// findSub renders the subscription of list whose id is id, and removes
// it when del; ok is false when there is none.
func findSub[T, J any](st *hookStore, list *[]*T, id int64, idOf func(*T) int64, render func(*T) J, del bool) (J, bool) {
	st.mu.Lock()
	defer st.mu.Unlock()
	i := slices.IndexFunc(*list, func(x *T) bool { return idOf(x) == id })
	if i < 0 {
		var none J
		return none, false
	}
	out := render((*list)[i])
	if del {
		*list = slices.Delete(*list, i, i+1)
	}
	return out, true
}

// destinations returns the webhooks and websockets subscribed to ev,
// each once. A call
// subscription's target covers a leg when it is the leg's target, the
// leg's group when the call went through the group's line, or the office.
func (st *hookStore) destinations(hb *Hub, ev *Event) []hookDest {
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
		co, l := hb.tr.Company(), ev.leg
		viaGroup := l.Flags&(traffic.Inbound|traffic.ProxyGroup) != 0 // the group's line: inbound, or placed as the group
		covers := func(t dialpad.Target) bool {
			return t.Type == "" || t == co.Target(int(l.Target)) || viaGroup && t == co.Target(int(l.Group)) ||
				t == dialpad.Target{Type: "office", ID: co.OfficeID}
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
		} else if ws := st.socket(id); ws != nil {
			out = append(out, hookDest{socket: ws, secret: ws.secret})
		}
	}
	return out
}
