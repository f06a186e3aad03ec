// Package warehouse loads the call model into ClickHouse: it applies the
// schema, writes legs in batches, recomputes agent days and conversations
// from the deduplicated legs, and keeps the high-water marks and the
// record of runs.
//
// Every statement here runs on ClickHouse 18.16 and on current releases.
// Loads are idempotent: tables are ReplacingMergeTree keyed on what never
// changes for a leg, day or conversation, and are read with FINAL.
package warehouse

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
)

// Options say where the warehouse is.
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
	// warehouse is spread over; "" for one server. See cluster.go.
	Cluster string
	// InsertQuorum, on a cluster, is how many replicas of a shard must
	// have a write before it counts as done (insert_quorum); 0 or 1: the
	// one that took it.
	InsertQuorum int
	// KPI are the thresholds of the contact-center KPIs (nil: the
	// defaults, DefaultKPIThresholds).
	KPI    *KPIThresholds
	Logger *slog.Logger
}

// Store is a connection to the warehouse. It is safe for concurrent use.
type Store struct {
	conn   driver.Conn
	opt    Options
	kpi    KPIThresholds
	log    *slog.Logger
	months *sync.Map // target/month -> *sync.Mutex: see monthLock
	cl     *cluster  // nil on one server
}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects to the warehouse and creates its database when missing.
// It does not apply the schema: call Migrate.
func Open(ctx context.Context, opt Options) (*Store, error) {
	opt = opt.withDefaults()
	if !validName.MatchString(opt.Database) {
		return nil, fmt.Errorf("database name %q: use letters, digits and underscores (CLICKHOUSE_DATABASE)", opt.Database)
	}
	if opt.Cluster != "" && !validCluster.MatchString(opt.Cluster) {
		return nil, fmt.Errorf("cluster name %q: use letters, digits, '_', '-' and '.' (CLICKHOUSE_CLUSTER)", opt.Cluster)
	}
	conn, err := connect(ctx, opt, opt.Addr, opt.Database)
	if isException(err, codeUnknownDatabase) {
		err = createDatabase(ctx, opt)
		if err == nil {
			conn, err = connect(ctx, opt, opt.Addr, opt.Database)
		}
	}
	if err != nil {
		return nil, explain(err, opt)
	}
	s := newStore(conn, opt)
	if opt.Cluster != "" {
		s.cl, err = loadCluster(ctx, conn, opt.Cluster, func(addr string) (driver.Conn, error) {
			return connect(ctx, opt, addr, opt.Database)
		})
		if err == nil {
			err = checkProductMode(ctx, conn)
		}
		if err != nil {
			conn.Close()
			return nil, fmt.Errorf("ClickHouse at %s: %w", opt.Addr, err)
		}
	}
	return s, nil
}

var validCluster = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// New is a store on a connection the caller opened to opt.Database, for
// example one that also sends every statement elsewhere. Close closes conn.
func New(conn driver.Conn, opt Options) *Store {
	return newStore(conn, opt.withDefaults())
}

func newStore(conn driver.Conn, opt Options) *Store {
	kpi := DefaultKPIThresholds
	if opt.KPI != nil {
		kpi = *opt.KPI
	}
	return &Store{conn: conn, opt: opt, kpi: kpi, log: opt.Logger, months: &sync.Map{}}
}

