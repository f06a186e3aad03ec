package records

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Record is one row of a records export of calls (POST /api/v2/stats,
// export_type "records", stat_type "calls"): one leg, keyed by the same
// call id as the call list. Times are instants (UTC); a zero time is an
// empty cell.
type Record struct {
	Line             int // the row's line in the file, the header being line 1
	CallID           wire.ID
	Direction        string   // inbound or outbound
	Categories       []string // Dialpad's own classification: incoming, answered, missed, ...
	Started          time.Time
	StartedLocal     time.Time // date_started's clock reading, as a UTC time: its date is the row's day
	Connected        time.Time
	Ended            time.Time
	Talk             time.Duration // talk_duration
	TalkTolerance    time.Duration // how far Talk can be from the exact talk time: half a unit of the export's precision
	TargetType       string
	TargetID         wire.ID
	EntryPointCallID wire.ID
	MasterCallID     wire.ID
	Details

	// StartedAlt are the other instants date_started can be, when its
	// local time is ambiguous (the hour repeated when clocks go back) and
	// the leg's other times do not tell which is meant; empty otherwise.
	StartedAlt []time.Time
	// Unplaced: no reading of the row's local times keeps date_started <=
	// date_connected <= date_ended, each to the precision it is written
	// with (or one of them does not exist in its zone); the leg is counted
	// as unmatched.
	Unplaced bool
}

// ConversationID is the id shared by every leg of one customer call, by
// the rule the call list's legs are grouped by (wire.ConversationOf).
func (r *Record) ConversationID() wire.ID {
	return wire.ConversationOf(r.EntryPointCallID, r.MasterCallID, r.CallID)
}

// WasConnected reports whether the leg was answered.
func (r *Record) WasConnected() bool { return !r.Connected.IsZero() }

// BadRow is a row of an export that could not be read.
type BadRow struct {
	Line         int
	CallID       wire.ID   // 0 when the call id itself could not be read
	StartedLocal time.Time // date_started's clock reading, as a UTC time; zero when unreadable
	Reason       string
}

// Records is a parsed export.
type Records struct {
	Rows []Record
	Bad  []BadRow
}

// The columns a records export must have; every other one is optional.
// Without date_ended no leg could be told finished, and none compared.
var requiredColumns = []string{"call_id", "date_started", "date_ended", "direction"}

// Parse reads a whole records export of calls (see Read) into memory.
// Every row's TalkTolerance is the file's: half a unit of the most
// decimals any of its talk_duration cells is written with, the finest.
func Parse(r io.Reader, zone *time.Location) (*Records, error) {
	out := &Records{}
	err := Read(r, zone, func(rec Record) error {
		out.Rows = append(out.Rows, rec)
		return nil
	}, func(b BadRow) error {
		out.Bad = append(out.Bad, b)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(out.Rows) == 0 {
		return out, nil
	}
	tolerance := out.Rows[0].TalkTolerance
	for _, rec := range out.Rows {
		tolerance = min(tolerance, rec.TalkTolerance)
	}
	for i := range out.Rows {
		out.Rows[i].TalkTolerance = tolerance
	}
	return out, nil
}

// Read reads a records export of calls as Dialpad writes it, a row at a
// time, so that an export of any size is read in the memory of one row:
// a header row naming the columns (read by name; unknown ones are
// ignored, missing optional ones read as empty), times as naive local
// times in the row's "timezone" (zone when the column is absent or
// empty), durations in minutes. Each row read is handed to row, with the
// TalkTolerance of its own talk_duration's precision; a row that cannot
// be read, to bad. Only a file that is not CSV or lacks a required
// column is an error, or an error of row or bad, which ends the reading
// and is returned as is.
func Read(r io.Reader, zone *time.Location, row func(Record) error, bad func(BadRow) error) error {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long row is a bad row, not a bad file
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return errors.New("the export is empty: no header row")
	}
	if err != nil {
		return fmt.Errorf("the export's header: %w", err)
	}
	col := map[string]int{}
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if _, dup := col[name]; !dup {
			col[name] = i
		}
	}
	for _, name := range requiredColumns {
		if _, ok := col[name]; !ok {
			return fmt.Errorf("the export has no %q column (its columns: %s)", name, strings.Join(header, ", "))
		}
	}
	width := len(header)
	zones := map[string]*time.Location{}
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return fmt.Errorf("reading the export: %w", err)
			}
			if err := bad(BadRow{Line: pe.Line, Reason: pe.Err.Error()}); err != nil {
				return err
			}
			continue
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // a blank line
		}
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(fields) {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		rec, dec, err := parseRecord(get, zone, zones)
		rec.Line = line
		if err == nil && len(fields) != width {
			err = fmt.Errorf("%d fields where the header has %d", len(fields), width)
		}
		if err != nil {
			started, _ := parseWall(get("date_started"))
			if err := bad(BadRow{Line: line, CallID: rec.CallID, StartedLocal: started, Reason: err.Error()}); err != nil {
				return err
			}
			continue
		}
		rec.TalkTolerance = minutesUnit(dec) / 2
		if err := row(rec); err != nil {
			return err
		}
	}
}

