// Package db is the warehouse's connection to ClickHouse: one server, or
// a cluster's shards and replicas (cluster.go). It opens the database,
// explains a connection that fails, sends batches with retries, applies
// statements of the schema's shape on a cluster, and runs work on the
// replica of a target's shard. What the tables mean is the business of
// the packages above it (warehouse, derive, lease, events, reconcile,
// mailer); it imports only dialpad (a target's id places its rows) and
// schema.
package db

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"regexp"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/schema"
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
	Logger       *slog.Logger
}

// DB is a connection to the warehouse's database: to one server, or to
// a node of a cluster and, as they are needed, to the replicas of its
// shards. It is safe for concurrent use. Its statements (those of the
// embedded driver.Conn) run where it is connected; OnShard and EachShard
// give a DB whose statements name a shard's own tables.
type DB struct {
	driver.Conn
	opt Options
	cl  *cluster // nil on one server
}

var validName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Open connects to the warehouse and creates its database when missing.
// It does not apply the schema: call Migrate.
func Open(ctx context.Context, opt Options) (*DB, error) {
	opt = opt.withDefaults()
	if !validName.MatchString(opt.Database) {
		return nil, fmt.Errorf("database name %q: use letters, digits and underscores (CLICKHOUSE_DATABASE)", opt.Database)
	}
	if opt.Cluster != "" && !validCluster.MatchString(opt.Cluster) {
		return nil, fmt.Errorf("cluster name %q: use letters, digits, '_', '-' and '.' (CLICKHOUSE_CLUSTER)", opt.Cluster)
	}
	conn, err := connect(ctx, opt, opt.Addr, opt.Database)
	if IsException(err, codeUnknownDatabase) {
		err = createDatabase(ctx, opt)
		if err == nil {
			conn, err = connect(ctx, opt, opt.Addr, opt.Database)
		}
	}
	if err != nil {
		return nil, explain(err, opt)
	}
	d := &DB{Conn: conn, opt: opt}
	if opt.Cluster != "" {
		d.cl, err = loadCluster(ctx, conn, opt.Cluster, func(addr string) (driver.Conn, error) {
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
	return d, nil
}

var validCluster = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// New is a DB on a connection the caller opened to opt.Database, for
// example one that also sends every statement elsewhere. Close closes conn.
func New(conn driver.Conn, opt Options) *DB {
	return &DB{Conn: conn, opt: opt.withDefaults()}
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
func (d *DB) Close() error {
	if d.cl != nil {
		d.cl.close()
	}
	return d.Conn.Close()
}

// Location is the reporting time zone of every day column.
func (d *DB) Location() *time.Location { return d.opt.Location }

// Log is the logger of the warehouse's work.
func (d *DB) Log() *slog.Logger { return d.opt.Logger }

// Database is the database's name.
func (d *DB) Database() string { return d.opt.Database }

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

// ClickHouse error codes the warehouse explains or tolerates.
const (
	CodeDuplicateColumn    = 44
	codeUnknownDatabase    = 81
	codeUnknownUser        = 192
	codeWrongPassword      = 193
	codeRequiredPassword   = 194
	codeAuthFailed         = 516
	codeDatabaseAccessDeny = 291

	codeReadAfterEOF             = 32
	codeSocketTimeout            = 209
	codeNetwork                  = 210
	codeAllConnectionTriesFailed = 279
)

// IsException reports whether err is an exception of ClickHouse with one
// of codes.
func IsException(err error, codes ...int32) bool {
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

// Transient reports whether err is a failure of the network to a
// server or between servers, which the same statement may not meet again:
// a replica that died mid-query ("Attempt to read after eof"), a timeout,
// a dropped connection.
func Transient(err error) bool {
	var netErr net.Error
	return IsException(err, codeReadAfterEOF, codeSocketTimeout, codeNetwork, codeAllConnectionTriesFailed) ||
		errors.Is(err, io.EOF) || errors.As(err, &netErr)
}

// explain turns a connection error into one that names the address and the
// fix. It never includes the password.
func explain(err error, opt Options) error {
	var netErr net.Error
	var opErr *net.OpError
	switch {
	case IsException(err, codeUnknownUser, codeWrongPassword, codeRequiredPassword, codeAuthFailed):
		return fmt.Errorf("ClickHouse at %s refused user %q: check CLICKHOUSE_USERNAME and CLICKHOUSE_PASSWORD: %w", opt.Addr, opt.Username, err)
	case IsException(err, codeUnknownDatabase, codeDatabaseAccessDeny):
		return fmt.Errorf("ClickHouse at %s: database %q is missing and could not be created, or user %q may not use it (CLICKHOUSE_DATABASE): %w", opt.Addr, opt.Database, opt.Username, err)
	case errors.As(err, &opErr), errors.As(err, &netErr), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("cannot reach ClickHouse at %s: is the server running and CLICKHOUSE_ADDR its native (TCP, usually 9000) port? %w", opt.Addr, err)
	}
	return fmt.Errorf("ClickHouse at %s: %w", opt.Addr, err)
}

// BatchSize is the most rows sent in one INSERT.
func (d *DB) BatchSize() int { return d.opt.BatchSize }

// Migrations are the schema's migrations as they are applied here: on a
// cluster, rewritten for it (see ClusterMigrations).
func (d *DB) Migrations() ([]schema.Migration, error) {
	all, err := schema.Migrations()
	if err != nil || d.cl == nil {
		return all, err
	}
	return ClusterMigrations(d.opt.Database, d.cl.name, all)
}
