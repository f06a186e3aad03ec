package events_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
)

// fakeAcceptor takes every message but "forged", which it refuses as
// the Receiver would.
type fakeAcceptor struct {
	mu     sync.Mutex
	bodies []string
	lost   []time.Time
}

func (f *fakeAcceptor) Accept(_ context.Context, body []byte) error {
	if string(body) == "forged" {
		return forgedRefusal(body)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.bodies = append(f.bodies, string(body))
	return nil
}

func (f *fakeAcceptor) MayHaveLost(since time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.lost = append(f.lost, since)
}

func (f *fakeAcceptor) got() ([]string, int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string{}, f.bodies...), len(f.lost)
}

// forgedRefusal is the Receiver's own refusal of body.
func forgedRefusal(body []byte) error {
	r := &events.Receiver{Secret: []byte(secret)}
	return r.Accept(context.Background(), body)
}

// fakeGaps records the Listener's calls, in order.
type fakeGaps struct {
	mu    sync.Mutex
	calls []string
}

func (g *fakeGaps) OpenGap(context.Context, time.Time) error   { return g.add("open") }
func (g *fakeGaps) CloseGaps(context.Context, time.Time) error { return g.add("close") }
func (g *fakeGaps) add(c string) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.calls = append(g.calls, c)
	return nil
}

// fixedSockets hands out the URL of a test server, with a token.
type fixedSockets struct{ url string }

func (s fixedSockets) Websocket(context.Context, wire.ID) (dialpad.Websocket, error) {
	return dialpad.Websocket{ID: 7, URL: dialpad.SecretURL(s.url + "?token=tok-0123456789abcdef")}, nil
}

// A connection that drops is connected again at once: the drop is
// counted, logged, recorded as a time without a connection (closed when
// connected again) and reported as a time
// events may have been lost, and the messages of both connections are
// taken; a refused message is logged without its body.
func TestAListenerReconnectsAfterADrop(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		n := conns.Add(1)
		ctx := c.CloseRead(r.Context())
		c.Write(ctx, websocket.MessageText, []byte("forged"))
		c.Write(ctx, websocket.MessageText, []byte("event-of-connection-"+string(rune('0'+n))))
		if n == 1 {
			c.Close(websocket.StatusInternalError, "gone")
			return
		}
		<-ctx.Done()
	}))
	t.Cleanup(srv.Close)
	acc := &fakeAcceptor{}
	var logs syncBuffer
	reg := prometheus.NewRegistry()
	gaps := &fakeGaps{}
	l := &events.Listener{Sockets: fixedSockets{url: "ws" + strings.TrimPrefix(srv.URL, "http")}, ID: 7, Receiver: acc,
		Log: slog.New(slog.NewTextHandler(&logs, nil)), Metrics: events.NewSocketMetrics(reg), Gaps: gaps,
		Backoff: func(int) time.Duration { return time.Millisecond }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	testkit.Eventually(t, 10*time.Second, "both connections' events taken", func() bool {
		bodies, _ := acc.got()
		return len(bodies) == 2
	})
	if got := metric(t, reg, "dialpad_etl_events_websocket_connected"); got != 1 {
		t.Errorf("connected = %v while connected; want 1", got)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	bodies, lost := acc.got()
	slices.Sort(bodies) // each message is stored in its own goroutine
	if strings.Join(bodies, ",") != "event-of-connection-1,event-of-connection-2" || lost != 1 {
		t.Errorf("took %v, told of %d losses; want both events and one loss", bodies, lost)
	}
	if got := metric(t, reg, "dialpad_etl_events_websocket_drops_total"); got != 1 {
		t.Errorf("%v drops counted; want 1", got)
	}
	if got := strings.Join(gaps.calls, ","); got != "close,open,close" {
		t.Errorf("gaps recorded: %s; want close (at the first connection), open (the drop), close (connected again)", got)
	}
	if got := metric(t, reg, "dialpad_etl_events_websocket_connected"); got != 0 {
		t.Errorf("connected = %v after Run; want 0", got)
	}
	out := logs.String()
	for _, want := range []string{"dropped", "without_connection", "reason=not_jwt"} {
		if !strings.Contains(out, want) {
			t.Errorf("the logs do not say %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "forged") || strings.Contains(out, "tok-0123456789abcdef") {
		t.Errorf("the logs repeat a message or the token:\n%s", out)
	}
	if !errors.Is(forgedRefusal([]byte("forged")), events.ErrRefused) {
		t.Errorf("a forged body is not refused")
	}
}

// A connection that stops answering (a firewall dropped it without a
// word) is found by its unanswered ping and counts as a drop: connected
// again, and reported as a time events may have been lost.
func TestASilentConnectionIsDroppedByItsPing(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		conns.Add(1)
		<-r.Context().Done() // never reads: pings go unanswered
	}))
	t.Cleanup(srv.Close)
	acc := &fakeAcceptor{}
	reg := prometheus.NewRegistry()
	l := &events.Listener{Sockets: fixedSockets{url: "ws" + strings.TrimPrefix(srv.URL, "http")}, ID: 7, Receiver: acc,
		Metrics: events.NewSocketMetrics(reg), PingEvery: 20 * time.Millisecond, PingTimeout: 50 * time.Millisecond,
		Backoff: func(int) time.Duration { return time.Millisecond }}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	testkit.Eventually(t, 10*time.Second, "a second connection after the silent one", func() bool { return conns.Load() >= 2 })
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if _, lost := acc.got(); lost == 0 {
		t.Error("no loss reported for the silent connection")
	}
	if got := metric(t, reg, "dialpad_etl_events_websocket_drops_total"); got < 1 {
		t.Errorf("%v drops counted; want the silent connection's", got)
	}
}
