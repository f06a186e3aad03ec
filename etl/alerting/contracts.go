package alerting

import (
	"context"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
)

// Store runs the rules' queries and keeps the alerts' state
// (*Storage, in the warehouse).
type Store interface {
	// Query runs an expanded rule query and returns its rows.
	Query(ctx context.Context, sql string) ([]Row, error)
	// States returns the alerts' states, by key.
	States(ctx context.Context) (map[string]State, error)
	// SaveState records key's state.
	SaveState(ctx context.Context, key string, s State) error
}

// Mail sends one plain-text mail to the alerts' recipients
// (*mailer.Mailer).
type Mail interface {
	Mail(ctx context.Context, subject, text string) error
}

// Leases keep two processes from mailing the same alerts (*lease.Leases).
type Leases interface {
	Acquire(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (got []string, held map[string]*lease.Held, err error)
	Release(ctx context.Context, owner lease.Owner, names ...string) error
}
