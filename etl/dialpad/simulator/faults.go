package simulator

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// bucket is a token bucket over all requests, on the wall clock (the
// simulator's own clock may stand still).
type bucket struct {
	mu          sync.Mutex
	rate, burst float64
	tokens      float64
	last        time.Time
	now         func() time.Time
}

func newBucket(rate float64, burst int, now func() time.Time) *bucket {
	return &bucket{rate: rate, burst: float64(burst), tokens: float64(burst), last: now(), now: now}
}

// take spends a token; when none is left it reports how long until one is.
func (b *bucket) take() (ok bool, wait time.Duration) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t := b.now()
	b.tokens = min(b.burst, b.tokens+t.Sub(b.last).Seconds()*b.rate)
	b.last = t
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / b.rate * float64(time.Second))
}

// retryAfter is the Retry-After value for wait: whole seconds, at least 1.
func retryAfter(wait time.Duration) string {
	return fmt.Sprint(max(1, int64(math.Ceil(wait.Seconds()))))
}

// A request's fault decisions are Draws from the request's sequence
// number and the seed.
const (
	drawDrop = iota
	drawError
	drawSlow
	drawJitter
	drawMalformed
	drawMalformedAt
	drawMalformedKind
	drawTruncate
	drawTruncateAt
)

func (s *Sim) newDraws() traffic.Draws {
	return traffic.Draws(traffic.Mix64(s.tr.Salt() ^ 0xFA17 ^ s.reqSeq.Add(1)*0x9E3779B97F4A7C15))
}

// delay is the latency a request gets: Latency, jitter, and SlowDelay for
// the SlowRate share.
func (f *Faults) delay(d traffic.Draws) time.Duration {
	t := f.Latency
	if f.Jitter > 0 {
		t += time.Duration(d.U(drawJitter) * float64(f.Jitter))
	}
	if d.U(drawSlow) < f.SlowRate {
		t += f.SlowDelay
	}
	return t
}

// sleep waits d; false when the client went away first.
func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// dropConnection closes the connection without a response.
func dropConnection(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil { // HTTP/2 or a recorder: abort the response instead
		panic(http.ErrAbortHandler)
	}
	conn.Close()
}

// writeTruncated announces body's full length, sends its first cut bytes
// and closes the connection.
func writeTruncated(w http.ResponseWriter, body []byte, cut int) {
	conn, rw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", fmt.Sprint(len(body)))
		w.WriteHeader(http.StatusOK)
		w.Write(body[:cut])
		http.NewResponseController(w).Flush()
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", len(body))
	rw.Write(body[:cut])
	rw.Flush()
}

// nsBogus is the id namespace of malformed items (see MakeID).
const nsBogus = 1<<26 - 3

// malformedItems are items no real leg looks like; a tolerant client
// must reject or skip them, not load them. Each served is unlike every
// other (a bogus id of its own), so a client that stores each bad item
// once stores each of them: two empty pages of a frozen clock would
// otherwise serve the first kind twice, byte for byte.
var malformedItems = []string{
	`{"call_id":"not-a-number","date_started":"%d","direction":"inbound","state":"hangup","contact":{"id":"%d"}}`,
	`{"call_id":"%d","date_started":"%d","direction":42,"state":"hangup"}`,
	`{"call_id":"%d","date_started":"yesterday","direction":"inbound","target":"nobody"}`,
}

func (s *Sim) appendMalformed(b []byte, d traffic.Draws, started int64) []byte {
	k := int(d.U(drawMalformedKind) * float64(len(malformedItems)))
	bogus := traffic.MakeID(s.tr.Salt(), nsBogus, int64(s.stats.malformed.Add(1)))
	switch k {
	case 0:
		return fmt.Appendf(b, malformedItems[0], started, bogus)
	case 1:
		return fmt.Appendf(b, malformedItems[1], bogus, started)
	}
	return fmt.Appendf(b, malformedItems[2], bogus)
}
