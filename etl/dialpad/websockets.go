package dialpad

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Websocket is a connection point Dialpad pushes events through (POST
// /api/v2/websockets), for a receiver that Dialpad cannot reach: the
// job connects out to its URL. Subscriptions take its id as endpoint_id,
// like a webhook's.
type Websocket struct {
	ID        wire.ID    `json:"id"`
	URL       SecretURL  `json:"websocket_url"`
	Signature *Signature `json:"signature"`
}

// Signed reports whether Dialpad signs the websocket's events.
func (w *Websocket) Signed() bool { return w.Signature != nil && w.Signature.Secret != "" }

// SecretURL is a websocket's URL: it carries a temporary token that lets
// anyone who has it read the company's events, so it prints, logs and
// marshals as "[redacted]". Reveal gives the URL to connect to.
type SecretURL string

const redactedURL = "[redacted websocket url]"

// Reveal returns the URL itself, for the connection only.
func (u SecretURL) Reveal() string { return string(u) }

func (u SecretURL) String() string               { return redactedURL }
func (u SecretURL) GoString() string             { return redactedURL }
func (u SecretURL) LogValue() slog.Value         { return slog.StringValue(redactedURL) }
func (u SecretURL) MarshalText() ([]byte, error) { return []byte(redactedURL), nil }

// UnmarshalText keeps the URL as given (MarshalText redacts it).
func (u *SecretURL) UnmarshalText(b []byte) error { *u = SecretURL(b); return nil }

// The websocket endpoints answer the token-bearing URL in every body, so
// their errors never quote a body (wire.Describe would).

// Websockets lists the company's websockets.
func (c *Client) Websockets(ctx context.Context) ([]Websocket, error) {
	var all []Websocket
	seen := map[string]bool{}
	cursor := ""
	for page := 1; ; page++ {
		q := url.Values{}
		if cursor != "" {
			q.Set("cursor", cursor)
		}
		body, err := c.get(ctx, "/api/v2/websockets", q, "", nil)
		if err != nil {
			return nil, err
		}
		var p struct {
			Items  []Websocket `json:"items"`
			Cursor string      `json:"cursor"`
		}
		if err := json.Unmarshal(body, &p); err != nil {
			return nil, fmt.Errorf("GET /api/v2/websockets page %d: %w: not a list of websockets", page, ErrBadResponse)
		}
		all = append(all, p.Items...)
		if p.Cursor == "" {
			return all, nil
		}
		if seen[p.Cursor] {
			return nil, fmt.Errorf("GET /api/v2/websockets: the cursor of page %d repeats an earlier one", page)
		}
		seen[p.Cursor] = true
		cursor = p.Cursor
	}
}

// Websocket returns the websocket with a fresh URL: Dialpad's URLs
// expire an hour after they are issued, and it asks clients to renew
// them this way rather than create new websockets.
func (c *Client) Websocket(ctx context.Context, id wire.ID) (Websocket, error) {
	return c.websocket(ctx, http.MethodGet, "/api/v2/websockets/"+id.String(), nil)
}

// CreateWebsocket creates a websocket whose events are signed with
// secret.
func (c *Client) CreateWebsocket(ctx context.Context, secret string) (Websocket, error) {
	return c.websocket(ctx, http.MethodPost, "/api/v2/websockets", map[string]any{"secret": secret})
}

// DeleteWebsocket deletes a websocket.
func (c *Client) DeleteWebsocket(ctx context.Context, id wire.ID) error {
	_, err := c.do(ctx, http.MethodDelete, "/api/v2/websockets/"+id.String(), nil, nil, "", nil)
	return err
}

func (c *Client) websocket(ctx context.Context, method, path string, body any) (Websocket, error) {
	var b []byte
	if body != nil {
		var err error
		if b, err = json.Marshal(body); err != nil {
			return Websocket{}, err
		}
	}
	resp, err := c.do(ctx, method, path, nil, b, "", nil)
	if err != nil {
		return Websocket{}, err
	}
	var w Websocket
	if err := json.Unmarshal(resp, &w); err != nil || w.ID == 0 {
		return Websocket{}, fmt.Errorf("%s %s: %w: not a websocket", method, path, ErrBadResponse)
	}
	return w, nil
}