// parseRecord reads one row, and the decimals of its talk_duration.
func parseRecord(get func(string) string, zone *time.Location, zones map[string]*time.Location) (rec Record, decimals int, err error) {
	fail := func(format string, a ...any) (Record, int, error) { return rec, 0, fmt.Errorf(format, a...) }
	id, err := parseID(get("call_id"))
	if err != nil || id <= 0 {
		return fail("call_id %q is not a call id", get("call_id"))
	}
	rec.CallID = id
	// Kept fields are copied or constants: a field of encoding/csv's
	// holds its whole line.
	switch strings.ToLower(get("direction")) {
	case "inbound":
		rec.Direction = "inbound"
	case "outbound":
		rec.Direction = "outbound"
	default:
		return fail("direction %q is neither inbound nor outbound", get("direction"))
	}
	loc := zone
	if name := get("timezone"); name != "" {
		if loc = zones[name]; loc == nil {
			if loc, err = time.LoadLocation(name); err != nil {
				return fail("timezone %q is not a time zone", name)
			}
			zones[name] = loc
		}
	}
	var walls [3][]time.Time // date_started, date_connected, date_ended
	var units [3]time.Duration
	for i, name := range []string{"date_started", "date_connected", "date_ended"} {
		v := get(name)
		if v == "" {
			if i == 0 {
				return fail("date_started is empty")
			}
			continue
		}
		w, err := parseWall(v)
		if err != nil {
			return fail("%s %q is not a time (want 2006-01-02 15:04:05)", name, v)
		}
		if i == 0 {
			rec.StartedLocal = w
		}
		units[i] = wallUnit(v)
		walls[i] = instants(w, loc)
		if len(walls[i]) == 0 {
			rec.Unplaced = true // a local time the clocks skipped
		}
	}
	if rec.Talk, decimals, err = parseMinutes(get("talk_duration")); err != nil {
		return fail("talk_duration %q is not a number of minutes", get("talk_duration"))
	}
	for _, f := range []struct {
		name string
		v    *wire.ID
	}{{"target_id", &rec.TargetID}, {"entry_point_call_id", &rec.EntryPointCallID}, {"master_call_id", &rec.MasterCallID}} {
		if *f.v, err = parseID(get(f.name)); err != nil {
			return fail("%s %q is not an id", f.name, get(f.name))
		}
	}
	rec.TargetType = strings.Clone(get("target_type"))
	cats := get("categories")
	if cats == "" {
		cats = get("category") // the column before 2022
	}
	for c := range strings.SplitSeq(cats, ",") {
		if c = strings.ToLower(strings.TrimSpace(c)); c != "" {
			rec.Categories = append(rec.Categories, strings.Clone(c))
		}
	}
	if !rec.Unplaced {
		rec.place(walls, units, minutesUnit(decimals)/2)
	}
	rec.Details = parseDetails(get, loc, rec.Started)
	return rec, decimals, nil
}

