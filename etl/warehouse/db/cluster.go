package db

import (
	"context"
	sqldriver "database/sql/driver"
	"errors"
	"fmt"
	"io"
	"net"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2"
	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

// On a cluster (Options.Cluster), every table of the schema is one of
// three kinds:
//
//   - sharded: on every node a Replicated* table named with "_local" (the
//     schema's engine, keys and versions, its ZooKeeper path from the
//     {shard} and {replica} macros), and under the schema's name a
//     Distributed table over them, which is what loads write and
//     dashboards read. Rows are placed by intHash64 of the target's id
//     (of the call's, or the agent's, for the tables of events without a
//     target), so a target's legs, days and conversations all lie on one
//     shard: FINAL, which deduplicates within a shard, sees every version
//     of a key, and the recompute of a target runs on its shard alone.
//   - global: the small tables of coordination (the migrations applied,
//     the leases, the settings, the reports sent), one Replicated table
//     with all nodes as its replicas, read where the job is connected.
//   - working: the staging tables of the recompute ("_stage"), a plain
//     table on every node, filled and emptied by one recompute on one
//     replica.
//
// Migrations are applied ON CLUSTER, rewritten from the schema's files by
// clusterSchema; ALTERs that ClickHouse 18.16 refuses ON CLUSTER for a
// table that is not replicated (a Distributed or working table) become a
// new table of the new shape, which holds no data of its own.

// globalTables are the tables replicated to every node.
var globalTables = map[string]bool{
	"schema_migrations": true, "etl_leases": true, "etl_settings": true, "report_sends": true, "events_gaps": true,
}

// shardKeys are the columns that place the rows of the sharded tables
// that have no target.
var shardKeys = map[string]string{"call_events": "call_id", "agent_status": "agent_id", "agent_intervals": "agent_id", "agent_time_daily": "agent_id"}

const localSuffix = "_local"

// intHash64 is ClickHouse's SQL function intHash64 (its integer hash,
// of the argument xor a constant), the sharding function: the shard of a
// row is intHash64(key) modulo the shards' total weight.
func intHash64(x uint64) uint64 {
	x ^= 0x4cf2d2baae6da887
	x ^= x >> 33
	x *= 0xff51afd7ed558ccd
	x ^= x >> 33
	x *= 0xc4ceb9fe1a85ec53
	x ^= x >> 33
	return x
}

// clusterSchema rewrites the schema's statements for a cluster. It is fed
// every migration in order, applied or not, since a statement's rewrite
// depends on the tables the earlier ones made.
type clusterSchema struct {
	db, cluster string
	engine      map[string]string // a table's ENGINE clause, as the schema wrote it
	key         map[string]string // a sharded table's sharding column
	stageOf     map[string]string // a working table made AS another: that one
	dirty       []string          // tables to make again at the end of the migration
}

func newClusterSchema(db, cluster string) *clusterSchema {
	return &clusterSchema{db: db, cluster: cluster, engine: map[string]string{},
		key: map[string]string{}, stageOf: map[string]string{}}
}

var (
	reCreate   = regexp.MustCompile(`(?is)^CREATE TABLE (IF NOT EXISTS )?(\w+)\s*(\(.*\))\s*ENGINE\s*=\s*(\w+)(\(([^)]*)\))?(.*)$`)
	reCreateAs = regexp.MustCompile(`(?is)^CREATE TABLE (IF NOT EXISTS )?(\w+)\s+AS\s+(\w+)$`)
	reDrop     = regexp.MustCompile(`(?is)^DROP TABLE (IF EXISTS )?(\w+)$`)
	reRename   = regexp.MustCompile(`(?is)^RENAME TABLE (.+)$`)
	rePair     = regexp.MustCompile(`(?is)^\s*(\w+)\s+TO\s+(\w+)\s*$`)
	reAlter    = regexp.MustCompile(`(?is)^ALTER TABLE (\w+)\s+(.+)$`)
)

func (c *clusterSchema) kind(table string) string {
	switch {
	case globalTables[table]:
		return "global"
	case strings.HasSuffix(table, "_stage"):
		return "working"
	}
	return "sharded"
}

func (c *clusterSchema) on() string { return " ON CLUSTER `" + c.cluster + "`" }

func (c *clusterSchema) name(table string) string { return c.db + "." + table }

// migration rewrites one migration's statements.
func (c *clusterSchema) migration(stmts []string) ([]string, error) {
	var out []string
	for _, stmt := range stmts {
		got, err := c.statement(strings.TrimSpace(stripComments(stmt)))
		if err != nil {
			return nil, err
		}
		out = append(out, got...)
	}
	for _, t := range c.dirty {
		out = append(out, c.remake(t)...)
	}
	c.dirty = nil
	return out, nil
}

// stripComments drops the lines that are only a comment.
func stripComments(stmt string) string {
	var keep []string
	for _, line := range strings.Split(stmt, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(line), "--") {
			keep = append(keep, line)
		}
	}
	return strings.Join(keep, "\n")
}

