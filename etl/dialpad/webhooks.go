package dialpad

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Webhook is where Dialpad sends events (POST /api/v2/webhooks).
type Webhook struct {
	ID        wire.ID    `json:"id"`
	HookURL   string     `json:"hook_url"`
	Signature *Signature `json:"signature"`
}

// Signature is how Dialpad signs a webhook's or a websocket's events.
type Signature struct {
	Algo   string `json:"algo"`
	Secret string `json:"secret"`
	Type   string `json:"type"`
}

// Signed reports whether Dialpad signs the webhook's events.
func (w *Webhook) Signed() bool { return w.Signature != nil && w.Signature.Secret != "" }

// CallSubscription sends a target's call events in some states to a
// webhook or a websocket (POST /api/v2/subscriptions/call).
type CallSubscription struct {
	ID         wire.ID    `json:"id"`
	CallStates []string   `json:"call_states"`
	Enabled    bool       `json:"enabled"`
	TargetType string     `json:"target_type"`
	TargetID   wire.ID    `json:"target_id"`
	Webhook    *Webhook   `json:"webhook"`
	Websocket  *Websocket `json:"websocket"`
}

// Target is the subscription's target; zero when it covers the company.
func (s *CallSubscription) Target() Target { return Target{Type: s.TargetType, ID: int64(s.TargetID)} }

// AgentSubscription sends call-center agents' status changes to a
// webhook or a websocket (POST /api/v2/subscriptions/agent_status).
type AgentSubscription struct {
	ID        wire.ID    `json:"id"`
	AgentType string     `json:"agent_type"`
	Enabled   bool       `json:"enabled"`
	Webhook   *Webhook   `json:"webhook"`
	Websocket *Websocket `json:"websocket"`
}

// Webhooks lists the company's webhooks.
func (c *Client) Webhooks(ctx context.Context) ([]Webhook, error) {
	return listAll[Webhook](ctx, c, "/api/v2/webhooks")
}

// CreateWebhook creates a webhook whose events are signed with secret.
func (c *Client) CreateWebhook(ctx context.Context, hookURL, secret string) (Webhook, error) {
	var w Webhook
	err := c.call(ctx, http.MethodPost, "/api/v2/webhooks", map[string]any{"hook_url": hookURL, "secret": secret}, &w)
	return w, err
}

// DeleteWebhook deletes a webhook.
func (c *Client) DeleteWebhook(ctx context.Context, id wire.ID) error {
	return c.call(ctx, http.MethodDelete, "/api/v2/webhooks/"+id.String(), nil, nil)
}

// CallSubscriptions lists the company's call event subscriptions.
func (c *Client) CallSubscriptions(ctx context.Context) ([]CallSubscription, error) {
	return listAll[CallSubscription](ctx, c, "/api/v2/subscriptions/call")
}

// CreateCallSubscription subscribes an endpoint (a webhook's or a
// websocket's id) to t's call events in states.
func (c *Client) CreateCallSubscription(ctx context.Context, endpoint wire.ID, t Target, states []string) (CallSubscription, error) {
	var s CallSubscription
	err := c.call(ctx, http.MethodPost, "/api/v2/subscriptions/call", map[string]any{"endpoint_id": int64(endpoint),
		"call_states": states, "target_type": t.Type, "target_id": t.ID, "enabled": true}, &s)
	return s, err
}

// DeleteCallSubscription deletes a call event subscription.
func (c *Client) DeleteCallSubscription(ctx context.Context, id wire.ID) error {
	return c.call(ctx, http.MethodDelete, "/api/v2/subscriptions/call/"+id.String(), nil, nil)
}

// AgentSubscriptions lists the company's agent status subscriptions.
func (c *Client) AgentSubscriptions(ctx context.Context) ([]AgentSubscription, error) {
	return listAll[AgentSubscription](ctx, c, "/api/v2/subscriptions/agent_status")
}

// CreateAgentSubscription subscribes an endpoint (a webhook's or a
// websocket's id) to call-center agents' status changes.
func (c *Client) CreateAgentSubscription(ctx context.Context, endpoint wire.ID) (AgentSubscription, error) {
	var s AgentSubscription
	err := c.call(ctx, http.MethodPost, "/api/v2/subscriptions/agent_status",
		map[string]any{"endpoint_id": int64(endpoint), "agent_type": "callcenter", "enabled": true}, &s)
	return s, err
}

// DeleteAgentSubscription deletes an agent status subscription.
func (c *Client) DeleteAgentSubscription(ctx context.Context, id wire.ID) error {
	return c.call(ctx, http.MethodDelete, "/api/v2/subscriptions/agent_status/"+id.String(), nil, nil)
}

// call sends body (nil for none) as JSON and decodes the answer into out
// (nil to ignore it).
func (c *Client) call(ctx context.Context, method, path string, body, out any) error {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return err
		}
	}
	resp, err := c.do(ctx, method, path, nil, b, "", nil)
	if err != nil {
		return err
	}
	if out == nil || len(resp) == 0 {
		return nil
	}
	if err := json.Unmarshal(resp, out); err != nil {
		return fmt.Errorf("%s %s: %w: %s", method, path, ErrBadResponse, wire.Describe(resp, err))
	}
	return nil
}

// listAll reads every page of a {items, cursor} listing.
func listAll[T any](ctx context.Context, c *Client, path string) ([]T, error) {
	var all []T
	seen := map[string]bool{}
	cursor := ""
	for page := 1; ; page++ {
		q := url.Values{}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		body, err := c.get(ctx, path, q, "", nil)
		if err != nil {
			return nil, err
		}
		var p struct {
			Items  []T    `json:"items"`
			Cursor string `json:"cursor"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("GET %s page %d: %w: %s", path, page, ErrBadResponse, wire.Describe(body, err))
		}
		all = append(all, p.Items...)
		if p.Cursor == "" {
			return all, nil
		}
		if seen[p.Cursor] {
			return nil, fmt.Errorf("GET %s: the cursor of page %s repeats an earlier one", path, strconv.Itoa(page))
		}
		seen[p.Cursor] = true
		cursor = p.Cursor
	}
}
