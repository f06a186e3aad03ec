package events

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Kinds of feedback: call_feedback.kind.
const (
	KindCSAT        = "csat"        // the survey's score and comments
	KindPCSAT       = "pcsat"       // Dialpad's predicted score
	KindDisposition = "disposition" // the dispositions the agent picked
)

// Sources of feedback: call_feedback.source.
const (
	SourceEvent  = "event"  // a call event of state csat, pcsat or dispositions
	SourceExport = "export" // the nightly dispositions export
)

// Feedback is what Dialpad tells of a leg after it ended, under one
// target: a row of call_feedback. Of one leg, target and kind the row
// told last (At) wins.
type Feedback struct {
	Target   dialpad.Target
	CallID   int64
	Kind     string
	Started  time.Time // the leg's start
	Score    string    // csat and pcsat: as Dialpad sent it
	Comments []string  // csat
	Names    []string  // disposition: sorted, each once
	Source   string
	// Extra holds an export row's columns that are not read, as a JSON
	// object ("{}" for none).
	Extra string
	At    time.Time // when Dialpad told it: the event's time, or when the export was asked for
}

// feedbackOf is what a call event of a feedback state tells of its leg,
// without its target; ok is false for another state, or one that tells
// nothing (a csat with neither score nor comments, no dispositions).
func feedbackOf(e *wire.CallEvent) (f Feedback, ok bool) {
	f = Feedback{CallID: int64(e.CallID), Started: time.UnixMilli(int64(e.DateStarted)).UTC(), Source: SourceEvent,
		Extra: "{}", At: time.UnixMilli(int64(e.EventTimestamp)).UTC()}
	switch e.State {
	case "csat":
		f.Kind, f.Score = KindCSAT, e.CSATScore
		for _, c := range e.CSATComments {
			if c != "" {
				f.Comments = append(f.Comments, c)
			}
		}
		return f, f.Score != "" || len(f.Comments) > 0
	case "pcsat":
		f.Kind, f.Score = KindPCSAT, string(e.PCSATScore)
		return f, f.Score != ""
	case "dispositions":
		f.Kind, f.Names = KindDisposition, SortedNames(e.Dispositions)
		return f, len(f.Names) > 0
	}
	return Feedback{}, false
}

// SortedNames are names sorted, each once, without empty ones.
func SortedNames(names []string) []string {
	out := slices.DeleteFunc(slices.Clone(names), func(s string) bool { return s == "" })
	slices.Sort(out)
	return slices.Compact(out)
}

// WriteFeedback stores rows of call_feedback, in one insert, versioned
// by when Dialpad told each: a repeat leaves one row, and of a leg,
// target and kind the latest wins, whatever the order of arrival.
func (s *Storage) WriteFeedback(ctx context.Context, rows []Feedback) error {
	if len(rows) == 0 {
		return nil
	}
	return s.db.Send(ctx, "call_feedback", `INSERT INTO call_feedback (target_type, target_id, call_id, kind,
		started_at, score, comments, names, source, extra, at, version)`,
		func(b driver.Batch) error {
			for _, f := range rows {
				extra := f.Extra
				if extra == "" {
					extra = "{}"
				}
				if err := b.Append(f.Target.Type, uint64(f.Target.ID), uint64(f.CallID), f.Kind, f.Started.UTC(),
					f.Score, nonNil(f.Comments), nonNil(f.Names), f.Source, extra, f.At.UTC(), db.Version(f.At)); err != nil {
					return fmt.Errorf("feedback %s of leg %d: %w", f.Kind, f.CallID, err)
				}
			}
			return nil
		})
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