func (c *clusterSchema) statement(stmt string) ([]string, error) {
	if m := reCreate.FindStringSubmatch(stmt); m != nil {
		return c.create(m[2], m[3], m[4], m[6], m[7])
	}
	if m := reCreateAs.FindStringSubmatch(stmt); m != nil {
		table, base := m[2], m[3]
		if c.kind(table) != "working" || c.engine[base] == "" {
			return nil, fmt.Errorf("cluster mode: %q: only a staging table may be made AS another", stmt)
		}
		c.stageOf[table] = base
		return []string{c.createStage(table)}, nil
	}
	if m := reDrop.FindStringSubmatch(stmt); m != nil {
		table := m[2]
		c.undirty(table)
		out := []string{"DROP TABLE IF EXISTS " + c.name(table) + c.on()}
		if c.kind(table) == "sharded" {
			out = append(out, "DROP TABLE IF EXISTS "+c.name(table+localSuffix)+c.on())
		}
		return out, nil
	}
	if m := reRename.FindStringSubmatch(stmt); m != nil {
		var locals, dists []string
		for _, pair := range strings.Split(m[1], ",") {
			p := rePair.FindStringSubmatch(pair)
			if p == nil || c.kind(p[1]) != c.kind(p[2]) {
				return nil, fmt.Errorf("cluster mode: %q: cannot rename %q", stmt, pair)
			}
			from, to := p[1], p[2]
			c.engine[to], c.key[to] = c.engine[from], c.key[from]
			if c.kind(from) != "sharded" {
				locals = append(locals, c.name(from)+" TO "+c.name(to))
				continue
			}
			locals = append(locals, c.name(from+localSuffix)+" TO "+c.name(to+localSuffix))
			dists = append(dists, "DROP TABLE IF EXISTS "+c.name(from)+c.on())
			c.undirty(from)
			c.markDirty(to)
		}
		return append(dists, "RENAME TABLE "+strings.Join(locals, ", ")+c.on()), nil
	}
	if m := reAlter.FindStringSubmatch(stmt); m != nil {
		table, rest := m[1], m[2]
		switch c.kind(table) {
		case "global":
			return []string{"ALTER TABLE " + c.name(table) + c.on() + " " + rest}, nil
		case "working":
			if c.stageOf[table] == "" {
				return nil, fmt.Errorf("cluster mode: %q: a working table not made AS another cannot be altered", stmt)
			}
			// Made again AS its table, which has been altered the same way.
			c.markDirty(table)
			return nil, nil
		}
		c.markDirty(table)
		return []string{"ALTER TABLE " + c.name(table+localSuffix) + c.on() + " " + rest}, nil
	}
	return nil, fmt.Errorf("cluster mode cannot apply the statement %q", stmt)
}

func (c *clusterSchema) create(table, columns, engine, args, rest string) ([]string, error) {
	if !strings.HasSuffix(engine, "MergeTree") {
		return nil, fmt.Errorf("cluster mode: table %s: engine %s is not of the MergeTree family", table, engine)
	}
	clause := "ENGINE = " + engine
	if args != "" {
		clause += "(" + args + ")"
	}
	clause += rest
	c.engine[table] = clause
	replicated := func(path, replica string) string {
		a := "'" + path + "', '" + replica + "'"
		if args != "" {
			a += ", " + args
		}
		return "ENGINE = Replicated" + engine + "(" + a + ")" + rest
	}
	switch c.kind(table) {
	case "working":
		return []string{"CREATE TABLE IF NOT EXISTS " + c.name(table) + c.on() + " " + columns + " " + clause}, nil
	case "global":
		return []string{"CREATE TABLE IF NOT EXISTS " + c.name(table) + c.on() + " " + columns + " " +
			replicated("/clickhouse/tables/all/"+c.db+"/"+table, "{shard}-{replica}")}, nil
	}
	key := shardKeys[table]
	if key == "" {
		key = "target_id"
	}
	if !regexp.MustCompile(`\b` + key + `\s+UInt64\b`).MatchString(columns) {
		return nil, fmt.Errorf("cluster mode: table %s has no UInt64 column %s to shard by", table, key)
	}
	c.key[table] = key
	local := table + localSuffix
	return []string{
		"CREATE TABLE IF NOT EXISTS " + c.name(local) + c.on() + " " + columns + " " +
			replicated("/clickhouse/tables/{shard}/"+c.db+"/"+local, "{replica}"),
		c.distributed(table),
	}, nil
}

