package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Listener receives the events of a Dialpad websocket: it connects out
// to the websocket's URL (no public URL needed) and hands every message,
// an event exactly as a webhook's body, to the Receiver.
//
// A URL carries a temporary token and Dialpad closes a connection after
// an hour, so the Listener renews it: at RenewAt of the Lifetime it asks
// for a fresh URL, connects it and only then, a few seconds later,
// closes the old connection (an event sent on both is stored once).
// After a drop it connects again at once (with Backoff when connections
// keep dropping as they open), and after a failed attempt with Backoff;
// each drop is logged with how long the job was without a connection,
// and the Receiver is told that events may have been lost (Dialpad does
// not send again what a websocket missed). The URL is never logged, nor
// in an error.
type Listener struct {
	Sockets  Sockets  // fresh URLs: *dialpad.Client
	ID       wire.ID  // the websocket
	Receiver Acceptor // *Receiver
	// Lifetime is how long Dialpad keeps a connection (default an hour);
	// a server's close sooner than that, after at least MinLifetime,
	// teaches the Listener the shorter one.
	Lifetime time.Duration
	// RenewAt is the share of Lifetime after which a connection is
	// renewed (default 0.85).
	RenewAt float64
	// Backoff is the wait before the attempt-th retry of a connection or
	// a renewal (default DefaultBackoff).
	Backoff func(attempt int) time.Duration
	// Inflight bounds the messages being stored at once (default 1,000):
	// beyond it, reading waits.
	Inflight int
	// PingEvery is how often a connection is pinged (default 30 s), and
	// PingTimeout how long an answer may take (default 10 s) before the
	// connection counts as dropped.
	PingEvery, PingTimeout time.Duration
	// HTTPClient makes the handshakes (nil: http.DefaultClient).
	HTTPClient *http.Client
	Now        func() time.Time // the clock of Receiver.MayHaveLost and of Gaps (nil: time.Now)
	Metrics    *SocketMetrics   // nil: not measured
	// Gaps records the times without a connection (nil: not recorded), for
	// the ETL health dashboard: one that began with a drop is recorded
	// open, and closed when a connection is made again or the process
	// stops. The first connection also closes what an earlier process on
	// the host left open (it ended without a word).
	Gaps GapRecorder
	Log  *slog.Logger

	readers *sync.WaitGroup // Run's
}

// GapRecorder keeps the times without a websocket connection
// (*Storage).
type GapRecorder interface {
	// OpenGap records that the connection was lost at from.
	OpenGap(ctx context.Context, from time.Time) error
	// CloseGaps records that every gap left open ended at to.
	CloseGaps(ctx context.Context, to time.Time) error
}

// Sockets gives a websocket with a fresh URL (*dialpad.Client).
type Sockets interface {
	Websocket(ctx context.Context, id wire.ID) (dialpad.Websocket, error)
}

// Acceptor takes the events (*Receiver).
type Acceptor interface {
	Accept(ctx context.Context, body []byte) error
	MayHaveLost(since time.Time)
}

// MinLifetime is the shortest lifetime a Listener learns from a close.
const MinLifetime = 5 * time.Second

// DefaultBackoff waits 1 s before the first retry, doubling up to a
// minute.
func DefaultBackoff(attempt int) time.Duration {
	return min(time.Second<<min(attempt-1, 6), time.Minute)
}

// link is one connection and its reader.
type link struct {
	conn    *websocket.Conn
	secret  string    // the URL, to redact from errors
	opened  time.Time // real clock
	renewAt time.Time
	tries   int           // failed renewals
	done    chan struct{} // closed when the reader stops
	err     error         // why, once done is closed
}

func (l *Listener) defaults() {
	if l.Lifetime <= 0 {
		l.Lifetime = time.Hour
	}
	if l.RenewAt <= 0 || l.RenewAt >= 1 {
		l.RenewAt = 0.85
	}
	if l.Backoff == nil {
		l.Backoff = DefaultBackoff
	}
	if l.Inflight <= 0 {
		l.Inflight = 1000
	}
	if l.HTTPClient == nil {
		l.HTTPClient = http.DefaultClient
	}
	if l.PingEvery <= 0 {
		l.PingEvery = 30 * time.Second
	}
	if l.PingTimeout <= 0 {
		l.PingTimeout = 10 * time.Second
	}
	if l.Now == nil {
		l.Now = time.Now
	}
	if l.Log == nil {
		l.Log = slog.New(slog.DiscardHandler)
	}
}

