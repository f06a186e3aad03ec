package warehouse

import (
	"context"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

var callColumns = []string{
	"target_type", "target_id", "call_id", "conversation_id", "is_entry_leg",
	"direction", "status", "agent_id", "agent_name", "started_at", "started_ms",
	"day", "duration_ms", "total_duration_ms", "date_rang", "date_connected",
	"connected_ms", "date_ended", "state", "leg_target_type", "leg_target_id",
	"leg_target_name", "contact_id", "contact_name", "contact_phone",
	"contact_email", "contact_type", "external_number", "internal_number",
	"entry_point_call_id", "entry_point_target_type", "entry_point_target_id",
	"master_call_id", "operator_call_id", "group_id", "was_recorded",
	"is_transferred", "has_voicemail", "mos_score", "labels", "csat_score",
	"raw", "raw_hash", "loaded_at", "version",
}

var insertCalls = "INSERT INTO calls (" + strings.Join(callColumns, ", ") + ")"

// Version orders the copies of one key: the newest load wins.
func Version(t time.Time) uint64 { return uint64(t.UnixNano()) }

// WriteLegs writes legs in batches of Options.BatchSize and returns how
// many of them were new or changed: no stored copy, or one whose raw JSON
// differs. A batch whose send fails is rebuilt and sent again, up to
// Options.SendAttempts times: a failed send may or may not have landed,
// and a second copy of a leg is harmless because the newer version of its
// key replaces the older. A leg's version is when it was read (Leg.Read,
// else now), so a copy read earlier but written later, by a slower
// process, never wins.
func (s *Store) WriteLegs(ctx context.Context, legs []transform.Leg) (changed int, err error) {
	now := time.Now().UTC()
	for len(legs) > 0 {
		n := min(len(legs), s.opt.BatchSize)
		chunk := legs[:n]
		c, err := s.changed(ctx, chunk)
		if err != nil {
			return changed, err
		}
		err = s.send(ctx, "calls", insertCalls, func(b driver.Batch) error {
			for i := range chunk {
				version := Version(now)
				if !chunk[i].Read.IsZero() {
					version = Version(chunk[i].Read)
				}
				if err := appendLeg(b, &chunk[i], now, version); err != nil {
					return fmt.Errorf("leg %d: %w", chunk[i].CallID, err)
				}
			}
			return nil
		})
		if err != nil {
			return changed, err
		}
		changed += c
		legs = legs[n:]
	}
	return changed, nil
}

// changed counts the legs whose stored copy is missing or has other raw
// JSON, reading the stored hashes of each target's legs in the span of
// their starts.
func (s *Store) changed(ctx context.Context, legs []transform.Leg) (int, error) {
	type span struct {
		lo, hi int64
		ids    []uint64
	}
	spans := map[dialpad.Target]*span{}
	for i := range legs {
		l := &legs[i]
		sp := spans[l.Target]
		if sp == nil {
			sp = &span{lo: l.StartedMs, hi: l.StartedMs}
			spans[l.Target] = sp
		}
		sp.lo, sp.hi = min(sp.lo, l.StartedMs), max(sp.hi, l.StartedMs)
		sp.ids = append(sp.ids, l.CallID)
	}
	stored := map[dialpad.Target]map[uint64]uint64{}
	for t, sp := range spans {
		rows, err := s.conn.Query(ctx, `SELECT call_id, raw_hash FROM calls FINAL
			WHERE target_type = ? AND target_id = ? AND started_at >= toDateTime(?) AND started_at <= toDateTime(?)
			AND has(?, call_id)`, t.Type, uint64(t.ID), sp.lo/1000, sp.hi/1000, sp.ids)
		if err != nil {
			return 0, fmt.Errorf("read the stored copies of %s's legs: %w", t, err)
		}
		m := map[uint64]uint64{}
		for rows.Next() {
			var id, h uint64
			if err := rows.Scan(&id, &h); err != nil {
				rows.Close()
				return 0, err
			}
			m[id] = h
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return 0, err
		}
		stored[t] = m
	}
	n := 0
	for i := range legs {
		if h, ok := stored[legs[i].Target][legs[i].CallID]; !ok || h != rawHash(legs[i].Call.Raw) {
			n++
		}
	}
	return n, nil
}

// rawHash identifies a leg's raw JSON (FNV-1a, 64 bits).
func rawHash(raw []byte) uint64 {
	h := fnv.New64a()
	h.Write(raw)
	return h.Sum64()
}

// send builds a batch with fill and sends it, rebuilding and retrying a
// failed send with a short backoff.
func (s *Store) send(ctx context.Context, table, insert string, fill func(driver.Batch) error) error {
	var err error
	for attempt := 1; attempt <= s.opt.SendAttempts; attempt++ {
		if attempt > 1 {
			wait := time.Duration(attempt-1) * 500 * time.Millisecond
			s.log.Warn("retrying insert", "table", table, "attempt", attempt, "err", err)
			select {
			case <-ctx.Done():
				return fmt.Errorf("write %s to ClickHouse at %s: %w (after: %v)", table, s.opt.Addr, ctx.Err(), err)
			case <-time.After(wait):
			}
		}
		err = s.sendOnce(ctx, insert, fill)
		if err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("write %s to ClickHouse at %s: %w", table, s.opt.Addr, err)
	}
	return nil
}

// insertRow writes one row through a batch: an INSERT ... VALUES with
// bound values is never answered by ClickHouse 18.16 over the native
// protocol.
func (s *Store) insertRow(ctx context.Context, table, insert string, values ...any) error {
	return s.send(ctx, table, insert, func(b driver.Batch) error { return b.Append(values...) })
}

func (s *Store) sendOnce(ctx context.Context, insert string, fill func(driver.Batch) error) error {
	b, err := s.conn.PrepareBatch(ctx, insert)
	if err != nil {
		return err
	}
	if err := fill(b); err != nil {
		_ = b.Abort()
		return err
	}
	return b.Send()
}

func appendLeg(b driver.Batch, l *transform.Leg, now time.Time, version uint64) error {
	c := l.Call
	var mos *float64
	if c.MOSScore != nil {
		v := float64(*c.MOSScore)
		mos = &v
	}
	labels := c.Labels
	if labels == nil {
		labels = []string{}
	}
	return b.Append(
		l.Target.Type, uint64(l.Target.ID), l.CallID, l.ConversationID, flag(l.IsEntryLeg),
		l.Direction, l.Status, l.AgentID, l.AgentName, time.UnixMilli(l.StartedMs).UTC(), l.StartedMs,
		l.Day, l.DurationMs, l.TotalDuration, optTime(l.RangMs), optTime(l.ConnectedMs),
		l.ConnectedMs, optTime(l.EndedMs), c.State, c.Target.Type, uint64(c.Target.ID),
		c.Target.Name, uint64(c.Contact.ID), c.Contact.Name, c.Contact.Phone,
		c.Contact.Email, c.Contact.Type, c.ExternalNumber, c.InternalNumber,
		uint64(c.EntryPointCallID), c.EntryPointTarget.Type, uint64(c.EntryPointTarget.ID),
		uint64(c.MasterCallID), uint64(c.OperatorCallID), c.GroupID, flag(c.WasRecorded),
		flag(c.IsTransferred), flag(l.HasVoicemail), mos, labels, c.CSATScore,
		string(c.Raw), rawHash(c.Raw), now, version,
	)
}

func flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

func optTime(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// Rejected is an item of the call list that was not loaded.
type Rejected struct {
	Target dialpad.Target
	CallID int64 // 0 when it could not be read
	Reason string
	Raw    []byte
	RunID  string
}

// WriteRejected records items that could not be loaded. The same item
// seen again replaces its earlier record.
func (s *Store) WriteRejected(ctx context.Context, items []Rejected) error {
	if len(items) == 0 {
		return nil
	}
	now := time.Now().UTC()
	version := Version(now)
	return s.send(ctx, "rejected_calls",
		"INSERT INTO rejected_calls (target_type, target_id, raw_hash, call_id, reason, raw, run_id, seen_at, version)",
		func(b driver.Batch) error {
			for _, r := range items {
				if err := b.Append(r.Target.Type, uint64(r.Target.ID), rawHash(r.Raw), uint64(max(r.CallID, 0)),
					r.Reason, string(r.Raw), r.RunID, now, version); err != nil {
					return err
				}
			}
			return nil
		})
}
