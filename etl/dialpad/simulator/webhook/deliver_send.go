package webhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// post sends one job until it is answered 2xx, answered anything but a
// 5xx, or the retries are spent.
func post(ctx context.Context, d *Delivery, j sendJob, t tally) {
	for attempt := 0; ; attempt++ {
		start := time.Now()
		code, err := postOnce(ctx, d.Client, j)
		switch {
		case err == nil && code >= 200 && code < 300:
			t.inc(cDelivered)
			t.latency(time.Since(start))
			return
		case ctx.Err() != nil:
			return // abandoned: neither delivered nor failed
		case err == nil:
			err = fmt.Errorf("answered %d %s", code, http.StatusText(code))
		}
		t.lastError(err)
		if code != 0 && code < 500 || attempt == len(d.Backoff) {
			t.inc(cFailed)
			return
		}
		t.inc(cRetried)
		if !sleep(ctx, d.Backoff[attempt]) {
			return
		}
	}
}

// postOnce makes one attempt. Its error never names the URL, which may
// carry a credential.
func postOnce(ctx context.Context, c *http.Client, j sendJob) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, j.url, bytes.NewReader(j.body))
	if err != nil {
		return 0, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", j.contentType)
	req.Header.Set("User-Agent", "dialpad-etl-simulator")
	resp, err := c.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return 0, fmt.Errorf("POST: %w", err)
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Counters of DeliveryStats.
const (
	cEvents = iota
	cSent
	cDelivered
	cDuplicated
	cReordered
	cRetried
	cFailed
	nCounters
)

const latencySamples = 4096

// deliveryCounters are the live counts of one delivery, or of all.
type deliveryCounters struct {
	n       [nCounters]atomic.Int64
	mu      sync.Mutex
	lat     []time.Duration // a ring of the latest latencySamples
	latNext int
	lastErr string
}

func (c *deliveryCounters) stats() DeliveryStats {
	st := DeliveryStats{Events: c.n[cEvents].Load(), Sent: c.n[cSent].Load(), Delivered: c.n[cDelivered].Load(),
		Duplicated: c.n[cDuplicated].Load(), Reordered: c.n[cReordered].Load(), Retried: c.n[cRetried].Load(),
		Failed: c.n[cFailed].Load()}
	c.mu.Lock()
	lat := slices.Clone(c.lat)
	st.LastError = c.lastErr
	c.mu.Unlock()
	if len(lat) > 0 {
		slices.Sort(lat)
		st.LatencyP50 = lat[len(lat)/2]
		st.LatencyP99 = lat[min(len(lat)-1, len(lat)*99/100)]
	}
	return st
}

// tally updates a delivery's counters and the hub's together.
type tally struct{ own, all *deliveryCounters }

func (t tally) inc(k int) {
	t.own.n[k].Add(1)
	t.all.n[k].Add(1)
}

func (t tally) latency(d time.Duration) {
	for _, c := range [2]*deliveryCounters{t.own, t.all} {
		c.mu.Lock()
		if len(c.lat) < latencySamples {
			c.lat = append(c.lat, d)
		} else {
			c.lat[c.latNext] = d
			c.latNext = (c.latNext + 1) % latencySamples
		}
		c.mu.Unlock()
	}
}

func (t tally) lastError(err error) {
	for _, c := range [2]*deliveryCounters{t.own, t.all} {
		c.mu.Lock()
		c.lastErr = err.Error()
		c.mu.Unlock()
	}
}

// sleep waits d; false when ctx ended first.
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
