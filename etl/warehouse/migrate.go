package warehouse

import (
	"context"
	"fmt"
	"io/fs"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/schema"
)

// Migration is one numbered file of the schema.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations reads the embedded schema, in order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(schema.Files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("schema file %s: name must start with a number and '_'", name)
		}
		body, err := fs.ReadFile(schema.Files, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: uint32(v), Name: name, Statements: splitStatements(string(body))})
	}
	return out, nil
}

// splitStatements splits SQL at semicolons that end a line and drops
// comment-only pieces.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		stmt := strings.TrimSpace(cur.String())
		cur.Reset()
		for _, line := range strings.Split(stmt, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				out = append(out, stmt)
				return
			}
		}
	}
	for _, line := range strings.SplitAfter(sql, "\n") {
		if t := strings.TrimRight(line, " \t\r\n"); strings.HasSuffix(t, ";") {
			cur.WriteString(strings.TrimSuffix(t, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}

// schemaLease is the lease of whoever applies migrations; lockTTL is how
// long it lasts unrenewed, after its holder died, say.
const (
	schemaLease = "schema"
	lockTTL     = time.Minute
)

// Migrate applies the migrations not yet recorded in schema_migrations, in
// order, each once. Processes that start together take turns through the
// schema lease, which its holder renews while it works and releases at the
// end; a lease left by a process that died expires after lockTTL. It
// returns the names of the files it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	return s.migrateUpTo(ctx, math.MaxUint32)
}

// migrateUpTo is Migrate of the migrations up to version last.
func (s *Store) migrateUpTo(ctx context.Context, last uint32) ([]string, error) {
	all, err := Migrations()
	if err != nil {
		return nil, err
	}
	if s.cl != nil {
		if all, err = clusterMigrations(s.opt.Database, s.cl.name, all); err != nil {
			return nil, fmt.Errorf("migrate: %w", err)
		}
	}
	var migs []Migration
	for _, m := range all {
		if m.Version <= last {
			migs = append(migs, m)
		}
	}
	if err := s.ddl(ctx, "schema_migrations", `CREATE TABLE IF NOT EXISTS schema_migrations
		(version UInt32, name String, applied_at DateTime('UTC'))
		ENGINE = MergeTree ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if pending, err := s.pending(ctx, migs); err != nil || len(pending) == 0 {
		return nil, err // up to date: no lease needed
	}
	owner := NewOwner()
	if err := s.lock(ctx, owner); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// The lease must go even when ctx has ended.
	defer s.unlock(context.WithoutCancel(ctx), owner)
	ctx, stop := s.KeepLeases(ctx, owner, lockTTL, schemaLease)
	defer stop()

	pending, err := s.pending(ctx, migs) // another process may have applied some meanwhile
	if err != nil {
		return nil, err
	}
	var applied []string
	var held []Migration // applied, to be recorded once the rebuild is done
	for _, m := range pending {
		for i, stmt := range m.Statements {
			// A column added before a crash part-way is there already.
			if err := s.conn.Exec(ctx, stmt); err != nil && !columnThere(stmt, err) {
				return applied, fmt.Errorf("migrate: %s, statement %d: %w", m.Name, i+1, err)
			}
		}
		switch {
		case m.Version < rebuildAt && slices.ContainsFunc(pending, func(x Migration) bool { return x.Version == rebuildAt }):
			held = append(held, m)
			continue
		case m.Version == rebuildAt:
			if err := s.rebuildAggregates(ctx, nil); err != nil {
				return applied, fmt.Errorf("migrate: after %s: %w", m.Name, err)
			}
		}
		for _, r := range append(held, m) {
			if err := s.insertRow(ctx, "schema_migrations", "INSERT INTO schema_migrations (version, name, applied_at)",
				r.Version, r.Name, time.Now().UTC()); err != nil {
				return applied, fmt.Errorf("migrate: record %s: %w", r.Name, err)
			}
			applied = append(applied, r.Name)
			s.log.Info("schema migration applied", "file", r.Name, "database", s.opt.Database)
		}
		held = nil
	}
	return applied, nil
}

// The derived tables are rebuilt from the legs once rebuildAt, the last
// migration that changed their shape, is applied (003 repartitioned them,
// 005 added two, 007 the KPIs' columns and target_daily): the rebuild
// writes every column they have. The migrations pending before it are
// recorded only once the rebuild is done, so that a crash before it
// leaves them all pending (their statements can run again).
const rebuildAt = 7

// columnThere reports whether err is stmt, an ADD COLUMN, finding its
// column added already (code 44 also means other things).
func columnThere(stmt string, err error) bool {
	return isException(err, codeDuplicateColumn) && strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") &&
		strings.Contains(err.Error(), "already exists")
}

// pending are the migrations not recorded as applied.
func (s *Store) pending(ctx context.Context, migs []Migration) ([]Migration, error) {
	if err := s.syncGlobal(ctx, "schema_migrations"); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	done := map[uint32]bool{}
	rows, err := s.conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		done[v] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var out []Migration
	for _, m := range migs {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

// lock waits for the schema lease.
func (s *Store) lock(ctx context.Context, owner string) error {
	for {
		got, held, err := s.Acquire(ctx, owner, lockTTL, schemaLease)
		if err != nil {
			return fmt.Errorf("take the schema lease: %w", err)
		}
		if len(got) == 1 {
			return nil
		}
		s.log.Info("waiting for another process to apply the schema", "holder", held[schemaLease].Owner)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Store) unlock(ctx context.Context, owner string) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.Release(ctx, owner, schemaLease); err != nil {
		s.log.Error("release the schema lease", "err", err)
	}
}
