package warehouse

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// unlistedMargin is how long before a list read began a call must have
// ended (its final event's time) for the read to be trusted not to list
// it: Dialpad may list a call a little after it ended.
const unlistedMargin = 10 * time.Minute

// DropUnlisted deletes target's legs that only events gave, started in w,
// when a list read of w from began on did not list them although they
// ended well before (unlistedMargin): the list is the source of truth for
// which legs a target has (an event does not say which target it came
// through). It also deletes the copies an export gave of a leg in w that
// no later copy of the same key replaces: a leg the list does not have,
// or one whose start the export placed otherwise (a second, an hour),
// which would be a row of its own beside the list's. The list's copy,
// written by the read, has what the export's had (the queue and hold
// times are carried over). It returns the days of the legs it deleted, once the
// deletion is done. On a cluster it runs on a replica of the target's
// shard.
func (s *Store) DropUnlisted(ctx context.Context, target dialpad.Target, w dialpad.Window, began time.Time) (days []time.Time, err error) {
	err = s.db.OnShard(ctx, target, func(sh *db.DB) error {
		days, err = (&Store{db: sh}).dropUnlisted(ctx, target, w, began)
		return err
	})
	return days, err
}

func (s *Store) dropUnlisted(ctx context.Context, target dialpad.Target, w dialpad.Window, began time.Time) ([]time.Time, error) {
	span := `target_type = ? AND target_id = ? AND started_at >= toDateTime(?) AND started_at <= toDateTime(?)`
	args := []any{target.Type, uint64(target.ID), w.From.Unix(), w.To.Unix()}
	// An export's copy that a later copy of the same key replaces counts
	// for nothing (and may be merged away at any time): only those that
	// are the newest of their key (a call id and start) are looked for.
	rows, err := s.db.Query(ctx, `SELECT call_id, argMax(day, version),
			argMax(source, version) = 'event' AND max(version) < ? AS unlisted,
			call_id IN (SELECT call_id FROM calls PREWHERE `+span+`
				GROUP BY call_id, started_at HAVING argMax(source, version) = 'export') AS exported
		FROM calls
		PREWHERE `+span+`
		WHERE started_ms >= ? AND started_ms < ?
			AND call_id IN (SELECT call_id FROM calls PREWHERE `+span+` WHERE source IN ('event', 'export'))
		GROUP BY call_id
		HAVING unlisted OR exported`,
		append(append(append(append([]any{db.Version(began.Add(-unlistedMargin))}, args...), args...), w.From.UnixMilli(), w.To.UnixMilli()), args...)...)
	if err != nil {
		return nil, fmt.Errorf("find %s's legs that only events or exports gave: %w", target, err)
	}
	var ids, exported []string
	var days []time.Time
	for rows.Next() {
		var id uint64
		var day time.Time
		var unlisted, fromExport bool
		if err := rows.Scan(&id, &day, &unlisted, &fromExport); err != nil {
			rows.Close()
			return nil, err
		}
		if unlisted {
			ids = append(ids, strconv.FormatUint(id, 10))
		} else {
			exported = append(exported, strconv.FormatUint(id, 10))
		}
		if !slices.ContainsFunc(days, day.Equal) {
			days = append(days, day)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil || len(ids)+len(exported) == 0 {
		return nil, err
	}
	var since time.Time
	if err := s.db.QueryRow(ctx, "SELECT now()").Scan(&since); err != nil {
		return nil, err
	}
	for _, del := range []struct {
		ids  []string
		only string // which copies
	}{{ids, ""}, {exported, " AND source = 'export'"}} {
		for ids := del.ids; len(ids) > 0; {
			chunk := ids[:min(len(ids), idsPerQuery)]
			ids = ids[len(chunk):]
			if err := s.db.Exec(ctx, `ALTER TABLE calls DELETE WHERE target_type = ? AND target_id = ? AND call_id IN (`+
				strings.Join(chunk, ",")+`)`+del.only, target.Type, uint64(target.ID)); err != nil {
				return nil, fmt.Errorf("delete %s's legs that the list does not have: %w", target, err)
			}
		}
	}
	if err := s.db.WaitMutations(ctx, s.db.TableName("calls"), since); err != nil {
		return nil, err
	}
	return days, nil
}