// place chooses, for local times that can mean two instants, the reading
// that keeps started <= connected <= ended and, among those, the one whose
// talk time agrees with talk_duration. Readings that still differ in
// their start leave the others in StartedAlt.
//
// A cell stands for every instant up to its last written digit: Dialpad
// writes some times with microseconds and others in whole seconds, so a
// leg that rang for less than a second can end at 10:00:05 after
// starting at 10:00:05.078. A later time may therefore read as earlier by
// less than its own unit and still be in order.
func (rec *Record) place(walls [3][]time.Time, units [3]time.Duration, tolerance time.Duration) {
	opt := func(ts []time.Time) []time.Time {
		if len(ts) == 0 {
			return []time.Time{{}} // the empty cell: no constraint
		}
		return ts
	}
	// notBefore: the cell read as b (unit ub) can be at or after a.
	notBefore := func(b time.Time, ub time.Duration, a time.Time) bool {
		return b.IsZero() || a.IsZero() || b.Add(ub).After(a)
	}
	type reading struct{ s, c, e time.Time }
	var ok []reading
	for _, s := range walls[0] {
		for _, c := range opt(walls[1]) {
			for _, e := range opt(walls[2]) {
				if !notBefore(c, units[1], s) || !notBefore(e, units[2], s) || !notBefore(e, units[2], c) {
					continue
				}
				ok = append(ok, reading{s, c, e})
			}
		}
	}
	if len(ok) == 0 {
		rec.Unplaced = true
		return
	}
	if len(ok) > 1 && len(walls[1]) > 0 && len(walls[2]) > 0 {
		// The talk time tells readings of connected and ended apart.
		agree := slices.DeleteFunc(slices.Clone(ok), func(r reading) bool {
			return absDuration(r.e.Sub(r.c)-rec.Talk) > tolerance+time.Second
		})
		if len(agree) > 0 {
			ok = agree
		}
	}
	rec.Started, rec.Connected, rec.Ended = ok[0].s, ok[0].c, ok[0].e
	for _, r := range ok[1:] {
		if !r.s.Equal(rec.Started) && !slices.ContainsFunc(rec.StartedAlt, r.s.Equal) {
			rec.StartedAlt = append(rec.StartedAlt, r.s)
		}
	}
}

// wallUnit is the unit of a naive time's last written digit: a second
// without a fraction, a microsecond for "10:00:05.078000" (or
// "10:00:05,078000", which parseWall reads too).
func wallUnit(s string) time.Duration {
	i := strings.IndexAny(s, ".,")
	if i < 0 {
		return time.Second
	}
	unit := time.Second
	for range min(len(s)-i-1, 9) {
		unit /= 10
	}
	return unit
}

// parseWall reads a naive local time as the UTC instant with the same
// clock reading.
func parseWall(s string) (time.Time, error) {
	if t, err := time.Parse("2006-01-02 15:04:05.999999999", s); err == nil {
		return t, nil
	}
	return time.Parse("2006-01-02T15:04:05.999999999", s)
}

// instants returns every instant whose clock reading in loc is wall's (a
// UTC time holding that reading), earliest first: none for a reading the
// clocks skipped, two for one they repeated.
func instants(wall time.Time, loc *time.Location) []time.Time {
	var out []time.Time
	// Any offset in force within a day of the reading is a candidate.
	for _, probe := range []time.Duration{-26 * time.Hour, 0, 26 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		y, mo, d := t.In(loc).Date()
		h, mi, sec := t.In(loc).Clock()
		same := time.Date(y, mo, d, h, mi, sec, t.Nanosecond(), time.UTC).Equal(wall)
		if same && !slices.ContainsFunc(out, t.Equal) {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, time.Time.Compare)
	return out
}

// parseMinutes reads a duration in decimal minutes ("2.5" is 150 s) and
// the number of decimals it is written with.
func parseMinutes(s string) (d time.Duration, decimals int, err error) {
	if s == "" {
		return 0, 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, 0, fmt.Errorf("bad minutes %q", s)
	}
	if i := strings.IndexByte(s, '.'); i >= 0 {
		decimals = len(s) - i - 1
	}
	return time.Duration(math.Round(v * float64(time.Minute))), decimals, nil
}

// minutesUnit is a unit of the last of so many decimals of minutes.
func minutesUnit(decimals int) time.Duration {
	return time.Duration(math.Pow(10, -float64(min(decimals, 9))) * float64(time.Minute))
}

func parseID(s string) (wire.ID, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return wire.ID(n), err
}

func absDuration(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