func (c *clusterSchema) distributed(table string) string {
	return "CREATE TABLE IF NOT EXISTS " + c.name(table) + c.on() + " AS " + c.name(table+localSuffix) +
		" ENGINE = Distributed('" + c.cluster + "', " + c.db + ", " + table + localSuffix + ", intHash64(" + c.key[table] + "))"
}

func (c *clusterSchema) createStage(table string) string {
	base := c.stageOf[table]
	return "CREATE TABLE IF NOT EXISTS " + c.name(table) + c.on() + " AS " + c.name(base+localSuffix) + " " + c.engine[base]
}

// remake makes a Distributed or working table again in the shape of the
// table it stands for.
func (c *clusterSchema) remake(table string) []string {
	drop := "DROP TABLE IF EXISTS " + c.name(table) + c.on()
	if c.kind(table) == "working" {
		return []string{drop, c.createStage(table)}
	}
	return []string{drop, c.distributed(table)}
}

func (c *clusterSchema) markDirty(table string) {
	if !slices.Contains(c.dirty, table) {
		c.dirty = append(c.dirty, table)
	}
}

func (c *clusterSchema) undirty(table string) {
	c.dirty = slices.DeleteFunc(c.dirty, func(t string) bool { return t == table })
}

// ClusterMigrations are migs with their statements rewritten for cluster.
func ClusterMigrations(db, cluster string, migs []schema.Migration) ([]schema.Migration, error) {
	cs := newClusterSchema(db, cluster)
	out := make([]schema.Migration, len(migs))
	for i, m := range migs {
		stmts, err := cs.migration(m.Statements)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
		m.Statements = stmts
		out[i] = m
	}
	return out, nil
}

// DDL applies stmt, a CREATE TABLE of a table the store makes itself
// (outside the schema's files), unless the table exists. On a cluster it
// is created ON CLUSTER, as the schema's tables are.
func (d *DB) DDL(ctx context.Context, table, stmt string) error {
	if d.cl == nil {
		return d.Conn.Exec(ctx, stmt)
	}
	var exists uint8
	if err := d.Conn.QueryRow(ctx, "EXISTS TABLE "+table).Scan(&exists); err != nil {
		return err
	}
	if exists == 1 {
		return nil
	}
	stmts, err := newClusterSchema(d.opt.Database, d.cl.name).migration([]string{stmt})
	if err != nil {
		return err
	}
	for _, st := range stmts {
		if err := d.Conn.Exec(ctx, st); err != nil {
			return err
		}
	}
	return nil
}

// replicaSync bounds how long a replica may take to fetch what its peers
// wrote before it computes from it.
const replicaSync = 2 * time.Minute

// SyncGlobal waits until the node the store is connected to has every
// row of table (a global one) that another node took before: a process
// on another node may have written it. Nothing on one server.
func (d *DB) SyncGlobal(ctx context.Context, table string) error {
	if d.cl == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, replicaSync)
	defer cancel()
	if err := d.Conn.Exec(ctx, "SYSTEM SYNC REPLICA "+table); err != nil {
		return fmt.Errorf("wait for this node's copy of %s: %w", table, err)
	}
	return nil
}

// cluster is the topology of Options.Cluster and the connections to its
// replicas.
type cluster struct {
	name   string
	shards [][]string // the replicas' native addresses, per shard
	slots  []int      // shard index of each unit of weight, in order
	open   func(addr string) (driver.Conn, error)

	mu    sync.Mutex
	conns map[string]driver.Conn
}

