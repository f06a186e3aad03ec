package records

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Details are the columns of a row beyond those the reconciliation
// compares: what the call list's derived tables read of a leg, for a
// backfill from an export. Each is optional; a missing or empty cell reads as the zero
// value.
type Details struct {
	Rang      time.Time // date_rang
	Queued    time.Time // date_queued
	FirstRang time.Time // date_first_rang

	ExternalNumber string
	InternalNumber string
	TargetName     string // name: the target's display name
	ContactName    string
	TransferredTo  string // who the leg was transferred to; empty when it was not

	WasRecorded  bool
	MOS          *float64      // mos_score; nil when empty
	Hold         time.Duration // hold_duration
	CSATScore    string
	CSATComments []string // csat_transcriptions, one comment a line

	// Unread are the cells of these columns that could not be read (or a
	// time the clocks skipped), each with why: they read as empty. The
	// leg is whole without them, and a row is not lost over one.
	Unread []string
}

// parseDetails reads d of a row that started at started (zero when it
// could not be placed), its local times being in loc. The optional times
// are placed like date_connected: the earliest reading not before the
// start, to the cell's unit. A cell that cannot be read is left empty
// and noted in d.Unread.
func parseDetails(get func(string) string, loc *time.Location, started time.Time) (d Details) {
	unread := func(format string, a ...any) { d.Unread = append(d.Unread, fmt.Sprintf(format, a...)) }
	for _, f := range []struct {
		name string
		v    *time.Time
	}{{"date_rang", &d.Rang}, {"date_queued", &d.Queued}, {"date_first_rang", &d.FirstRang}} {
		v := get(f.name)
		if v == "" {
			continue
		}
		w, err := parseWall(v)
		if err != nil {
			unread("%s %q is not a time (want 2006-01-02 15:04:05)", f.name, v)
			continue
		}
		ts := instants(w, loc)
		if len(ts) == 0 {
			unread("%s %q is a time the clocks skipped in %s", f.name, v, loc)
			continue
		}
		*f.v = ts[len(ts)-1]
		unit := wallUnit(v)
		for _, t := range ts {
			if started.IsZero() || t.Add(unit).After(started) {
				*f.v = t
				break
			}
		}
	}
	for _, f := range []struct {
		name string
		v    *string
	}{{"external_number", &d.ExternalNumber}, {"internal_number", &d.InternalNumber}, {"name", &d.TargetName},
		{"contact_name", &d.ContactName}, {"transferred_to", &d.TransferredTo}, {"csat_score", &d.CSATScore}} {
		*f.v = strings.Clone(get(f.name))
	}
	if v := get("was_recorded"); v != "" {
		var err error
		if d.WasRecorded, err = strconv.ParseBool(v); err != nil {
			unread("was_recorded %q is neither true nor false", v)
		}
	}
	if v := get("mos_score"); v != "" {
		m, err := strconv.ParseFloat(v, 64)
		if err != nil || m < 0 || math.IsInf(m, 0) || math.IsNaN(m) {
			unread("mos_score %q is not a score", v)
		} else {
			d.MOS = &m
		}
	}
	if hold, _, err := parseMinutes(get("hold_duration")); err != nil {
		unread("hold_duration %q is not a number of minutes", get("hold_duration"))
	} else {
		d.Hold = hold
	}
	// One comment a line; a comment's own line breaks cannot be told from
	// the separator, so each line is a comment.
	for c := range strings.Lines(get("csat_transcriptions")) {
		if c = strings.TrimSpace(c); c != "" {
			d.CSATComments = append(d.CSATComments, strings.Clone(c))
		}
	}
	return d
}
