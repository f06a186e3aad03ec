package db

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Version orders the copies of one key: the newest load wins.
func Version(t time.Time) uint64 { return uint64(t.UnixNano()) }

// Send builds a batch with fill and sends it, rebuilding and retrying a
// failed send with a short backoff.
func (d *DB) Send(ctx context.Context, table, insert string, fill func(driver.Batch) error) error {
	var err error
	for attempt := 1; attempt <= d.opt.SendAttempts; attempt++ {
		if attempt > 1 {
			wait := time.Duration(attempt-1) * 500 * time.Millisecond
			d.opt.Logger.Warn("retrying insert", "table", table, "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("write %s to ClickHouse at %s: %w (after: %v)", table, d.opt.Addr, ctx.Err(), err)
			case <-time.After(wait):
			}
		}
		err = d.sendOnce(ctx, insert, fill)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %s to ClickHouse at %s: %w", table, d.opt.Addr, err)
	}
	return nil
}

// Retry runs read, statements that change nothing, and runs it again
// while it fails with a Transient error, with Send's backoff and number
// of attempts: on a cluster, a read through a Distributed table fails
// when a replica it was reading from dies, and the next read goes to a
// live one.
func (d *DB) Retry(ctx context.Context, what string, read func() error) error {
	var err error
	for attempt := 1; attempt <= d.opt.SendAttempts; attempt++ {
		if attempt > 1 {
			d.opt.Logger.Warn("retrying a read", "what", what, "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s: %w (after: %v)", what, ctx.Err(), err)
			case <-time.After(time.Duration(attempt-1) * 500 * time.Millisecond):
			}
		}
		if err = read(); err == nil || !Transient(err) || ctx.Err() != nil {
			break
		}
	}
	return err
}

// InsertRow writes one row through a batch: an INSERT ... VALUES with
// bound values is never answered by ClickHouse 18.16 over the native
// protocol.
func (d *DB) InsertRow(ctx context.Context, table, insert string, values ...any) error {
	return d.Send(ctx, table, insert, func(b driver.Batch) error { return b.Append(values...) })
}

func (d *DB) sendOnce(ctx context.Context, insert string, fill func(driver.Batch) error) error {
	b, err := d.Conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	if err := fill(b); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}

// mutationWait bounds the wait for a deletion in calls: the mark does not
// move meanwhile, and a deletion left unfinished is waited for again by
// the next load.
const mutationWait = 5 * time.Minute

// WaitMutations waits, at most mutationWait, until the mutations of table
// created since (by the server's clock) are done.
func (d *DB) WaitMutations(ctx context.Context, table string, since time.Time) error {
	deadline := time.Now().Add(mutationWait)
	for {
		var n uint64
		if err := d.Conn.QueryRow(ctx, `SELECT count() FROM system.mutations
			WHERE database = currentDatabase() AND table = ? AND is_done = 0 AND create_time >= ?`, table, since).Scan(&n); err != nil {
			return fmt.Errorf("wait for the deletion in %s: %w", table, err)
		}
		if n == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the deletion in %s is not done after %s (see system.mutations); the next load waits for it again",
				table, mutationWait)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
