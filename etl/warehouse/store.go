// Package warehouse is the load's side of ClickHouse: it applies the
// schema's migrations, writes legs in batches (keeping what only events
// told), quarantines the items that could not be read, and keeps the
// high-water marks, the windows loaded, the operators and the record of
// runs. It opens the connection (package db) and hands the parts built on
// it to those who need them: the derived tables (package derive) and the
// leases (package lease).
//
// Every statement here runs on ClickHouse 18.16 and on current releases.
// Loads are idempotent: tables are ReplacingMergeTree keyed on what never
// changes for a leg, day or conversation, and are read with FINAL.
//
// It may import dialpad and wire, transform, schema and the warehouse's
// packages db, derive and lease.
package warehouse

import (
	"context"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Options say where the warehouse is (see db.Options).
type Options = db.Options

// An Option sets how the warehouse derives its tables.
type Option func(*Store)

// WithKPI judges the KPIs by t (default derive.DefaultThresholds).
func WithKPI(t derive.Thresholds) Option {
	return func(s *Store) { s.kpi = t }
}

// WithStaffing staffs the intervals by p (default derive.DefaultStaffing).
func WithStaffing(p derive.Staffing) Option {
	return func(s *Store) { s.staffing = p }
}

// WithClock is the clock of the derived tables (default time.Now): what
// a rebuild counts the agents' current statuses until, and where the
// staffing's past ends.
func WithClock(now func() time.Time) Option {
	return func(s *Store) { s.now = now }
}

// Store is the warehouse. It is safe for concurrent use.
type Store struct {
	db      *db.DB
	leases  *lease.Leases
	derived *derive.Deriver

	kpi      derive.Thresholds
	staffing derive.Staffing
	now      func() time.Time
}

// Open connects to the warehouse and creates its database when missing.
// It does not apply the schema: call Migrate.
func Open(ctx context.Context, opt Options, opts ...Option) (*Store, error) {
	d, err := db.Open(ctx, opt)
	if err != nil {
		return nil, err
	}
	return newStore(d, opts), nil
}

// New is a store on a connection the caller opened to opt.Database, for
// example one that also sends every statement elsewhere. Close closes conn.
func New(conn driver.Conn, opt Options, opts ...Option) *Store {
	return newStore(db.New(conn, opt), opts)
}

func newStore(d *db.DB, opts []Option) *Store {
	s := &Store{db: d, leases: lease.New(d), kpi: derive.DefaultThresholds, staffing: derive.DefaultStaffing}
	for _, o := range opts {
		o(s)
	}
	s.derived = derive.New(d, s.kpi, s.staffing)
	if s.now != nil {
		s.derived = s.derived.WithClock(s.now)
	}
	return s
}

// Close closes the connection (and those to a cluster's replicas).
func (s *Store) Close() error { return s.db.Close() }

// DB is the connection, for the storage of the packages above and for
// queries of the caller's own.
func (s *Store) DB() *db.DB { return s.db }

// Leases are the leases that keep two processes from the same work.
func (s *Store) Leases() *lease.Leases { return s.leases }

// Derived computes the tables derived from the legs.
func (s *Store) Derived() *derive.Deriver { return s.derived }
