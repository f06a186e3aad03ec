package warehouse

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
	"github.com/dialpad-etl/dialpad-etl/schema"
)

var insertCalls = "INSERT INTO calls (" + strings.Join(schema.CallColumns, ", ") + ")"

// WriteLegs writes legs in batches of Options.BatchSize and returns how
// many of them were new or changed: no stored copy, or one whose raw JSON
// differs. A batch whose send fails is rebuilt and sent again, up to
// Options.SendAttempts times: a failed send may or may not have landed,
// and a second copy of a leg is harmless because the newer version of its
// key replaces the older. A leg's version is when it was read (Leg.Read,
// else now), so a copy read earlier but written later, by a slower
// process, never wins.
func (s *Store) WriteLegs(ctx context.Context, legs []transform.Leg) (changed int, err error) {
	err = s.WriteLegsEach(ctx, legs, func(int) { changed++ })
	return changed, err
}

// WriteLegsEach is WriteLegs calling changed with the index of each leg
// that was new or changed. The fields only events tell (queue start,
// first ring, hold) are taken from call_events and from the stored copy
// for every leg, so a leg re-read from the list, which lacks them, keeps
// them.
func (s *Store) WriteLegsEach(ctx context.Context, legs []transform.Leg, changed func(i int)) error {
	now := time.Now().UTC()
	for at := 0; at < len(legs); {
		n := min(len(legs)-at, s.db.BatchSize())
		chunk := legs[at : at+n]
		var isNew []bool
		err := s.db.Retry(ctx, "read the stored copies of legs", func() (err error) {
			if err = s.addEventFields(ctx, chunk); err != nil {
				return err
			}
			isNew, err = s.changed(ctx, chunk)
			return err
		})
		if err != nil {
			return err
		}
		err = s.db.Send(ctx, "calls", insertCalls, func(b driver.Batch) error {
			for i := range chunk {
				version := db.Version(now)
				if !chunk[i].Read.IsZero() {
					version = db.Version(chunk[i].Read)
				}
				if err := appendLeg(b, &chunk[i], now, version); err != nil {
					return fmt.Errorf("leg %d: %w", chunk[i].CallID, err)
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
		for i, c := range isNew {
			if c {
				changed(at + i)
			}
		}
		at += n
	}
	return nil
}

// changed tells for each leg whether its stored copy is missing, has
// other raw JSON or other event fields; a leg gets the event fields of its
// stored copy where it knows less.
func (s *Store) changed(ctx context.Context, legs []transform.Leg) ([]bool, error) {
	stored := map[dialpad.Target]map[uint64]storedLeg{}
	err := s.eachStored(ctx, legs, "argMax(raw_hash, version), argMax(queued_ms, version), argMax(first_rang_ms, version), argMax(hold_ms, version)",
		func(t dialpad.Target, rows driver.Rows) error {
			var id uint64
			var st storedLeg
			if err := rows.Scan(&id, &st.hash, &st.queued, &st.firstRang, &st.hold); err != nil {
				return err
			}
			if stored[t] == nil {
				stored[t] = map[uint64]storedLeg{}
			}
			stored[t][id] = st
			return nil
		})
	if err != nil {
		return nil, err
	}
	out := make([]bool, len(legs))
	for i := range legs {
		l := &legs[i]
		st, ok := stored[l.Target][l.CallID]
		if ok {
			// What events told is kept even once call_events no longer
			// has them (ETL_EVENTS_RETENTION).
			l.QueuedMs, l.FirstRangMs, l.HoldMs = max(l.QueuedMs, st.queued), max(l.FirstRangMs, st.firstRang), max(l.HoldMs, st.hold)
		}
		out[i] = !ok || st != storedLeg{db.Hash(l.Call.Raw), l.QueuedMs, l.FirstRangMs, l.HoldMs}
	}
	return out, nil
}

// eachStored reads the latest stored copy of legs: for each target, the
// columns cols (aggregates over the copies of a call_id) of its legs in
// the spans of their starts, and calls scan with each row (call_id, then
// cols). It reads no more than the spans' granules: the ids are a set
// literal, looked up by hash, and the newest copy is found by
// aggregation, which is cheaper than FINAL over the spans.
func (s *Store) eachStored(ctx context.Context, legs []transform.Leg, cols string,
	scan func(t dialpad.Target, rows driver.Rows) error) error {
	// The legs of a batch may come from several slices, days apart: the
	// span of each target's legs of each day, so that the days between
	// are not read.
	type key struct {
		target dialpad.Target
		day    time.Time
	}
	type span struct{ lo, hi int64 }
	spans := map[key]*span{}
	ids := map[dialpad.Target][]string{}
	for i := range legs {
		l := &legs[i]
		k := key{l.Target, l.Day}
		sp := spans[k]
		if sp == nil {
			sp = &span{lo: l.StartedMs, hi: l.StartedMs}
			spans[k] = sp
		}
		sp.lo, sp.hi = min(sp.lo, l.StartedMs), max(sp.hi, l.StartedMs)
		ids[l.Target] = append(ids[l.Target], strconv.FormatUint(l.CallID, 10))
	}
	for t, tids := range ids {
		var within []string
		for k, sp := range spans {
			if k.target == t {
				within = append(within, fmt.Sprintf("started_at >= toDateTime(%d) AND started_at <= toDateTime(%d)", sp.lo/1000, sp.hi/1000))
			}
		}
		// At most idsPerQuery ids a statement, to stay under the
		// server's max_query_size.
		for len(tids) > 0 {
			chunk := tids[:min(len(tids), idsPerQuery)]
			tids = tids[len(chunk):]
			rows, err := s.db.Query(ctx, `SELECT call_id, `+cols+` FROM calls
				PREWHERE target_type = ? AND target_id = ? AND (`+strings.Join(within, " OR ")+`)
				AND call_id IN (`+strings.Join(chunk, ",")+`)
				GROUP BY call_id`, t.Type, uint64(t.ID))
			if err != nil {
				return fmt.Errorf("read the stored copies of %s's legs: %w", t, err)
			}
			for rows.Next() {
				if err := scan(t, rows); err != nil {
					rows.Close()
					return err
				}
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
		}
	}
	return nil
}

// KeepListCopies makes the legs of final events that the list has
// already given back into the list's copies: each becomes the stored
// list copy again (its raw JSON shaped anew, with names), written with a
// newer version, so that an event adds to it only what only events tell
// (WriteLegsEach takes that from call_events). The list is the source of
// truth for the rest (recordings, labels, CSAT arrive after the call).
// Call it before WriteLegsEach; legs keep their order.
func (s *Store) KeepListCopies(ctx context.Context, legs []transform.Leg, names transform.Names) error {
	type copyOf struct {
		raw     string
		version uint64
	}
	lists := map[dialpad.Target]map[uint64]copyOf{}
	err := s.eachStored(ctx, legs, "argMax(raw, version), argMax(toString(source), version), max(version)",
		func(t dialpad.Target, rows driver.Rows) error {
			var id uint64
			var c copyOf
			var src string
			if err := rows.Scan(&id, &c.raw, &src, &c.version); err != nil {
				return err
			}
			if src == "list" {
				if lists[t] == nil {
					lists[t] = map[uint64]copyOf{}
				}
				lists[t][id] = c
			}
			return nil
		})
	if err != nil {
		return err
	}
	for i := range legs {
		l := &legs[i]
		c, ok := lists[l.Target][l.CallID]
		if !ok {
			continue
		}
		call, err := wire.DecodeCall([]byte(c.raw))
		if err != nil {
			continue // a stored copy that no longer decodes: the event's stands
		}
		listed := transform.NewLeg(l.Target, &call, s.db.Location(), names)
		listed.Read = time.Unix(0, int64(c.version+1))
		*l = listed
	}
	return nil
}

// storedLeg is what changed compares of a leg's stored copy.
type storedLeg struct {
	hash              uint64
	queued, firstRang int64
	hold              uint64
}

// addEventFields sets on each leg the fields only events tell, from the
// call events received for it (the latest known of each), keeping what
// the leg has when it knows more.
func (s *Store) addEventFields(ctx context.Context, legs []transform.Leg) error {
	ids := make([]string, 0, len(legs))
	for i := range legs {
		ids = append(ids, strconv.FormatUint(legs[i].CallID, 10))
	}
	fields := map[uint64]storedLeg{}
	for len(ids) > 0 {
		chunk := ids[:min(len(ids), idsPerQuery)]
		ids = ids[len(chunk):]
		rows, err := s.db.Query(ctx, `SELECT call_id, max(queued_ms), max(first_rang_ms), max(hold_ms)
			FROM call_events WHERE call_id IN (`+strings.Join(chunk, ",")+`) GROUP BY call_id`)
		if err != nil {
			return fmt.Errorf("read the call events of the legs: %w", err)
		}
		for rows.Next() {
			var id uint64
			var f storedLeg
			if err := rows.Scan(&id, &f.queued, &f.firstRang, &f.hold); err != nil {
				rows.Close()
				return err
			}
			fields[id] = f
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
	}
	if len(fields) == 0 {
		return nil
	}
	for i := range legs {
		l := &legs[i]
		if f, ok := fields[l.CallID]; ok {
			l.QueuedMs, l.FirstRangMs, l.HoldMs = max(l.QueuedMs, f.queued), max(l.FirstRangMs, f.firstRang), max(l.HoldMs, f.hold)
		}
	}
	return nil
}

// idsPerQuery bounds the call ids in one statement of changed: 5,000 ids
// of up to 20 digits are about 100 kB of the 256 kB ClickHouse accepts.
const idsPerQuery = 5000

func appendLeg(b driver.Batch, l *transform.Leg, now time.Time, version uint64) error {
	c := l.Call
	var mos *float64
	if c.MOSScore != nil {
		v := float64(*c.MOSScore)
		mos = &v
	}
	labels, comments := c.Labels, c.CSATComments
	if labels == nil {
		labels = []string{}
	}
	if comments == nil {
		comments = []string{}
	}
	return b.Append(
		l.Target.Type, uint64(l.Target.ID), l.CallID, l.ConversationID, db.Flag(l.IsEntryLeg),
		l.Direction, l.Status, l.AgentID, l.AgentName, time.UnixMilli(l.StartedMs).UTC(), l.StartedMs,
		l.Day, l.DurationMs, l.TotalDuration, db.OptTime(l.RangMs), db.OptTime(l.ConnectedMs),
		l.ConnectedMs, db.OptTime(l.EndedMs), c.State, c.Target.Type, uint64(c.Target.ID),
		c.Target.Name, uint64(c.Contact.ID), c.Contact.Name, c.Contact.Phone,
		c.Contact.Email, c.Contact.Type, c.ExternalNumber, c.InternalNumber,
		uint64(c.EntryPointCallID), c.EntryPointTarget.Type, uint64(c.EntryPointTarget.ID),
		uint64(c.MasterCallID), uint64(c.OperatorCallID), c.GroupID, db.Flag(c.WasRecorded),
		db.Flag(c.IsTransferred), db.Flag(l.HasVoicemail), mos, labels, c.CSATScore,
		string(c.Raw), db.Hash(c.Raw), now, version, l.QueuedMs, l.FirstRangMs, l.HoldMs, l.Source.Column(),
		comments,
	)
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
	version := db.Version(now)
	return s.db.Send(ctx, "rejected_calls",
		"INSERT INTO rejected_calls (target_type, target_id, raw_hash, call_id, reason, raw, run_id, seen_at, version)",
		func(b driver.Batch) error {
			for _, r := range items {
				if err := b.Append(r.Target.Type, uint64(r.Target.ID), db.Hash(r.Raw), uint64(max(r.CallID, 0)),
					r.Reason, string(r.Raw), r.RunID, now, version); err != nil {
					return err
				}
			}
			return nil
		})
}
