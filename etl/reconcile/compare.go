package reconcile

import (
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
)

// comparison is a part's days and the legs behind their differences.
type comparison struct {
	days  []Reconciled // one per day, in order
	diffs []Difference
	first time.Time
}

func (c *comparison) byDay(d time.Time) *Reconciled {
	return &c.days[int(d.Sub(c.first)/(24*time.Hour))]
}

// compare matches an export's rows with our legs of the days from..to.
func compare(loc *time.Location, from, to time.Time, recs *records.Records, ours []StoredLeg, requested time.Time) *comparison {
	m := newMatching(loc, from, to, ours, requested)
	// Legs unfinished when the export was asked for, and rows that could
	// not be read, are out of the comparison of legs.
	m.setAsideBad(recs.Bad)
	for i := range recs.Rows {
		m.place(&recs.Rows[i])
	}
	m.countTheirs()
	m.countOurs(ours)
	m.finish()
	return m.comparison
}

// matching is the work of one compare: both sides by call id, and the
// legs left out of the comparison.
type matching struct {
	*comparison
	loc       *time.Location
	last      time.Time
	requested time.Time // when the export was asked for
	ours      map[uint64]*StoredLeg
	theirs    map[uint64]theirs // the rows placed on a day of the part
	skip      map[uint64]bool   // unreadable, or unfinished when the export was asked for
	// Conversations: the distinct conversation ids of each side's legs.
	ourConvs, theirConvs map[time.Time]map[uint64]bool
}

// theirs is a row of the export and the day it is placed on.
type theirs struct {
	rec *records.Record
	day time.Time
}

func newMatching(loc *time.Location, from, to time.Time, ours []StoredLeg, requested time.Time) *matching {
	m := &matching{comparison: &comparison{first: from}, loc: loc, last: to, requested: requested,
		ours: make(map[uint64]*StoredLeg, len(ours)), theirs: map[uint64]theirs{}, skip: map[uint64]bool{},
		ourConvs: map[time.Time]map[uint64]bool{}, theirConvs: map[time.Time]map[uint64]bool{}}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		m.days = append(m.days, Reconciled{Day: d})
	}
	for i := range ours {
		m.ours[ours[i].CallID] = &ours[i]
	}
	return m
}

func (m *matching) inRange(d time.Time) bool { return !d.Before(m.first) && !d.After(m.last) }

// unreadable counts a row of the export that cannot be compared on day
// d, when d is one of the part's.
func (m *matching) unreadable(d time.Time, id uint64, line int, why string) {
	if !m.inRange(d) {
		return
	}
	m.byDay(d).Unreadable++
	m.diffs = append(m.diffs, Difference{Day: d, CallID: id, Kind: KindUnreadable,
		Dialpad: "line " + strconv.Itoa(line) + ": " + why})
}

// setAsideBad counts the rows that could not be read on the day of our
// leg of the same call id, else of their own start (the part's first
// day when not even that can be read), and leaves our leg out.
func (m *matching) setAsideBad(bad []records.BadRow) {
	for _, b := range bad {
		d := m.first // when not even its start can be read
		if !b.StartedLocal.IsZero() {
			d = day(b.StartedLocal)
		}
		if l := m.ours[uint64(b.CallID)]; l != nil && b.CallID > 0 {
			d = l.Day
			m.skip[uint64(b.CallID)] = true
		}
		m.unreadable(d, uint64(b.CallID), b.Line, b.Reason)
	}
}

// place puts a row of the export on its day, unless it cannot be placed
// or had not ended when the export was asked for.
func (m *matching) place(rec *records.Record) {
	id := uint64(rec.CallID)
	if rec.Unplaced {
		d := day(rec.StartedLocal)
		if l := m.ours[id]; l != nil {
			d = l.Day
		}
		m.skip[id] = true
		m.unreadable(d, id, rec.Line, "its local times cannot be placed in its time zone")
		return
	}
	if !m.ended(rec) {
		m.skip[id] = true
		return
	}
	d := day(m.startOf(rec).In(m.loc))
	if !m.inRange(d) {
		return // the export's edges, in a zone Dialpad read differently
	}
	m.theirs[id] = theirs{rec, d}
}

// ended reports whether rec had ended when the export was asked for. A
// row without an end that started over unfinishedFor before is counted
// as unreadable.
func (m *matching) ended(rec *records.Record) bool {
	switch {
	case !rec.Ended.IsZero() && !rec.Ended.Before(m.requested):
		return false // ended after the export was asked for
	case rec.Ended.IsZero() && m.requested.Sub(rec.Started) < unfinishedFor:
		return false // still going then
	case rec.Ended.IsZero():
		m.unreadable(day(rec.Started.In(m.loc)), uint64(rec.CallID), rec.Line, "no date_ended, though it started "+
			m.requested.Sub(rec.Started).Round(time.Minute).String()+" before the export")
		return false
	}
	return true
}

