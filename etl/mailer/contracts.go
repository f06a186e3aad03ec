package mailer

import (
	"context"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
)

// Sends are the record of reports sent (*sends.Storage), which makes a period's
// report go once whichever process comes first.
type Sends interface {
	// ReportSent reports whether the kind's report of the period
	// starting on from was sent.
	ReportSent(ctx context.Context, kind string, from time.Time) (bool, error)
	// RecordReportSend records an attempt, sent or failed.
	RecordReportSend(ctx context.Context, r sends.ReportSend) error
}

// Leases keep two processes from sending one report at once.
type Leases interface {
	Acquire(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (got []string, held map[string]*lease.Held, err error)
	KeepLeases(ctx context.Context, owner lease.Owner, ttl time.Duration, names ...string) (context.Context, func())
	Release(ctx context.Context, owner lease.Owner, names ...string) error
}
