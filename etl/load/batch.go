package load

import (
	"context"
	"errors"
	"sync"

	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// batcher gathers the legs of every slice of a load into shared inserts
// of up to size legs, written one at a time by its own goroutine. However
// many slices run at once, ClickHouse gets few large parts (small ones
// cost it several times the insert in merges), and the legs held in
// memory stay under two batches: one filling while one is written. It is
// safe for concurrent use.
type batcher struct {
	store Sink
	size  int

	mu     sync.Mutex
	taken  sync.Cond // queued was written
	cur    *batch    // filling
	queued *batch    // full: being written, or waiting for the writer
	closed bool
	wake   chan struct{} // to the writer: a batch is queued
	done   chan struct{} // the writer ended
}

// batch is one insert and the slices whose legs are in it.
type batch struct {
	legs   []transform.Leg
	owners []ownerRun
	sent   chan struct{} // closed once written, or failed
	err    error
}

// ownerRun says that legs[from:to] of a batch are of one writer.
type ownerRun struct {
	w        *sliceWriter
	from, to int
}

// sliceWriter is one slice's part in the batches.
type sliceWriter struct {
	b       *batcher
	batches []*batch // those holding its legs, oldest first
	changed int      // of its legs, how many were new or changed (once synced)
}

func newBatcher(ctx context.Context, store Sink, size int) *batcher {
	b := &batcher{store: store, size: size, cur: emptyBatch(size),
		wake: make(chan struct{}, 1), done: make(chan struct{})}
	b.taken.L = &b.mu
	go b.write(ctx)
	return b
}

// write sends the queued batches until the batcher is closed. A batch
// stays queued while it is written, so that the slices fill at most one
// more meanwhile.
func (b *batcher) write(ctx context.Context) {
	defer close(b.done)
	for {
		b.mu.Lock()
		for b.queued == nil && !b.closed {
			b.mu.Unlock()
			<-b.wake
			b.mu.Lock()
		}
		bt := b.queued
		b.mu.Unlock()
		if bt == nil {
			return // closed
		}
		counts := map[*sliceWriter]int{}
		owner := 0
		bt.err = b.store.WriteLegsEach(ctx, bt.legs, func(i int) {
			for bt.owners[owner].to <= i {
				owner++
			}
			counts[bt.owners[owner].w]++
		})
		b.mu.Lock()
		for w, n := range counts {
			w.changed += n
		}
		bt.legs = nil // let the legs go: writers keep their batches until they sync
		b.queued = nil
		b.taken.Broadcast()
		b.mu.Unlock()
		close(bt.sent)
	}
}

// queue hands the filling batch to the writer; full reports whether it
// must, and is asked again after every wait for the batch being written,
// since another goroutine may have queued it meanwhile. b.mu is held.
func (b *batcher) queue(full func() bool) {
	for full() {
		if b.queued == nil {
			b.queued, b.cur = b.cur, emptyBatch(b.size)
			select {
			case b.wake <- struct{}{}:
			default:
			}
			return
		}
		b.taken.Wait()
	}
}

// close ends the writer once the queued batch is written. Every writer
// must have synced first.
func (b *batcher) close() {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	select {
	case b.wake <- struct{}{}:
	default:
	}
	<-b.done
}

func (b *batcher) writer() *sliceWriter { return &sliceWriter{b: b} }

// emptyBatch is an empty batch of room for size legs.
func emptyBatch(size int) *batch {
	return &batch{legs: make([]transform.Leg, 0, size), sent: make(chan struct{})}
}

// add puts legs into the filling batch, first queueing it when they would
// not fit.
func (w *sliceWriter) add(legs []transform.Leg) {
	if len(legs) == 0 {
		return
	}
	b := w.b
	b.mu.Lock()
	defer b.mu.Unlock()
	b.queue(func() bool { return len(b.cur.legs) > 0 && len(b.cur.legs)+len(legs) > b.size })
	cur := b.cur
	from := len(cur.legs)
	cur.legs = append(cur.legs, legs...)
	cur.owners = append(cur.owners, ownerRun{w: w, from: from, to: len(cur.legs)})
	if n := len(w.batches); n == 0 || w.batches[n-1] != cur {
		w.batches = append(w.batches, cur)
	}
}

// sync writes what w added and still fills a batch, and waits until
// every batch with w's legs was written; it returns their errors, or the
// context's if ctx ends first.
func (w *sliceWriter) sync(ctx context.Context) error {
	b := w.b
	b.mu.Lock()
	b.queue(func() bool { n := len(w.batches); return n > 0 && w.batches[n-1] == b.cur })
	b.mu.Unlock()
	var errs []error
	for _, bt := range w.batches {
		select {
		case <-bt.sent:
			errs = append(errs, bt.err)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return errors.Join(errs...)
}

// changedLegs is how many of w's legs were new or changed; call it after
// sync.
func (w *sliceWriter) changedLegs() int {
	w.b.mu.Lock()
	defer w.b.mu.Unlock()
	return w.changed
}