// startOf is rec's start: of an ambiguous local time, the reading
// nearest our leg's.
func (m *matching) startOf(rec *records.Record) time.Time {
	started := rec.Started
	if l := m.ours[uint64(rec.CallID)]; l != nil {
		for _, alt := range rec.StartedAlt {
			if absDuration(alt.Sub(l.Started)) < absDuration(started.Sub(l.Started)) {
				started = alt
			}
		}
	}
	return started
}

// countTheirs counts Dialpad's legs, its inbound entry legs by class,
// the legs only in its export, and those on both sides that disagree.
func (m *matching) countTheirs() {
	for id, th := range m.theirs {
		if m.skip[id] {
			continue
		}
		dd := m.byDay(th.day)
		dd.DialpadLegs++
		addConv(m.theirConvs, th.day, uint64(th.rec.ConversationID()))
		if entry(th.rec) {
			dd.DialpadCategories.add(dialpadClass(th.rec))
		}
		l := m.ours[id]
		if l == nil || !l.Day.Equal(th.day) {
			dd.OnlyDialpad++
			m.diffs = append(m.diffs, Difference{Day: th.day, CallID: id, Kind: KindOnlyDialpad,
				Dialpad: describe(th.rec.Direction, th.rec.WasConnected(), th.rec.Talk)})
			continue
		}
		if diffs := disagreements(th.day, l, th.rec); len(diffs) > 0 {
			dd.Disagreeing++
			m.diffs = append(m.diffs, diffs...)
		}
	}
}

// disagreements are what our leg l and Dialpad's row of it, on day, say
// differently: direction, answered or not, talk time beyond the export's
// rounding and a second, and, of an inbound entry leg on both sides, its
// class.
func disagreements(day time.Time, l *StoredLeg, rec *records.Record) []Difference {
	var out []Difference
	add := func(kind Kind, ours, dialpad string) {
		out = append(out, Difference{Day: day, CallID: l.CallID, Kind: kind, Ours: ours, Dialpad: dialpad})
	}
	if l.Direction != rec.Direction {
		add(KindDirection, l.Direction, rec.Direction)
	}
	if l.Connected != rec.WasConnected() {
		add(KindConnected, answered(l.Connected), answered(rec.WasConnected()))
	}
	if absDuration(l.Talk-rec.Talk) > rec.TalkTolerance+time.Second {
		add(KindDuration, l.Talk.String(), rec.Talk.String())
	}
	if l.entry() && entry(rec) && l.Class != dialpadClass(rec) {
		add(KindCategory, l.Class.String(), dialpadClass(rec).String())
	}
	return out
}

// entry reports whether rec is an inbound entry leg: its call id is its
// conversation's, as our legs' are (StoredLeg.entry).
func entry(rec *records.Record) bool {
	return rec.ConversationID() == rec.CallID && rec.Direction == "inbound"
}

// dialpadClass is Dialpad's class of an inbound entry leg: the first of
// answered, voicemail, abandoned and missed that its categories hold
// (an abandoned leg is written "incoming,missed,abandoned").
func dialpadClass(rec *records.Record) Class {
	for _, c := range []Class{ClassAnswered, ClassVoicemail, ClassAbandoned, ClassMissed} {
		if slices.Contains(rec.Categories, string(c)) {
			return c
		}
	}
	return ClassNone
}

// countOurs counts our legs that had ended when the export was asked
// for, the inbound entry legs of them by class, and those not in
// Dialpad's export on the same day.
func (m *matching) countOurs(ours []StoredLeg) {
	for i := range ours {
		l := &ours[i]
		if m.skip[l.CallID] || !m.inRange(l.Day) || (!l.Ended.IsZero() && !l.Ended.Before(m.requested)) {
			continue
		}
		dd := m.byDay(l.Day)
		dd.OurLegs++
		addConv(m.ourConvs, l.Day, l.ConversationID)
		if l.entry() {
			dd.OurCategories.add(l.Class)
		}
		if th, ok := m.theirs[l.CallID]; !ok || !th.day.Equal(l.Day) {
			dd.OnlyOurs++
			m.diffs = append(m.diffs, Difference{Day: l.Day, CallID: l.CallID, Kind: KindOnlyOurs,
				Ours: describe(l.Direction, l.Connected, l.Talk)})
		}
	}
}

// finish counts each day's conversations and puts the differences in
// the order of day and call id.
func (m *matching) finish() {
	for i := range m.days {
		m.days[i].OurConvs, m.days[i].DialpadConvs = len(m.ourConvs[m.days[i].Day]), len(m.theirConvs[m.days[i].Day])
	}
	slices.SortFunc(m.diffs, func(a, b Difference) int {
		if x := a.Day.Compare(b.Day); x != 0 {
			return x
		}
		if a.CallID != b.CallID {
			if a.CallID < b.CallID {
				return -1
			}
			return 1
		}
		return 0
	})
}

func addConv(m map[time.Time]map[uint64]bool, d time.Time, id uint64) {
	if m[d] == nil {
		m[d] = map[uint64]bool{}
	}
	m[d][id] = true
}

func describe(direction string, connected bool, talk time.Duration) string {
	return fmt.Sprintf("%s, %s, talk %s", direction, answered(connected), talk)
}

func answered(b bool) string {
	if b {
		return "answered"
	}
	return "not answered"
}