// loadCluster reads the topology of name from the node conn is on.
func loadCluster(ctx context.Context, conn driver.Conn, name string, open func(string) (driver.Conn, error)) (*cluster, error) {
	rows, err := conn.Query(ctx, `SELECT shard_num, shard_weight, host_name, port FROM system.clusters
		WHERE cluster = ? ORDER BY shard_num, replica_num`, name)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	c := &cluster{name: name, open: open, conns: map[string]driver.Conn{}}
	last := uint32(0)
	for rows.Next() {
		var shard, weight uint32
		var host string
		var port uint16
		if err := rows.Scan(&shard, &weight, &host, &port); err != nil {
			return nil, err
		}
		if shard != last {
			c.shards = append(c.shards, nil)
			for range weight {
				c.slots = append(c.slots, len(c.shards)-1)
			}
			last = shard
		}
		i := len(c.shards) - 1
		c.shards[i] = append(c.shards[i], net.JoinHostPort(host, fmt.Sprint(port)))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if len(c.shards) == 0 {
		return nil, fmt.Errorf("the server has no cluster %q in its remote_servers (CLICKHOUSE_CLUSTER)", name)
	}
	if len(c.slots) == 0 {
		return nil, fmt.Errorf("cluster %q: every shard has weight 0", name)
	}
	return c, nil
}

// checkProductMode refuses a cluster whose profile (of the job's user)
// leaves distributed_product_mode at "deny": the dashboards' and reports'
// subqueries of Distributed tables would be refused, and "local" would
// give other answers than one server where a subquery's rows lie on
// other shards. (ClickHouse 18.16 takes no string setting from a client,
// so the job cannot set it itself.)
func checkProductMode(ctx context.Context, conn driver.Conn) error {
	var mode string
	if err := conn.QueryRow(ctx, "SELECT value FROM system.settings WHERE name = 'distributed_product_mode'").Scan(&mode); err != nil {
		return err
	}
	if mode != "global" {
		return fmt.Errorf("distributed_product_mode is %q in this user's profile: set it to 'global' in the profiles of the job's and Grafana's users (docs/cluster.md)", mode)
	}
	return nil
}

// shardOf is the index of the shard that key's rows are on.
func (c *cluster) shardOf(key uint64) int { return c.slots[intHash64(key)%uint64(len(c.slots))] }

func (c *cluster) conn(addr string) (driver.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if conn, ok := c.conns[addr]; ok {
		return conn, nil
	}
	conn, err := c.open(addr)
	if err != nil {
		return nil, err
	}
	c.conns[addr] = conn
	return conn, nil
}

func (c *cluster) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

// OnShard runs fn with a store on one replica of target's shard, whose
// statements name the shard's own tables (see localConn): what it reads
// and replaces is that shard's part of the warehouse, and what a working
// table holds stays on that replica. Before fn, the replica fetches what
// its peers took. When the replica cannot be reached, or fails part-way
// for that reason, fn runs again on the next; fn must be able to run
// again. On one server it is fn(s).
func (d *DB) OnShard(ctx context.Context, target dialpad.Target, fn func(*DB) error) error {
	if d.cl == nil {
		return fn(d)
	}
	return d.onReplicaOf(ctx, d.cl.shardOf(uint64(target.ID)), true, fn)
}

// EachShard runs fn on every shard as OnShard does, without waiting for
// the replica to fetch its peers' parts.
func (d *DB) EachShard(ctx context.Context, fn func(*DB) error) error {
	if d.cl == nil {
		return fn(d)
	}
	for i := range d.cl.shards {
		if err := d.onReplicaOf(ctx, i, false, fn); err != nil {
			return err
		}
	}
	return nil
}

// syncedTables are the sharded tables a recompute reads.
var syncedTables = []string{"calls", "call_feedback", "agent_daily", "calls_daily", "conversations", "target_daily", "targets"}

func (d *DB) onReplicaOf(ctx context.Context, shard int, sync bool, fn func(*DB) error) error {
	names, err := shardedNames()
	if err != nil {
		return fmt.Errorf("cluster mode: %w", err)
	}
	var errs []error
	for _, addr := range d.cl.shards[shard] {
		conn, err := d.cl.conn(addr)
		if err == nil {
			sh := &DB{Conn: localConn{conn, names}, opt: d.opt}
			sh.opt.Addr = addr
			if sync {
				err = sh.syncReplicas(ctx)
			}
			if err == nil {
				err = fn(sh)
			}
		}
		if err == nil || ctx.Err() != nil || !unreachable(err) {
			return err
		}
		d.opt.Logger.Warn("a replica could not be reached: trying the next of its shard", "replica", addr, "shard", shard+1, "err", err)
		errs = append(errs, fmt.Errorf("%s: %w", addr, err))
	}
	return fmt.Errorf("no replica of shard %d of cluster %s could be reached: %w", shard+1, d.cl.name, errors.Join(errs...))
}

// syncReplicas waits until this replica has fetched every part of the
// tables a recompute reads that its peers took: a load writes to
// whichever replica of the shard answered.
func (d *DB) syncReplicas(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, replicaSync)
	defer cancel()
	for _, t := range syncedTables {
		if err := d.Conn.Exec(ctx, "SYSTEM SYNC REPLICA "+t); err != nil {
			if ctx.Err() != nil { // a replica that answers but has not caught up: not one to skip
				return fmt.Errorf("%s has not fetched its peers' parts of %s within %s (a replica that holds them may be down): %v",
					d.opt.Addr, t, replicaSync, err)
			}
			return fmt.Errorf("wait for %s's copy of %s: %w", d.opt.Addr, t, err)
		}
	}
	return nil
}