func (opt Options) withDefaults() Options {
	if opt.Username == "" {
		opt.Username = "default"
	}
	if opt.Location == nil {
		opt.Location = time.UTC
	}
	if opt.BatchSize <= 0 {
		opt.BatchSize = 10000
	}
	if opt.SendAttempts <= 0 {
		opt.SendAttempts = 4
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	return opt
}

// Close closes the connection (and those to a cluster's replicas).
func (s *Store) Close() error {
	if s.cl != nil {
		s.cl.close()
	}
	return s.conn.Close()
}

// Conn is the underlying connection, for queries of the caller's own.
func (s *Store) Conn() driver.Conn { return s.conn }

// Location is the reporting time zone.
func (s *Store) Location() *time.Location { return s.opt.Location }

// connect opens a connection to database at addr (a list, see
// Options.Addr). On a cluster, an insert into a Distributed table returns
// once each shard's replica has the rows (insert_distributed_sync), and a
// query of one reads this node's shard through the network like the
// others (prefer_localhost_replica 0): ClickHouse 18.16 fails a query
// with FINAL and ORDER BY of a Distributed table that it reads locally
// ("Cannot find column ... in source stream").
func connect(ctx context.Context, opt Options, addr, database string) (driver.Conn, error) {
	var settings clickhouse.Settings
	if opt.Cluster != "" {
		settings = clickhouse.Settings{"insert_distributed_sync": 1, "prefer_localhost_replica": 0}
		if opt.InsertQuorum > 1 {
			settings["insert_quorum"] = opt.InsertQuorum
		}
	}
	conn, err := clickhouse.Open(&clickhouse.Options{
		Addr:             strings.Split(addr, ","),
		Settings:         settings,
		Auth:             clickhouse.Auth{Database: database, Username: opt.Username, Password: opt.Password},
		DialTimeout:      10 * time.Second,
		MaxOpenConns:     16,
		MaxIdleConns:     8,
		ConnMaxLifetime:  time.Hour,
		ConnOpenStrategy: clickhouse.ConnOpenInOrder,
		// A batch of thousands of legs grows a connection's buffer to megabytes;
		// keeping one per pooled connection would make memory grow with the
		// number of connections a long load has used.
		FreeBufOnConnRelease: true,
	})
	if err != nil {
		return nil, err
	}
	if err := conn.Ping(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

func createDatabase(ctx context.Context, opt Options) error {
	conn, err := connect(ctx, opt, opt.Addr, "")
	if err != nil {
		return err
	}
	defer conn.Close()
	stmt := "CREATE DATABASE IF NOT EXISTS " + opt.Database
	if opt.Cluster != "" {
		stmt += " ON CLUSTER `" + opt.Cluster + "`"
	}
	if err := conn.Exec(ctx, stmt); err != nil {
		return fmt.Errorf("create database %s: %w", opt.Database, err)
	}
	return nil
}

// ClickHouse error codes the store explains or tolerates.
const (
	codeUnknownTable       = 60
	codeDuplicateColumn    = 44
	codeUnknownDatabase    = 81
	codeUnknownUser        = 192
	codeWrongPassword      = 193
	codeRequiredPassword   = 194
	codeAuthFailed         = 516
	codeDatabaseAccessDeny = 291

	codeSocketTimeout            = 209
	codeNetwork                  = 210
	codeAllConnectionTriesFailed = 279
)

func isException(err error, codes ...int32) bool {
	var ex *clickhouse.Exception
	if !errors.As(err, &ex) {
		return false
	}
	for _, c := range codes {
		if ex.Code == c {
			return true
		}
	}
	return false
}

// explain turns a connection error into one that names the address and the
// fix. It never includes the password.
func explain(err error, opt Options) error {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case isException(err, codeUnknownUser, codeWrongPassword, codeRequiredPassword, codeAuthFailed):
		return fmt.Errorf("ClickHouse at %s refused user %q: check CLICKHOUSE_USERNAME and CLICKHOUSE_PASSWORD: %w", opt.Addr, opt.Username, err)
	case isException(err, codeUnknownDatabase, codeDatabaseAccessDeny):
		return fmt.Errorf("ClickHouse at %s: database %q is missing and could not be created, or user %q may not use it (CLICKHOUSE_DATABASE): %w", opt.Addr, opt.Database, opt.Username, err)
	case errors.As(err, &opErr), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach ClickHouse at %s: is the server running and CLICKHOUSE_ADDR its native (TCP, usually 9000) port? %w", opt.Addr, err)
	}
	return fmt.Errorf("ClickHouse at %s: %w", opt.Addr, err)
}
