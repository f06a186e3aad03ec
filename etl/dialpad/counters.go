package dialpad

import (
	"context"
	"sync/atomic"
)

// Counters counts the client's traffic. The zero value is ready to use and
// it is safe for concurrent use. Every Client keeps one (see Client.Stats);
// attach another to a context with WithCounters to attribute the traffic of
// one run, target or window to it.
type Counters struct {
	requests    atomic.Int64
	retries     atomic.Int64
	rateLimited atomic.Int64
	pages       atomic.Int64
	items       atomic.Int64
	rejected    atomic.Int64
	bytes       atomic.Int64
}

// Stats is a snapshot of Counters.
type Stats struct {
	Requests    int64 // HTTP requests sent, every attempt counted
	Retries     int64 // attempts that were retried
	RateLimited int64 // responses with status 429
	Pages       int64 // call list pages decoded and handed to the caller
	Items       int64 // call legs on those pages, rejected ones included
	Rejected    int64 // legs that failed to decode or broke an invariant
	Bytes       int64 // response body bytes read, error responses included
}

// Snapshot reads the counters. Each field is read atomically; the set is
// not one atomic cut while requests are in flight.
func (c *Counters) Snapshot() Stats {
	return Stats{
		Requests:    c.requests.Load(),
		Retries:     c.retries.Load(),
		RateLimited: c.rateLimited.Load(),
		Pages:       c.pages.Load(),
		Items:       c.items.Load(),
		Rejected:    c.rejected.Load(),
		Bytes:       c.bytes.Load(),
	}
}

type countersKey struct{}

// WithCounters returns a context whose requests are also counted in c,
// besides the client's own counters. A nil c returns ctx unchanged.
func WithCounters(ctx context.Context, c *Counters) context.Context {
	if c == nil {
		return ctx
	}
	return context.WithValue(ctx, countersKey{}, c)
}

// tally adds to the client's counters and to those attached to ctx.
type tally struct{ client, call *Counters }

func (c *Client) tally(ctx context.Context) tally {
	t := tally{client: &c.stats}
	t.call, _ = ctx.Value(countersKey{}).(*Counters)
	return t
}

func (t tally) add(field func(*Counters) *atomic.Int64, n int64) {
	field(t.client).Add(n)
	if t.call != nil {
		field(t.call).Add(n)
	}
}

func cRequests(c *Counters) *atomic.Int64    { return &c.requests }
func cRetries(c *Counters) *atomic.Int64     { return &c.retries }
func cRateLimited(c *Counters) *atomic.Int64 { return &c.rateLimited }
func cPages(c *Counters) *atomic.Int64       { return &c.pages }
func cItems(c *Counters) *atomic.Int64       { return &c.items }
func cRejected(c *Counters) *atomic.Int64    { return &c.rejected }
func cBytes(c *Counters) *atomic.Int64       { return &c.bytes }
