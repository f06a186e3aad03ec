package warehouse

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

// lockTTL is how long the schema's lease lasts unrenewed, after its
// holder died, say.
const lockTTL = time.Minute

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
	all, err := s.db.Migrations()
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	var migs []schema.Migration
	for _, m := range all {
		if m.Version <= last {
			migs = append(migs, m)
		}
	}
	if err := s.db.DDL(ctx, "schema_migrations", `CREATE TABLE IF NOT EXISTS schema_migrations
		(version UInt32, name String, applied_at DateTime('UTC'))
		ENGINE = MergeTree ORDER BY version`); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	if pending, err := s.pending(ctx, migs); err != nil || len(pending) == 0 {
		return nil, err // up to date: no lease needed
	}
	owner := lease.NewOwner(lease.Long)
	if err := s.lock(ctx, owner); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	// The lease must go even when ctx has ended.
	defer s.unlock(context.WithoutCancel(ctx), owner)
	ctx, stop := s.leases.KeepLeases(ctx, owner, lockTTL, lease.Schema)
	defer stop()

	pending, err := s.pending(ctx, migs) // another process may have applied some meanwhile
	if err != nil {
		return nil, err
	}
	var applied []string
	var held []schema.Migration // applied, to be recorded once the rebuild is done
	for _, m := range pending {
		for i, stmt := range m.Statements {
			// A column added before a crash part-way is there already.
			if err := s.db.Exec(ctx, stmt); err != nil && !columnThere(stmt, err) {
				return applied, fmt.Errorf("migrate: %s, statement %d: %w", m.Name, i+1, err)
			}
		}
		switch {
		case m.Version < rebuildAt && slices.ContainsFunc(pending, func(x schema.Migration) bool { return x.Version == rebuildAt }):
			held = append(held, m)
			continue
		case m.Version == rebuildAt:
			if err := s.derived.RebuildAggregates(ctx, nil); err != nil {
				return applied, fmt.Errorf("migrate: after %s: %w", m.Name, err)
			}
			// The staffing of a staffingAt held until now reads what the
			// rebuild wrote.
			if slices.ContainsFunc(held, func(x schema.Migration) bool { return x.Version == staffingAt }) {
				if err := s.derived.RebuildStaffing(ctx); err != nil {
					return applied, fmt.Errorf("migrate: after %s: %w", m.Name, err)
				}
			}
		case m.Version == staffingAt:
			if err := s.derived.RebuildStaffing(ctx); err != nil {
				return applied, fmt.Errorf("migrate: after %s: %w", m.Name, err)
			}
		case m.Version == targetEventsAt:
			if err := s.db.Exec(ctx, seedTargetEvents); err != nil {
				return applied, fmt.Errorf("migrate: after %s: %w", m.Name, err)
			}
		}
		for _, r := range append(held, m) {
			if err := s.db.InsertRow(ctx, "schema_migrations", "INSERT INTO schema_migrations (version, name, applied_at)",
				r.Version, r.Name, time.Now().UTC()); err != nil {
				return applied, fmt.Errorf("migrate: record %s: %w", r.Name, err)
			}
			applied = append(applied, r.Name)
			s.db.Log().Info("schema migration applied", "file", r.Name, "database", s.db.Database())
		}
		held = nil
	}
	return applied, nil
}

// The derived tables are rebuilt from the legs once rebuildAt, the last
// migration that changed their shape, is applied (003 repartitioned them,
// 005 added two, 007 the KPIs' columns and target_daily, 010
// target_intervals and the agents' intervals, 014 the reasons and
// satisfaction): the rebuild writes every column they have. The
// migrations pending before it are recorded only once the rebuild is
// done, so that a crash before it leaves them all pending (their
// statements can run again).
const rebuildAt = 14

// staffingAt made the staffing table, which is filled from the derived
// tables once it is applied (only it: its rows come from the intervals
// and the agents' time, not from the legs).
const staffingAt = 11

// targetEventsAt made target_events, which is seeded once it is applied
// from the live states the receiver kept (the last two days' legs), so
// that call events that stopped before the upgrade are alerted on too.
// Seeded again after a crash, it holds the same times.
const targetEventsAt = 16

const seedTargetEvents = `INSERT INTO target_events (target_type, target_id, received_at, version)
SELECT target_type, target_id, max(event_at), toUInt64(toUInt32(max(event_at))) * 1000000000
FROM live_calls
GROUP BY target_type, target_id`

// columnThere reports whether err is stmt, an ADD COLUMN, finding its
// column added already (code 44 also means other things).
func columnThere(stmt string, err error) bool {
	return db.IsException(err, db.CodeDuplicateColumn) && strings.Contains(strings.ToUpper(stmt), "ADD COLUMN") &&
		strings.Contains(err.Error(), "already exists")
}

// pending are the migrations not recorded as applied.
func (s *Store) pending(ctx context.Context, migs []schema.Migration) ([]schema.Migration, error) {
	if err := s.db.SyncGlobal(ctx, "schema_migrations"); err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	done := map[uint32]bool{}
	rows, err := s.db.Query(ctx, "SELECT version FROM schema_migrations")
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
	var out []schema.Migration
	for _, m := range migs {
		if !done[m.Version] {
			out = append(out, m)
		}
	}
	return out, nil
}

// lock waits for the schema lease.
func (s *Store) lock(ctx context.Context, owner lease.Owner) error {
	for {
		got, held, err := s.leases.Acquire(ctx, owner, lockTTL, lease.Schema)
		if err != nil {
			return fmt.Errorf("take the schema lease: %w", err)
		}
		if len(got) == 1 {
			return nil
		}
		s.db.Log().Info("waiting for another process to apply the schema", "holder", held[lease.Schema].Owner)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func (s *Store) unlock(ctx context.Context, owner lease.Owner) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := s.leases.Release(ctx, owner, lease.Schema); err != nil {
		s.db.Log().Error("release the schema lease", "err", err)
	}
}