// Run keeps a connection to the websocket until ctx ends, then closes
// it, waits for the messages received to be stored, and returns nil.
func (l *Listener) Run(ctx context.Context) error {
	l.defaults()
	// The readers end with ctx (the library closes a connection whose
	// read is cancelled), and start no handler after that.
	var readers, handlers sync.WaitGroup
	defer handlers.Wait()
	defer readers.Wait()
	l.readers = &readers
	slots := make(chan struct{}, l.Inflight)
	down, dropped := time.Now(), false // without a connection since; after a drop
	accounted := down
	account := func() {
		now := time.Now()
		l.Metrics.disconnected(now.Sub(accounted))
		accounted = now
	}
	var cur *link
	flaps := 0              // connections in a row that dropped within MinLifetime
	var early time.Duration // how long the last connection lived, if closed sooner than the lifetime
	for attempt := 0; ; {
		if cur == nil {
			if attempt > 0 && !sleep(ctx, l.Backoff(attempt)) {
				account()
				l.endGap(ctx, dropped)
				return nil
			}
			c, err := l.connect(ctx, slots, &handlers)
			account()
			if err != nil {
				if ctx.Err() != nil {
					l.endGap(ctx, dropped)
					return nil
				}
				attempt++
				l.Log.Warn("could not connect to Dialpad's websocket; trying again", "websocket", l.ID.String(),
					"attempt", attempt, "without_connection", time.Since(down).Round(time.Millisecond), "err", err)
				continue
			}
			attempt, cur = 0, c
			l.Metrics.connected(true)
			l.gap(func(g GapRecorder) error { return g.CloseGaps(ctx, l.Now()) })
			if dropped {
				l.Log.Warn("connected to Dialpad's websocket again; events sent meanwhile are lost until the next list "+
					"and duty-status reads", "websocket", l.ID.String(), "without_connection", time.Since(down).Round(time.Millisecond))
			} else {
				l.Log.Info("connected to Dialpad's websocket", "websocket", l.ID.String(), "lifetime", l.Lifetime)
			}
		}
		renew := time.NewTimer(time.Until(cur.renewAt))
		select {
		case <-ctx.Done():
			renew.Stop()
			cur.conn.Close(websocket.StatusNormalClosure, "the job is stopping")
			<-cur.done
			l.Metrics.connected(false)
			return nil
		case <-cur.done:
			renew.Stop()
			lived := time.Since(cur.opened)
			// Two closes in a row after about the same time, sooner than
			// the lifetime, teach it: one alone (a server restarting or
			// draining) is a drop.
			if st := websocket.CloseStatus(cur.err); (st == websocket.StatusNormalClosure || st == websocket.StatusGoingAway) &&
				lived < l.Lifetime && lived >= MinLifetime {
				if d := lived - early; early > 0 && d <= lived/10 && d >= -lived/10 {
					l.Log.Info("Dialpad closed the websocket connection sooner than its lifetime twice: renewing sooner from now on",
						"lifetime", l.Lifetime, "closed_after", lived.Round(time.Second))
					l.Lifetime, early = lived, 0
				} else {
					early = lived
				}
			} else {
				early = 0
			}
			down, dropped, accounted = time.Now(), true, time.Now()
			l.Receiver.MayHaveLost(l.Now())
			l.gap(func(g GapRecorder) error { return g.OpenGap(ctx, l.Now()) })
			l.Metrics.connected(false)
			l.Metrics.drop()
			l.Log.Warn("the websocket connection dropped; connecting again", "websocket", l.ID.String(),
				"after", lived.Round(time.Second), "err", cur.err)
			cur = nil
			// At once, unless connections keep dropping as soon as they
			// open: then with backoff, as after a failed attempt.
			if lived < MinLifetime {
				flaps++
			} else {
				flaps = 0
			}
			attempt = flaps
		case <-renew.C:
			next, err := l.connect(ctx, slots, &handlers)
			if err != nil {
				if ctx.Err() != nil {
					continue
				}
				cur.tries++
				cur.renewAt = time.Now().Add(l.Backoff(cur.tries))
				l.Log.Warn("could not renew the websocket connection; the current one stays open, trying again",
					"websocket", l.ID.String(), "attempt", cur.tries, "err", err)
				continue
			}
			// The new connection is reading: the old one goes after a
			// while, so that no event sent as the new one opened is
			// missed (one sent on both is stored once).
			old := cur
			cur = next
			// The old one may have dropped while the new one dialled: what
			// came meanwhile may be lost.
			select {
			case <-old.done:
				l.Receiver.MayHaveLost(l.Now())
				l.Metrics.drop()
				l.Log.Warn("the websocket connection dropped while it was being renewed", "websocket", l.ID.String(),
					"err", old.err)
			default:
			}
			overlap := l.overlap()
			l.readers.Go(func() {
				sleep(ctx, overlap)
				old.conn.Close(websocket.StatusNormalClosure, "renewed")
			})
			l.Metrics.renewed()
			l.Log.Debug("renewed the websocket connection", "websocket", l.ID.String(), "after", time.Since(old.opened).Round(time.Second))
		}
	}
}

// gap records a change of the times without a connection, logging a
// failure (the connection matters more than its record).
func (l *Listener) gap(record func(GapRecorder) error) {
	if l.Gaps == nil {
		return
	}
	if err := record(l.Gaps); err != nil {
		l.Log.Error("could not record the time without a websocket connection", "err", err)
	}
}

// endGap closes, as the process stops, the gap a drop opened: the time
// the job itself is stopped is not counted (docs/events.md).
func (l *Listener) endGap(ctx context.Context, dropped bool) {
	if !dropped {
		return
	}
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	l.gap(func(g GapRecorder) error { return g.CloseGaps(rctx, l.Now()) })
}

