package events

import (
	"context"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// The parts of the warehouse the receiver writes to, declared by what it
// needs of them; all must be safe for concurrent use. An error from a
// write of a group of events means the group may or may not have landed:
// the requests waiting for it are answered 503, Dialpad delivers them
// again, and every write takes a repeat without a second row. An error of
// the hourly drops is logged, and they run again an hour later.

// Store keeps the events themselves (*Storage).
type Store interface {
	WriteCallEvents(ctx context.Context, evs []ReceivedCall) error
	WriteLiveCalls(ctx context.Context, rows []LiveCall) error
	// WriteTargetsSeen records when the targets' call events last
	// arrived (target_events); of a target the latest Received counts.
	WriteTargetsSeen(ctx context.Context, rows []TargetSeen) error
	WriteAgentStatus(ctx context.Context, evs []ReceivedAgent) error
	// WriteFeedback keeps what Dialpad told of legs after they ended
	// (call_feedback); of a leg, target and kind the latest At wins.
	WriteFeedback(ctx context.Context, rows []Feedback) error
	// Operators are the user operators of every target, by user id, as
	// the loads last listed them.
	Operators(ctx context.Context) (map[int64][]Operator, error)
	// DropLiveDays and DropEventMonths drop what is older than before.
	DropLiveDays(ctx context.Context, before time.Time) error
	DropEventMonths(ctx context.Context, before time.Time) error
}

// Legs is where the legs of final events go, as the call list's do
// (*warehouse.Store).
type Legs interface {
	// KeepListCopies turns the legs that the list has given already
	// back into the list's copies (see warehouse.Store).
	KeepListCopies(ctx context.Context, legs []transform.Leg, names transform.Names) error
	WriteLegsEach(ctx context.Context, legs []transform.Leg, changed func(i int)) error
}

// Deriver computes the derived rows of the days final events touched,
// and the agents' time per interval (*derive.Deriver).
type Deriver interface {
	Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error
	// RecountAgents counts the time of the agents in from (agent id ->
	// epoch ms) again, each from its ms until now.
	RecountAgents(ctx context.Context, from map[uint64]int64, now time.Time) error
	// RecountCurrent counts the time of every agent's current status
	// again from since (or its start) until now.
	RecountCurrent(ctx context.Context, since, now time.Time) error
}

// Leases keep the receiver's recompute of a target apart from a load of
// it.
type Leases interface {
	Acquire(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (got []string, held map[string]*lease.Held, err error)
	Release(ctx context.Context, owner lease.Owner, names ...string) error
}

// What the nightly load of dispositions (DispositionLoad) uses, beside
// Leases; all must be safe for concurrent use. An error fails the
// target for the night and the next night asks again, save Dialpad's
// refusal of the export (a 4xx), which stands until a restart.

// DispositionExports is Dialpad's dispositions export
// (*dialpad.Client).
type DispositionExports interface {
	ExportDispositions(ctx context.Context, req dialpad.ExportRequest) (*dialpad.DispositionsExport, error)
}

// FeedbackStore keeps feedback (*Storage); see Store.WriteFeedback.
type FeedbackStore interface {
	WriteFeedback(ctx context.Context, rows []Feedback) error
}

// Recomputer derives a target's days again from what is stored
// (*derive.Deriver); see Deriver.Recompute.
type Recomputer interface {
	Recompute(ctx context.Context, target dialpad.Target, days []time.Time) error
}
