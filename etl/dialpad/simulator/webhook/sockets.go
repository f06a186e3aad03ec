package webhook

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Websockets, as Dialpad keeps them: a websocket is an endpoint of
// subscriptions, like a webhook, whose events a client reads by
// connecting to its URL. Each URL handed out (on create, list and get)
// carries a new token that expires SocketLifetime after it was issued,
// and a connection is closed SocketLifetime after it opened. The events
// go to every open connection of the websocket; what arrives while none
// is open is lost, as with Dialpad.

// DefaultSocketLifetime is how long Dialpad's websocket URLs and
// connections last.
const DefaultSocketLifetime = time.Hour

// socketQueue bounds the events waiting to be written to one
// connection: a reader that far behind is closed.
const socketQueue = 10000

type socket struct {
	id     int64
	secret string

	mu    sync.Mutex
	conns map[*socketConn]bool
}

type socketConn struct {
	out    chan []byte
	closed chan struct{}
	once   sync.Once
}

func (c *socketConn) close() { c.once.Do(func() { close(c.closed) }) }

type socketToken struct {
	socket  int64
	expires time.Time
}

// SocketJSON is a websocket as the API renders it; URL is empty where
// Dialpad's subscriptions render their endpoint.
type SocketJSON struct {
	ID        string         `json:"id"`
	Signature *SignatureJSON `json:"signature,omitempty"`
	URL       string         `json:"websocket_url,omitempty"`
}

// SetSocketLifetime sets how long a URL's token and a connection last
// (default DefaultSocketLifetime).
func (hb *Hub) SetSocketLifetime(d time.Duration) {
	hb.sockMu.Lock()
	defer hb.sockMu.Unlock()
	hb.sockLife = d
}

func (hb *Hub) socketLifetime() time.Duration {
	hb.sockMu.Lock()
	defer hb.sockMu.Unlock()
	if hb.sockLife <= 0 {
		return DefaultSocketLifetime
	}
	return hb.sockLife
}

func (st *hookStore) socket(id int64) *socket {
	for _, s := range st.sockets {
		if s.id == id {
			return s
		}
	}
	return nil
}

// renderEndpoint renders a subscription's endpoint, a webhook or a
// websocket (without its URL). The store's lock must be held.
func (st *hookStore) renderEndpoint(id int64) (*HookJSON, *SocketJSON) {
	if h := st.webhook(id); h != nil {
		r := h.render()
		return &r, nil
	}
	if s := st.socket(id); s != nil {
		r := s.render("")
		return nil, &r
	}
	return nil, nil
}

func (s *socket) render(url string) SocketJSON {
	out := SocketJSON{ID: strconv.FormatInt(s.id, 10), URL: url}
	if s.secret != "" {
		out.Signature = &SignatureJSON{Algo: "HS256", Secret: s.secret, Type: "jwt"}
	}
	return out
}

// issue renders s with a URL carrying a new token (urlOf makes the URL
// of a token).
func (hb *Hub) issue(s *socket, urlOf func(token string) string) SocketJSON {
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	hb.sockMu.Lock()
	if hb.tokens == nil {
		hb.tokens = map[string]socketToken{}
	}
	now := time.Now()
	for k, t := range hb.tokens { // forget the long expired
		if now.Sub(t.expires) > 24*time.Hour {
			delete(hb.tokens, k)
		}
	}
	life := hb.sockLife
	if life <= 0 {
		life = DefaultSocketLifetime
	}
	hb.tokens[tok] = socketToken{socket: s.id, expires: now.Add(life)}
	hb.sockMu.Unlock()
	return s.render(urlOf(tok))
}

// AddWebsocket adds a websocket whose events are signed with secret (""
// for none: plain JSON) and returns it with a URL.
func (hb *Hub) AddWebsocket(secret string, urlOf func(token string) string) SocketJSON {
	s := &socket{secret: secret, conns: map[*socketConn]bool{}}
	st := &hb.store
	st.mu.Lock()
	s.id = st.newID(hb.tr.Salt())
	st.sockets = append(st.sockets, s)
	st.mu.Unlock()
	return hb.issue(s, urlOf)
}

// Websockets returns the websockets in the order they were added, each
// with a fresh URL.
func (hb *Hub) Websockets(urlOf func(token string) string) []SocketJSON {
	st := &hb.store
	st.mu.Lock()
	list := slices.Clone(st.sockets)
	st.mu.Unlock()
	out := []SocketJSON{}
	for _, s := range list {
		out = append(out, hb.issue(s, urlOf))
	}
	return out
}