// overlap is how long an old connection stays open after the new one
// connected: half the time left of its lifetime, at most 10 s.
func (l *Listener) overlap() time.Duration {
	return min(10*time.Second, time.Duration(float64(l.Lifetime)*(1-l.RenewAt)/2))
}

// connect gets a fresh URL, connects it and starts reading it.
func (l *Listener) connect(ctx context.Context, slots chan struct{}, handlers *sync.WaitGroup) (*link, error) {
	ws, err := l.Sockets.Websocket(ctx, l.ID)
	if err != nil {
		return nil, fmt.Errorf("get a fresh URL of websocket %s: %w", l.ID, err)
	}
	u := ws.URL.Reveal()
	if u == "" {
		return nil, fmt.Errorf("websocket %s has no URL", l.ID)
	}
	dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: l.HTTPClient})
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("connect websocket %s: answered %d: %w", l.ID, resp.StatusCode, Redact(err, u))
		}
		return nil, fmt.Errorf("connect websocket %s: %w", l.ID, Redact(err, u))
	}
	conn.SetReadLimit(maxBody)
	now := time.Now()
	c := &link{conn: conn, secret: u, opened: now, done: make(chan struct{}),
		renewAt: now.Add(time.Duration(float64(l.Lifetime) * l.RenewAt))}
	l.readers.Go(func() { l.read(ctx, c, slots, handlers) })
	l.readers.Go(func() { l.keepAlive(ctx, c) })
	return c, nil
}

// keepAlive pings the connection every PingEvery until it ends, and
// closes it when a ping goes unanswered for PingTimeout: a connection a
// firewall or NAT dropped without a word would otherwise look open until
// its renewal, its events lost unnoticed. The close makes it a drop.
func (l *Listener) keepAlive(ctx context.Context, c *link) {
	t := time.NewTicker(l.PingEvery)
	defer t.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, cancel := context.WithTimeout(ctx, l.PingTimeout)
		err := c.conn.Ping(pctx)
		cancel()
		if err != nil && ctx.Err() == nil {
			select {
			case <-c.done: // closed meanwhile (renewed, or read's end)
			default:
				l.Log.Warn("the websocket connection did not answer a ping; closing it", "websocket", l.ID.String(),
					"err", Redact(err, c.secret))
				c.conn.CloseNow()
			}
			return
		}
	}
}

// read hands the connection's messages to the Receiver until it ends.
func (l *Listener) read(ctx context.Context, c *link, slots chan struct{}, handlers *sync.WaitGroup) {
	defer close(c.done)
	for {
		_, msg, err := c.conn.Read(ctx)
		if err != nil {
			c.err = Redact(err, c.secret)
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			c.err = ctx.Err()
			return
		}
		handlers.Go(func() {
			defer func() { <-slots }()
			l.handle(ctx, msg)
		})
	}
}

// handle stores one message, trying again if storing fails: nobody will
// send it again.
func (l *Listener) handle(ctx context.Context, msg []byte) {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	for try := 1; ; try++ {
		err := l.Receiver.Accept(sctx, msg)
		var ref *Refusal
		switch {
		case err == nil:
			return
		case errors.As(err, &ref):
			// Counted by the Receiver; never the body.
			l.Log.Warn("a websocket message was refused and stored nowhere", "reason", ref.Reason)
			return
		case try == 4 || sctx.Err() != nil:
			l.Log.Error("an event from the websocket could not be stored; the next list and duty-status reads repair it",
				"err", err)
			l.Receiver.MayHaveLost(l.Now())
			return
		}
		if !sleep(sctx, time.Second<<(try-1)) {
			return
		}
	}
}

// Redact returns err with the URL, its path and its query replaced by
// "[redacted]": the websocket library's errors may quote the URL, whose
// token lets anyone read the company's events.
func Redact(err error, rawURL string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	secrets := []string{rawURL}
	if u, perr := url.Parse(rawURL); perr == nil {
		secrets = append(secrets, u.String(), u.EscapedPath(), u.Path, u.RawQuery)
		for _, seg := range strings.Split(u.Path, "/") {
			if len(seg) >= 8 {
				secrets = append(secrets, seg)
			}
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				if len(v) >= 8 {
					secrets = append(secrets, v, url.QueryEscape(v))
				}
			}
		}
	}
	for _, s := range secrets {
		if len(s) > 1 {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	return redacted{msg: msg, status: websocket.CloseStatus(err)}
}

// redacted is an error whose text was redacted; it keeps the close
// status of a websocket's close.
type redacted struct {
	msg    string
	status websocket.StatusCode
}

func (e redacted) Error() string { return e.msg }

// As lets websocket.CloseStatus read the status.
func (e redacted) As(target any) bool {
	if ce, ok := target.(*websocket.CloseError); ok && e.status != -1 {
		*ce = websocket.CloseError{Code: e.status}
		return true
	}
	return false
}

// sleep waits d; false when ctx ended first.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
