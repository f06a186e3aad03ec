package dialpad

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"golang.org/x/time/rate"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// maxRequests is what a limiter of rate r and burst 1 can allow in elapsed,
// with slack for scheduling. The waits the cancel tests interrupt are a
// minute or more, so their 5 s bound is generous.
func maxRequests(r float64, elapsed time.Duration) int {
	return 1 + int(r*elapsed.Seconds()) + 3
}

// hammer runs n goroutines listing one-page windows with c until d has
// passed, and returns the elapsed time.
func hammer(t *testing.T, clients []*Client, n int, d time.Duration) time.Duration {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	for i := range n {
		c := clients[i%len(clients)]
		wg.Go(func() {
			for ctx.Err() == nil {
				err := c.ListCalls(ctx, dept, dayWindow, func(*wire.Page) error { return nil })
				if err != nil && !errors.Is(err, context.DeadlineExceeded) {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	return time.Since(start)
}

func TestLimiterHoldsRateUnderConcurrency(t *testing.T) {
	f := newFake(t, 5)
	srv := f.start()
	c := f.client(srv, WithRateLimit(50))
	elapsed := hammer(t, []*Client{c}, 8, time.Second)
	got, limit := f.requests(), maxRequests(50, elapsed)
	if got > limit {
		t.Errorf("%d requests in %v at 50/s, want at most %d", got, elapsed, limit)
	}
	if got < 10 {
		t.Errorf("only %d requests in %v at 50/s", got, elapsed)
	}
}

// Retries wait for the limiter too: a server failing every request does not
// get more than the rate, however short the backoff.
func TestLimiterPacesRetries(t *testing.T) {
	f := newFake(t, 5)
	srv := f.start()
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool { writeJSON(w, 503, ``); return true })
	c := f.client(srv, WithRateLimit(50), WithBackoff(0, 0), WithMaxAttempts(1000))
	elapsed := hammer(t, []*Client{c}, 2, 700*time.Millisecond)
	if got, limit := f.requests(), maxRequests(50, elapsed); got > limit {
		t.Errorf("%d attempts in %v at 50/s, want at most %d", got, elapsed, limit)
	}
}

// Two clients with one shared limiter stay within it together.
func TestSharedLimiter(t *testing.T) {
	f := newFake(t, 5)
	srv := f.start()
	l := rate.NewLimiter(40, 1)
	a := f.client(srv, WithLimiter(l))
	b := f.client(srv, WithLimiter(l))
	elapsed := hammer(t, []*Client{a, b}, 6, 800*time.Millisecond)
	if got, limit := f.requests(), maxRequests(40, elapsed); got > limit {
		t.Errorf("%d requests in %v from two clients sharing 40/s, want at most %d", got, elapsed, limit)
	}
}

// cancelDuring runs fn, cancels its context once ready is closed, and
// reports how long fn took to return after the cancel, and its error.
func cancelDuring(t *testing.T, ready <-chan struct{}, fn func(ctx context.Context) error) (time.Duration, error) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- fn(ctx) }()
	select {
	case <-ready:
	case <-time.After(10 * time.Second):
		t.Fatal("the request never started")
	}
	time.Sleep(50 * time.Millisecond) // let it settle into its wait
	cancel()
	cancelled := time.Now()
	select {
	case err := <-done:
		return time.Since(cancelled), err
	case <-time.After(10 * time.Second):
		t.Fatal("still waiting 10s after the cancel")
		return 0, nil
	}
}

func TestCancelStopsLimiterWait(t *testing.T) {
	f := newFake(t, 5)
	srv := f.start()
	c := f.client(srv, WithRateLimit(0.01)) // the next token comes in 100 s
	if err := c.ListCalls(t.Context(), dept, dayWindow, func(*wire.Page) error { return nil }); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	close(ready)
	took, err := cancelDuring(t, ready, func(ctx context.Context) error {
		return c.ListCalls(ctx, dept, dayWindow, func(*wire.Page) error { return nil })
	})
	if !errors.Is(err, context.Canceled) || took > 5*time.Second {
		t.Errorf("got %v %v after the cancel, want context.Canceled at once", err, took)
	}
	if f.requests() != 1 {
		t.Errorf("%d requests, want 1: the second waits for the limiter", f.requests())
	}
}

func TestCancelStopsBackoff(t *testing.T) {
	f := newFake(t, 5)
	srv := f.start()
	ready := make(chan struct{})
	var once sync.Once
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		w.Header().Set("Retry-After", "60")
		writeJSON(w, 429, ``)
		once.Do(func() { close(ready) })
		return true
	})
	c := f.client(srv)
	took, err := cancelDuring(t, ready, func(ctx context.Context) error {
		return c.ListCalls(ctx, dept, dayWindow, func(*wire.Page) error { return nil })
	})
	if !errors.Is(err, context.Canceled) || took > 5*time.Second {
		t.Errorf("got %v %v after the cancel, want context.Canceled at once", err, took)
	}
	if f.requests() != 1 {
		t.Errorf("%d requests, want 1", f.requests())
	}
}

func TestCancelStopsRequestInFlight(t *testing.T) {
	f := newFake(t, 5)
	srv := f.start()
	ready := make(chan struct{})
	f.setFault(func(n int, w http.ResponseWriter, r *http.Request) bool {
		close(ready)
		<-r.Context().Done()
		return true
	})
	c := f.client(srv, WithTimeout(time.Minute))
	took, err := cancelDuring(t, ready, func(ctx context.Context) error {
		return c.ListCalls(ctx, dept, dayWindow, func(*wire.Page) error { return nil })
	})
	if !errors.Is(err, context.Canceled) || took > 5*time.Second {
		t.Errorf("got %v %v after the cancel, want context.Canceled at once", err, took)
	}
	if f.requests() != 1 {
		t.Errorf("%d requests, want 1", f.requests())
	}
}
