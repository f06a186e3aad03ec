// Package transform turns Dialpad call legs into the rows of the
// warehouse, following the project's call model (docs/counting.md): one
// row per leg per target with its conversation, agent, status and
// reporting day.
//
// Conversations and agent days are aggregates over many legs, some loaded
// by earlier runs; package derive computes them from the warehouse's
// deduplicated legs, so this package only shapes single legs.
//
// It imports only dialpad, wire and records, whose legs it shapes.
package transform

import (
	"math"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Statuses of a leg. They are exclusive and cover every leg.
const (
	StatusCompleted = "completed" // connected
	StatusVoicemail = "voicemail" // not connected, left a voicemail
	StatusMissed    = "missed"    // inbound, not connected, no voicemail
	StatusCancelled = "cancelled" // outbound, never connected
)

// Leg is one row of the calls table.
type Leg struct {
	Target         dialpad.Target
	CallID         uint64
	ConversationID uint64
	IsEntryLeg     bool
	Direction      string
	Status         string
	AgentID        uint64
	AgentName      string
	StartedMs      int64
	Day            time.Time // midnight UTC of the reporting-zone date
	DurationMs     uint64
	TotalDuration  uint64
	RangMs         int64 // 0 when absent, like ConnectedMs and EndedMs
	ConnectedMs    int64
	EndedMs        int64
	HasVoicemail   bool
	// What only Dialpad's events and records exports tell (0 when
	// unknown): when the caller entered the queue, when an agent was
	// first rung, and the time on hold.
	QueuedMs, FirstRangMs int64
	HoldMs                uint64
	// Source is where the leg came from: SourceList (the zero value),
	// SourceEvent (shaped from its final event) or SourceExport (a row of
	// a records export).
	Source Source
	// Read is when the leg was received from Dialpad; the copy read last
	// wins, however late it is written. Zero means when it is written.
	Read time.Time

	Call *wire.Call // the decoded leg, for its raw fields
}

// Source is where a leg's copy came from, as calls.source stores it.
type Source string

// The sources of legs.
const (
	SourceList   Source = ""
	SourceEvent  Source = "event"
	SourceExport Source = "export"
)

// Column is the source as calls.source names it.
func (s Source) Column() string {
	if s == SourceList {
		return "list"
	}
	return string(s)
}

// Names looks up an agent's display name; ok is false when unknown.
type Names func(agentID int64) (name string, ok bool)

// NewLeg shapes call, listed under target, into a row. loc is the
// reporting time zone; names, if not nil, gives agents' display names,
// falling back to the leg's target name.
func NewLeg(target dialpad.Target, c *wire.Call, loc *time.Location, names Names) Leg {
	l := Leg{
		Target:         target,
		CallID:         uint64(c.CallID),
		ConversationID: uint64(ConversationID(c)),
		Direction:      c.Direction,
		Status:         Status(c),
		StartedMs:      int64(c.DateStarted),
		Day:            Day(int64(c.DateStarted), loc),
		DurationMs:     millis(c.Duration),
		TotalDuration:  millis(c.TotalDuration),
		RangMs:         int64(c.DateRang),
		ConnectedMs:    int64(c.DateConnected),
		EndedMs:        int64(c.DateEnded),
		HasVoicemail:   c.HasVoicemail(),
		Call:           c,
	}
	l.IsEntryLeg = l.CallID == l.ConversationID
	if c.Target.Type == "user" && c.Target.ID != 0 {
		l.AgentID = uint64(c.Target.ID)
		l.AgentName = c.Target.Name
		if names != nil {
			if n, ok := names(int64(c.Target.ID)); ok && n != "" {
				l.AgentName = n
			}
		}
	}
	return l
}

// EventLeg shapes the leg of a call event, like NewLeg, with the fields
// only events carry.
func EventLeg(target dialpad.Target, ev *wire.CallEvent, loc *time.Location, names Names) Leg {
	l := NewLeg(target, &ev.Call, loc, names)
	l.QueuedMs, l.FirstRangMs = max(int64(ev.DateQueued), 0), max(int64(ev.DateFirstRang), 0)
	l.HoldMs = millis(ev.HoldTime)
	l.Source = SourceEvent
	return l
}

// ConversationID is the id shared by every leg of one customer call: the
// entry point's call id, else the master call id, else the leg's own.
func ConversationID(c *wire.Call) wire.ID {
	return wire.ConversationOf(c.EntryPointCallID, c.MasterCallID, c.CallID)
}

// Status is completed when the leg connected; else voicemail when it shows
// a voicemail; else missed (inbound) or cancelled (outbound).
func Status(c *wire.Call) string {
	switch {
	case c.DateConnected > 0:
		return StatusCompleted
	case c.HasVoicemail():
		return StatusVoicemail
	case c.Direction == "inbound":
		return StatusMissed
	}
	return StatusCancelled
}

// Day is the calendar date of the instant ms in loc, as midnight UTC (the
// form a ClickHouse Date column stores).
func Day(ms int64, loc *time.Location) time.Time {
	y, m, d := time.UnixMilli(ms).In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// millis rounds a duration in ms to a whole, non-negative number.
func millis(f wire.Float) uint64 {
	if f <= 0 || math.IsNaN(float64(f)) {
		return 0
	}
	if f >= math.MaxUint64/2 {
		return math.MaxUint64 / 2
	}
	return uint64(math.Round(float64(f)))
}