// unreachable tells whether err is of a connection that failed rather
// than of a statement the server refused.
func unreachable(err error) bool {
	var ex *clickhouse.Exception
	if errors.As(err, &ex) {
		return ex.Code == codeNetwork || ex.Code == codeAllConnectionTriesFailed || ex.Code == codeSocketTimeout
	}
	var netErr net.Error
	return errors.As(err, &netErr) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, sqldriver.ErrBadConn) || errors.Is(err, clickhouse.ErrAcquireConnTimeout)
}

// localConn is a connection whose statements read and write the shard's
// own tables: a sharded table's name after FROM, INTO, TABLE, JOIN or
// REPLICA is its "_local" table's.
type localConn struct {
	driver.Conn
	names *regexp.Regexp
}

// shardedNames matches a sharded table's name after one of localConn's
// words: the schema's tables but the global and working ones.
var shardedNames = sync.OnceValues(func() (*regexp.Regexp, error) {
	migs, err := schema.Migrations()
	if err != nil {
		return nil, err
	}
	cs := newClusterSchema("db", "c")
	for _, m := range migs {
		if _, err := cs.migration(m.Statements); err != nil {
			return nil, fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	var names []string
	for t := range cs.key {
		names = append(names, t)
	}
	sort.Strings(names)
	return regexp.Compile(`(?i)\b(FROM|INTO|TABLE|JOIN|REPLICA)(\s+)(` + strings.Join(names, "|") + `)\b`)
})

func (c localConn) localize(q string) string {
	return c.names.ReplaceAllString(q, "${1}${2}${3}"+localSuffix)
}

func (c localConn) Select(ctx context.Context, dest any, query string, args ...any) error {
	return c.Conn.Select(ctx, dest, c.localize(query), args...)
}

func (c localConn) Query(ctx context.Context, query string, args ...any) (driver.Rows, error) {
	return c.Conn.Query(ctx, c.localize(query), args...)
}

func (c localConn) QueryRow(ctx context.Context, query string, args ...any) driver.Row {
	return c.Conn.QueryRow(ctx, c.localize(query), args...)
}

func (c localConn) PrepareBatch(ctx context.Context, query string, opts ...driver.PrepareBatchOption) (driver.Batch, error) {
	return c.Conn.PrepareBatch(ctx, c.localize(query), opts...)
}

func (c localConn) Exec(ctx context.Context, query string, args ...any) error {
	return c.Conn.Exec(ctx, c.localize(query), args...)
}

// Close leaves the replica's connection open: the cluster closes it.
func (c localConn) Close() error { return nil }

// TableName is table's name in the store's statements: its "_local"
// table's on a replica of a shard (for the names in system tables, which
// localConn does not rewrite).
func (d *DB) TableName(table string) string {
	if lc, ok := d.Conn.(localConn); ok && lc.names.MatchString("FROM "+table) {
		return table + localSuffix
	}
	return table
}
