package load

import (
	"context"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// The parts of the warehouse a load uses, each declared here by what the
// load needs of it. *warehouse.Store is the Store, its Derived() the
// Deriver and its Leases() the Leases; the tests of the load's logic use
// fakes. All must be safe for concurrent use: the slices of a load call
// them at once.

// Sink is where a load writes what it read. An error of WriteLegsEach,
// WriteRejected or DropUnlisted means what was being written may or may
// not have landed: the window is not marked loaded and the high-water
// mark does not move, so the next load reads it again (every write is
// idempotent). An error of WriteAgents is logged and the load goes on:
// the operators are read again by the next load.
type Sink interface {
	// WriteLegsEach writes legs and calls changed with the index of each
	// one that was new or changed.
	WriteLegsEach(ctx context.Context, legs []transform.Leg, changed func(i int)) error
	// WriteRejected records the items that could not be read.
	WriteRejected(ctx context.Context, items []warehouse.Rejected) error
	// WriteAgents records a target's operators as seen now.
	WriteAgents(ctx context.Context, target dialpad.Target, agents []warehouse.Agent) error
	// DropUnlisted deletes the target's legs started in w that only
	// events gave and that a list read begun at began did not list; it
	// returns the days of those legs.
	DropUnlisted(ctx context.Context, target dialpad.Target, w dialpad.Window, began time.Time) ([]time.Time, error)
}

// Marks are how far each target was loaded, and the record of runs.
type Marks interface {
	// HighWater is the target's incremental mark; ok is false before
	// its first load.
	HighWater(ctx context.Context, target dialpad.Target) (mark time.Time, ok bool, err error)
	// AdvanceHighWater records mark; the highest ever written wins.
	AdvanceHighWater(ctx context.Context, target dialpad.Target, mark time.Time) error
	// MarkWindowLoaded records that w was loaded, from the call list or
	// an export, once all its calls had ended; LoadedWindows returns
	// those recorded within w.
	MarkWindowLoaded(ctx context.Context, target dialpad.Target, w dialpad.Window, legs int, from transform.Source) error
	LoadedWindows(ctx context.Context, target dialpad.Target, w dialpad.Window) (map[dialpad.Window]bool, error)
	// RecordRun writes a run's row of etl_runs.
	RecordRun(ctx context.Context, r warehouse.Run) error
}

// Store is the warehouse a load writes to.
type Store interface {
	Sink
	Marks
}

// Deriver computes the tables derived from the legs.
type Deriver interface {
	// Recompute computes the target's derived rows of days again from
	// their legs; call it once those legs are written.
	Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error
	// CheckZone fails when the warehouse's days were counted in another
	// reporting zone: a load would mix two zones' days.
	CheckZone(ctx context.Context) error
}

// Leases keep two processes from loading one target at once (see
// package lease for what each method promises).
type Leases interface {
	Acquire(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (got []string, held map[string]*lease.Held, err error)
	KeepLeases(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (context.Context, func())
	Release(ctx context.Context, owner lease.Owner, names ...string) error
}
