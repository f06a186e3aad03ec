package warehouse

import (
	"context"
	"fmt"
	"io/fs"
	"os"
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

const lockTable = "schema_migrations_lock"

// lockStale is how long a lock may be held before another process takes
// it over: far longer than the schema takes to apply.
const lockStale = 2 * time.Minute

// Migrate applies the migrations not yet recorded in schema_migrations, in
// order, each once. Processes that start together take turns through a
// lock table; a lock left by a process that died is taken over after
// lockStale. It returns the names of the files it applied.
func (s *Store) Migrate(ctx context.Context) ([]string, error) {
	migs, err := Migrations()
	if err != nil {
		return nil, err
	}
	if err := s.conn.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations
		(version UInt32, name String, applied_at DateTime('UTC'))
		ENGINE = MergeTree ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if err := s.lock(ctx); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// The lock must go even when ctx has ended.
	defer s.unlock(context.WithoutCancel(ctx))

	done := map[uint32]bool{}
	rows, err := s.conn.Query(ctx, "SELECT version FROM schema_migrations")
	if err != nil {
		return nil, fmt.Errorf("migrate: read applied versions: %w", err)
	}
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			rows.Close()
			return nil, err
		}
		done[v] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	var applied []string
	for _, m := range migs {
		if done[m.Version] {
			continue
		}
		for i, stmt := range m.Statements {
			if err := s.conn.Exec(ctx, stmt); err != nil {
				return applied, fmt.Errorf("migrate: %s, statement %d: %w", m.Name, i+1, err)
			}
		}
		if err := s.insertRow(ctx, "schema_migrations", "INSERT INTO schema_migrations (version, name, applied_at)",
			m.Version, m.Name, time.Now().UTC()); err != nil {
			return applied, fmt.Errorf("migrate: record %s: %w", m.Name, err)
		}
		applied = append(applied, m.Name)
		s.log.Info("schema migration applied", "file", m.Name, "database", s.opt.Database)
	}
	return applied, nil
}

// lock creates the lock table, which only one process can do; unlock drops
// it.
func (s *Store) lock(ctx context.Context) error {
	host, _ := os.Hostname()
	owner := fmt.Sprintf("%s/%d", host, os.Getpid())
	firstSeen := time.Time{}
	for {
		err := s.conn.Exec(ctx, "CREATE TABLE "+lockTable+" (owner String, taken_at DateTime('UTC')) ENGINE = TinyLog")
		if err == nil {
			if err := s.insertRow(ctx, lockTable, "INSERT INTO "+lockTable+" (owner, taken_at)", owner, time.Now().UTC()); err != nil {
				s.unlock(ctx)
				return fmt.Errorf("take schema lock: %w", err)
			}
			return nil
		}
		if !isException(err, codeTableExists) {
			return fmt.Errorf("take schema lock: %w", err)
		}
		if firstSeen.IsZero() {
			firstSeen = time.Now()
		}
		// The lock may be mid-creation or just dropped: a failed read means
		// only that its age is unknown.
		var takenAt time.Time
		_ = s.conn.QueryRow(ctx, "SELECT max(taken_at) FROM "+lockTable).Scan(&takenAt)
		if takenAt.Unix() <= 0 {
			takenAt = firstSeen // created but not yet written: age it from when we first saw it
		}
		if time.Since(takenAt) > lockStale {
			s.log.Warn("taking over a stale schema lock", "since", takenAt)
			s.unlock(ctx)
			continue
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (s *Store) unlock(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.conn.Exec(ctx, "DROP TABLE IF EXISTS "+lockTable); err != nil {
		s.log.Error("drop schema lock", "err", err)
	}
}
