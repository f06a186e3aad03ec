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
// It may import dialpad, transform, schema and the warehouse's packages
// db, derive and lease.
package warehouse

import (
	"context"
	"log/slog"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Options say where the warehouse is and how its days and KPIs are
// counted.
type Options struct {
	// Addr is host:port of the native protocol, e.g. 127.0.0.1:9000, or
	// several, separated by commas: the nodes of a cluster, tried in
	// order.
	Addr     string
	Database string // created when missing
	Username string // default "default"
	Password string
	// Location is the reporting time zone of every day column.
	Location *time.Location
	// BatchSize is the most legs sent in one INSERT (default 10,000).
	BatchSize int
	// SendAttempts bounds the tries of one batch (default 4).
	SendAttempts int
	// Cluster names the cluster (of the servers' remote_servers) the
	// warehouse is spread over; "" for one server. See package db.
	Cluster string
	// InsertQuorum, on a cluster, is how many replicas of a shard must
	// have a write before it counts as done (insert_quorum); 0 or 1: the
	// one that took it.
	InsertQuorum int
	// KPI are the thresholds of the contact-center KPIs (nil: the
	// defaults, derive.DefaultThresholds).
	KPI    *derive.Thresholds
	Logger *slog.Logger
}

func (o Options) db() db.Options {
	return db.Options{Addr: o.Addr, Database: o.Database, Username: o.Username, Password: o.Password,
		Location: o.Location, BatchSize: o.BatchSize, SendAttempts: o.SendAttempts, Cluster: o.Cluster,
		InsertQuorum: o.InsertQuorum, Logger: o.Logger}
}

// Store is the warehouse. It is safe for concurrent use.
type Store struct {
	db      *db.DB
	leases  *lease.Leases
	derived *derive.Deriver
}

// Open connects to the warehouse and creates its database when missing.
// It does not apply the schema: call Migrate.
func Open(ctx context.Context, opt Options) (*Store, error) {
	d, err := db.Open(ctx, opt.db())
	if err != nil {
		return nil, err
	}
	return newStore(d, opt), nil
}

// New is a store on a connection the caller opened to opt.Database, for
// example one that also sends every statement elsewhere. Close closes conn.
func New(conn driver.Conn, opt Options) *Store {
	return newStore(db.New(conn, opt.db()), opt)
}

func newStore(d *db.DB, opt Options) *Store {
	kpi := derive.DefaultThresholds
	if opt.KPI != nil {
		kpi = *opt.KPI
	}
	return &Store{db: d, leases: lease.New(d), derived: derive.New(d, kpi)}
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
