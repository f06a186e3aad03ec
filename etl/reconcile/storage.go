package reconcile

import (
	"context"
	"fmt"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Store is where the reconciliation reads the stored legs and keeps what
// it found (*Storage). It must be safe for concurrent use.
type Store interface {
	// LegsOfDays returns target's stored legs whose day is from first
	// to last (reporting-zone dates, both included), each inbound entry
	// leg with its conversation's class.
	LegsOfDays(ctx context.Context, target dialpad.Target, first, last time.Time) ([]StoredLeg, error)
	// WriteReconciliation records a run's days of one target and the
	// legs behind their differences, the days last.
	WriteReconciliation(ctx context.Context, days []Reconciled, diffs []Difference) error
	// DaysOutOfAgreement counts, per target, the days from since on
	// whose latest reconciliation is not a match.
	DaysOutOfAgreement(ctx context.Context, since time.Time) (map[dialpad.Target]int, error)
}

// Storage keeps the reconciliation in the warehouse and reads the stored
// legs it compares. It is safe for concurrent use.
type Storage struct {
	db *db.DB
}

// NewStorage is the reconciliation's storage in the warehouse d.
func NewStorage(d *db.DB) *Storage { return &Storage{db: d} }

// StoredLeg is what reconciliation compares of a stored leg.
type StoredLeg struct {
	CallID         uint64
	ConversationID uint64
	Day            time.Time // reporting-zone date, as midnight UTC
	Direction      string
	Connected      bool
	Talk           time.Duration
	Started        time.Time
	Ended          time.Time // zero when the list gave none
	// Class is, of an inbound entry leg, what its conversation came to;
	// none of any other leg.
	Class Class
}

// entry reports whether l is an inbound entry leg: the customer's call
// itself (its call id is its conversation's), not a leg that rang an
// agent.
func (l *StoredLeg) entry() bool { return l.CallID == l.ConversationID && l.Direction == "inbound" }

// Class is what an inbound entry leg came to: Dialpad's category of it
// in the records export, or our conversation's outcome.
type Class string

// Classes of an inbound entry leg, in the order they are told apart: the
// first that applies is the leg's.
const (
	ClassNone      Class = ""          // none of the four
	ClassAnswered  Class = "answered"  // an agent answered
	ClassVoicemail Class = "voicemail" // the caller left a voicemail
	ClassAbandoned Class = "abandoned" // the caller hung up before any agent rang
	ClassMissed    Class = "missed"    // agents rang, none answered
)

// String is the class as reconciliation_diffs shows it.
func (c Class) String() string {
	if c == ClassNone {
		return "none"
	}
	return string(c)
}

// Categories counts a day's inbound entry legs by class (those of none
// are counted by no field).
type Categories struct {
	Answered, Voicemail, Abandoned, Missed int
}

func (c *Categories) add(cl Class) {
	switch cl {
	case ClassAnswered:
		c.Answered++
	case ClassVoicemail:
		c.Voicemail++
	case ClassAbandoned:
		c.Abandoned++
	case ClassMissed:
		c.Missed++
	}
}

// String is the counts as the reconcile command prints them.
func (c Categories) String() string {
	return fmt.Sprintf("%d answered, %d voicemail, %d abandoned, %d missed", c.Answered, c.Voicemail, c.Abandoned, c.Missed)
}

// LegsOfDays returns target's stored legs whose day is from first to last
// (reporting-zone dates, both included), each inbound entry leg with its
// conversation's class (conversations).
func (s *Storage) LegsOfDays(ctx context.Context, target dialpad.Target, first, last time.Time) ([]StoredLeg, error) {
	// started_at bounds the partitions read; day is the test.
	rows, err := s.db.Query(ctx, `SELECT call_id, conversation_id, day, toString(direction),
		isNotNull(date_connected), duration_ms, started_ms, ifNull(toUInt32(date_ended), 0)
		FROM calls FINAL
		WHERE target_type = ? AND target_id = ?
			AND started_at >= toDateTime(?) AND started_at < toDateTime(?)
			AND day >= toDate(?) AND day <= toDate(?)`,
		target.Type, uint64(target.ID), first.AddDate(0, 0, -2).Unix(), last.AddDate(0, 0, 3).Unix(),
		first.Format(time.DateOnly), last.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read the legs of %s from %s to %s: %w", target, first.Format(time.DateOnly), last.Format(time.DateOnly), err)
	}
	defer rows.Close()
	var out []StoredLeg
	for rows.Next() {
		var l StoredLeg
		var connected uint8
		var talk uint64
		var started int64
		var ended uint32
		if err := rows.Scan(&l.CallID, &l.ConversationID, &l.Day, &l.Direction, &connected, &talk, &started, &ended); err != nil {
			return nil, err
		}
		l.Day = time.Date(l.Day.Year(), l.Day.Month(), l.Day.Day(), 0, 0, 0, 0, time.UTC)
		l.Connected, l.Talk, l.Started = connected == 1, time.Duration(talk)*time.Millisecond, time.UnixMilli(started).UTC()
		if ended > 0 {
			l.Ended = time.Unix(int64(ended), 0).UTC()
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := s.classify(ctx, target, first, last, out); err != nil {
		return nil, err
	}
	return out, nil
}

// classify gives each inbound entry leg of legs, of target's days first
// to last, the class of its conversation. A conversation's day is its
// earliest leg's, which a day either side of its entry leg's covers.
func (s *Storage) classify(ctx context.Context, target dialpad.Target, first, last time.Time, legs []StoredLeg) error {
	rows, err := s.db.Query(ctx, `SELECT conversation_id, answered, toString(outcome), abandoned_before_agent, missed_by_agents
		FROM conversations FINAL
		WHERE target_type = ? AND target_id = ? AND direction = 'inbound'
			AND day >= toDate(?) AND day <= toDate(?)`,
		target.Type, uint64(target.ID), first.AddDate(0, 0, -1).Format(time.DateOnly), last.AddDate(0, 0, 1).Format(time.DateOnly))
	if err != nil {
		return fmt.Errorf("read the conversations of %s from %s to %s: %w", target, first.Format(time.DateOnly), last.Format(time.DateOnly), err)
	}
	defer rows.Close()
	classes := map[uint64]Class{}
	for rows.Next() {
		var id uint64
		var answered, abandoned, missed uint8
		var outcome string
		if err := rows.Scan(&id, &answered, &outcome, &abandoned, &missed); err != nil {
			return err
		}
		classes[id] = ourClass(answered == 1, outcome == "voicemail", abandoned == 1, missed == 1)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for i := range legs {
		if legs[i].entry() {
			legs[i].Class = classes[legs[i].CallID]
		}
	}
	return nil
}

// ourClass is the class of a conversation: answered; else voicemail;
// else abandoned before an agent rang; else missed by agents.
func ourClass(answered, voicemail, abandoned, missed bool) Class {
	switch {
	case answered:
		return ClassAnswered
	case voicemail:
		return ClassVoicemail
	case abandoned:
		return ClassAbandoned
	case missed:
		return ClassMissed
	}
	return ClassNone
}

// Reconciled is one target-day of a reconciliation run: a row of
// reconciliation.
type Reconciled struct {
	Target                 dialpad.Target
	Day                    time.Time
	RunID                  string
	CheckedAt              time.Time
	Status                 Status
	OurLegs, DialpadLegs   int
	OurConvs, DialpadConvs int
	OnlyDialpad, OnlyOurs  int
	Disagreeing            int
	Unreadable             int
	Reloaded               int
	ExportID               string
	ExportedAt             time.Time
	Error                  string

	// OurCategories and DialpadCategories count each side's inbound
	// entry legs of the day by class.
	OurCategories, DialpadCategories Categories
}

// Difference is one leg behind a reconciliation's difference: a row of
// reconciliation_diffs.
type Difference struct {
	Day           time.Time
	CallID        uint64
	Kind          Kind
	Ours, Dialpad string // each side's leg, as far as it differs
}

// Kind is what a Difference says of its leg; its value is written to
// reconciliation_diffs.kind.
type Kind string

// Kinds of difference.
const (
	KindOnlyDialpad Kind = "only_dialpad" // in Dialpad's export, not in ours: the loads missed it
	KindOnlyOurs    Kind = "only_ours"    // in ours, not in Dialpad's export
	KindDirection   Kind = "direction"    // inbound on one side, outbound on the other
	KindConnected   Kind = "connected"    // answered on one side only
	KindDuration    Kind = "duration"     // talk times apart beyond the export's rounding
	KindUnreadable  Kind = "unreadable"   // a row of the export that could not be read or placed
	KindReloaded    Kind = "reloaded"     // was only in Dialpad's; a re-load of its day brought it
	KindCategory    Kind = "category"     // an inbound entry leg the two sides class differently
)

// WriteReconciliation records a run's days of one target and the legs
// behind their differences.
func (s *Storage) WriteReconciliation(ctx context.Context, days []Reconciled, diffs []Difference) error {
	if len(days) == 0 {
		return nil
	}
	first := days[0]
	if len(diffs) > 0 {
		err := s.db.Send(ctx, "reconciliation_diffs", `INSERT INTO reconciliation_diffs (target_type, target_id, day, run_id,
			checked_at, call_id, kind, ours, dialpad)`, func(b driver.Batch) error {
			for _, d := range diffs {
				if err := b.Append(first.Target.Type, uint64(first.Target.ID), d.Day, first.RunID, first.CheckedAt.UTC(),
					d.CallID, string(d.Kind), d.Ours, d.Dialpad); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	// The days go last: a day's row says its differences are stored.
	return s.db.Send(ctx, "reconciliation", `INSERT INTO reconciliation (target_type, target_id, day, run_id, checked_at, checked_ms,
		status, our_legs, dialpad_legs, our_conversations, dialpad_conversations, only_dialpad, only_ours, disagreeing,
		unreadable, reloaded, export_id, exported_at, error, our_answered, our_voicemail, our_abandoned, our_missed,
		dialpad_answered, dialpad_voicemail, dialpad_abandoned, dialpad_missed)`, func(b driver.Batch) error {
		for _, r := range days {
			o, d := r.OurCategories, r.DialpadCategories
			if err := b.Append(r.Target.Type, uint64(r.Target.ID), r.Day, r.RunID, r.CheckedAt.UTC(), r.CheckedAt.UnixMilli(), string(r.Status),
				uint32(r.OurLegs), uint32(r.DialpadLegs), uint32(r.OurConvs), uint32(r.DialpadConvs),
				uint32(r.OnlyDialpad), uint32(r.OnlyOurs), uint32(r.Disagreeing), uint32(r.Unreadable),
				uint32(r.Reloaded), r.ExportID, r.ExportedAt.UTC(), r.Error,
				uint32(o.Answered), uint32(o.Voicemail), uint32(o.Abandoned), uint32(o.Missed),
				uint32(d.Answered), uint32(d.Voicemail), uint32(d.Abandoned), uint32(d.Missed)); err != nil {
				return err
			}
		}
		return nil
	})
}

// DaysOutOfAgreement counts, per target, the days from since on (a date)
// whose latest reconciliation is not a match.
func (s *Storage) DaysOutOfAgreement(ctx context.Context, since time.Time) (map[dialpad.Target]int, error) {
	rows, err := s.db.Query(ctx, `SELECT toString(target_type), target_id, countIf(latest != 'match')
		FROM (
			SELECT target_type, target_id, day, toString(argMax(status, checked_ms)) AS latest
			FROM reconciliation WHERE day >= toDate(?) GROUP BY target_type, target_id, day
		)
		GROUP BY target_type, target_id`, since.Format(time.DateOnly))
	if err != nil {
		return nil, fmt.Errorf("read the reconciliation: %w", err)
	}
	defer rows.Close()
	out := map[dialpad.Target]int{}
	for rows.Next() {
		var typ string
		var id, n uint64
		if err := rows.Scan(&typ, &id, &n); err != nil {
			return nil, err
		}
		out[dialpad.Target{Type: typ, ID: int64(id)}] = int(n)
	}
	return out, rows.Err()
}