// Websocket returns the websocket with id and a fresh URL; false when
// there is none.
func (hb *Hub) Websocket(id int64, urlOf func(token string) string) (SocketJSON, bool) {
	st := &hb.store
	st.mu.Lock()
	s := st.socket(id)
	st.mu.Unlock()
	if s == nil {
		return SocketJSON{}, false
	}
	return hb.issue(s, urlOf), true
}

// DeleteWebsocket deletes the websocket and the subscriptions that use
// it, closes its connections, and returns it; false when there is none.
func (hb *Hub) DeleteWebsocket(id int64) (SocketJSON, bool) {
	st := &hb.store
	st.mu.Lock()
	i := slices.IndexFunc(st.sockets, func(s *socket) bool { return s.id == id })
	if i < 0 {
		st.mu.Unlock()
		return SocketJSON{}, false
	}
	s := st.sockets[i]
	st.sockets = slices.Delete(st.sockets, i, i+1)
	st.callSubs = slices.DeleteFunc(st.callSubs, func(c *callSub) bool { return c.hook == id })
	st.agentSubs = slices.DeleteFunc(st.agentSubs, func(a *agentSub) bool { return a.hook == id })
	st.mu.Unlock()
	s.mu.Lock()
	for c := range s.conns {
		c.close()
	}
	s.mu.Unlock()
	return s.render(""), true
}

// SocketConnections is the number of open connections of every
// websocket.
func (hb *Hub) SocketConnections() int {
	st := &hb.store
	st.mu.Lock()
	list := slices.Clone(st.sockets)
	st.mu.Unlock()
	n := 0
	for _, s := range list {
		s.mu.Lock()
		n += len(s.conns)
		s.mu.Unlock()
	}
	return n
}

// ServeSocket answers a connection to the URL of token: 403 for a token
// never issued (or of a deleted websocket), 401 for an expired one, both
// before the upgrade; then it writes the websocket's events to the
// connection until SocketLifetime after it opened, when it closes it
// (status 1000), or until the client goes.
func (hb *Hub) ServeSocket(w http.ResponseWriter, r *http.Request, token string) {
	hb.sockMu.Lock()
	t, ok := hb.tokens[token]
	hb.sockMu.Unlock()
	var s *socket
	if ok {
		st := &hb.store
		st.mu.Lock()
		s = st.socket(t.socket)
		st.mu.Unlock()
	}
	switch {
	case s == nil:
		http.Error(w, "unknown websocket token", http.StatusForbidden)
		return
	case !time.Now().Before(t.expires):
		http.Error(w, "the websocket token has expired: GET /api/v2/websockets/{id} for a fresh URL", http.StatusUnauthorized)
		return
	}
	// The connection takes events from before the upgrade's answer is
	// written: a client that has seen the answer may count on every event
	// sent after it.
	c := &socketConn{out: make(chan []byte, socketQueue), closed: make(chan struct{})}
	s.mu.Lock()
	s.conns[c] = true
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
	}()
	conn, err := websocket.Accept(w, r, &websocket.AcceptOptions{InsecureSkipVerify: true})
	if err != nil {
		return
	}
	life := time.NewTimer(hb.socketLifetime())
	defer life.Stop()
	// The client sends nothing; reading notices its close.
	ctx := conn.CloseRead(r.Context())
	for {
		select {
		case b := <-c.out:
			wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			err := conn.Write(wctx, websocket.MessageText, b)
			cancel()
			if err != nil {
				conn.CloseNow()
				return
			}
		case <-life.C:
			conn.Close(websocket.StatusNormalClosure, "the connection's lifetime is over")
			return
		case <-c.closed:
			conn.Close(websocket.StatusPolicyViolation, "closed by the simulator")
			return
		case <-ctx.Done():
			conn.CloseNow()
			return
		}
	}
}

// push hands a send to every open connection of its websocket: delivered
// when one took it at least, failed (lost) when none is open.
func push(j sendJob, t tally) {
	s := j.socket
	s.mu.Lock()
	n := 0
	for c := range s.conns {
		select {
		case c.out <- j.body:
			n++
		default: // too far behind: Dialpad would drop it too
			c.close()
		}
	}
	s.mu.Unlock()
	if n == 0 {
		t.lastError(errNoConnection)
		t.inc(cFailed)
		return
	}
	t.inc(cDelivered)
}

type noConnection struct{}

func (noConnection) Error() string { return "no open connection to the websocket: the event is lost" }

var errNoConnection error = noConnection{}
