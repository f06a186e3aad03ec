package simulator

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

type socketAnswer struct {
	ID        string                 `json:"id"`
	URL       string                 `json:"websocket_url"`
	Signature *webhook.SignatureJSON `json:"signature"`
}

// The websocket endpoints: every answer with a URL carries a new token;
// subscriptions take the websocket's id; deleting it deletes them.
func TestWebsocketEndpointsHandOutFreshURLs(t *testing.T) {
	srv := serve(t, newTestSim(t, Config{}))
	var made, got socketAnswer
	hookPost(t, srv.URL, "/api/v2/websockets", `{"secret":"s3cr3t-of-the-test"}`, http.StatusOK, &made)
	if made.ID == "" || !strings.Contains(made.URL, "token=") || made.Signature == nil || made.Signature.Secret != "s3cr3t-of-the-test" {
		t.Fatalf("created %+v; want an id, a URL with a token, the signature", made)
	}
	hookDo(t, srv.URL, http.MethodGet, "/api/v2/websockets/"+made.ID, "", http.StatusOK, &got)
	if got.ID != made.ID || got.URL == made.URL || !strings.HasPrefix(got.URL, "ws://") {
		t.Errorf("GET gave %+v; want the same websocket with a fresh ws:// URL", got)
	}
	var list struct{ Items []socketAnswer }
	hookDo(t, srv.URL, http.MethodGet, "/api/v2/websockets", "", http.StatusOK, &list)
	if len(list.Items) != 1 || list.Items[0].URL == got.URL {
		t.Errorf("listed %+v; want the websocket with a fresh URL", list.Items)
	}
	var sub struct {
		ID        string
		Webhook   map[string]any
		Websocket map[string]any
	}
	hookPost(t, srv.URL, "/api/v2/subscriptions/agent_status", `{"endpoint_id":`+made.ID+`,"agent_type":"callcenter"}`, http.StatusOK, &sub)
	if sub.Webhook != nil || sub.Websocket["id"] != made.ID || sub.Websocket["websocket_url"] != nil {
		t.Errorf("subscription %+v; want its websocket, without a URL", sub)
	}
	hookDo(t, srv.URL, http.MethodDelete, "/api/v2/websockets/"+made.ID, "", http.StatusOK, nil)
	hookDo(t, srv.URL, http.MethodGet, "/api/v2/websockets/"+made.ID, "", http.StatusNotFound, nil)
	hookDo(t, srv.URL, http.MethodGet, "/api/v2/subscriptions/agent_status/"+sub.ID, "", http.StatusNotFound, nil)
	// The URL of a deleted websocket is refused.
	if code := handshake(t, got.URL); code != http.StatusForbidden {
		t.Errorf("a deleted websocket's URL answered %d, want 403", code)
	}
}

// handshake tries to connect to u and returns the HTTP status answered
// (101 when connected).
func handshake(t *testing.T, u string) int {
	t.Helper()
	c, resp, err := websocket.Dial(context.Background(), u, nil)
	if err == nil {
		c.CloseNow()
		return http.StatusSwitchingProtocols
	}
	if resp == nil {
		t.Fatalf("dial: %v", err)
	}
	return resp.StatusCode
}

// An unknown token is refused 403, an expired one 401, before the
// upgrade; a fresh URL from GET connects.
func TestWebsocketRefusesUnknownAndExpiredTokens(t *testing.T) {
	const life = 200 * time.Millisecond
	srv := serve(t, newTestSim(t, Config{WebsocketLifetime: life}))
	var ws socketAnswer
	hookPost(t, srv.URL, "/api/v2/websockets", `{"secret":"s3cr3t-of-the-test"}`, http.StatusOK, &ws)
	if code := handshake(t, strings.Replace(ws.URL, "token=", "token=x", 1)); code != http.StatusForbidden {
		t.Errorf("an unknown token answered %d, want 403", code)
	}
	time.Sleep(2 * life)
	if code := handshake(t, ws.URL); code != http.StatusUnauthorized {
		t.Errorf("an expired token answered %d, want 401", code)
	}
	hookDo(t, srv.URL, http.MethodGet, "/api/v2/websockets/"+ws.ID, "", http.StatusOK, &ws)
	if code := handshake(t, ws.URL); code != http.StatusSwitchingProtocols {
		t.Errorf("a fresh URL answered %d, want a connection", code)
	}
}

// A connection gets the events of its websocket's subscriptions, signed
// with its secret, and is closed (1000) once its lifetime is over.
func TestWebsocketPushesSignedEventsThenClosesAtItsLifetime(t *testing.T) {
	const secret = "s3cr3t-of-the-test"
	sim := newTestSim(t, Config{WebsocketLifetime: 3 * time.Second})
	srv := serve(t, sim)
	var ws socketAnswer
	hookPost(t, srv.URL, "/api/v2/websockets", `{"secret":"`+secret+`"}`, http.StatusOK, &ws)
	hookPost(t, srv.URL, "/api/v2/subscriptions/call", `{"endpoint_id":`+ws.ID+`}`, http.StatusOK, nil)
	hookPost(t, srv.URL, "/api/v2/subscriptions/agent_status", `{"endpoint_id":`+ws.ID+`}`, http.StatusOK, nil)
	c, _, err := websocket.Dial(context.Background(), ws.URL, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseNow()
	from := sim.cfg.End.Add(-4 * 24 * time.Hour).Add(15 * time.Hour)
	st, err := sim.Deliver(context.Background(), webhook.Delivery{Subscriptions: true, From: from, To: from.Add(15 * time.Minute), Rate: 1000})
	if err != nil || st.Delivered == 0 || st.Failed != 0 {
		t.Fatalf("deliver: %+v, %v; want events, each to the connection", st, err)
	}
	n := int64(0)
	for {
		_, msg, err := c.Read(context.Background())
		if err != nil {
			var ce websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != websocket.StatusNormalClosure {
				t.Errorf("the connection ended with %v; want a normal closure at its lifetime", err)
			}
			break
		}
		if _, err := wire.VerifyEvent(msg, []byte(secret)); err != nil {
			t.Fatalf("message %d: %v", n, err)
		}
		n++
	}
	if n != st.Delivered {
		t.Errorf("%d messages read, %d delivered", n, st.Delivered)
	}
}
