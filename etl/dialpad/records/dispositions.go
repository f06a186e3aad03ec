package records

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Disposition is what a records export of dispositions (stat_type
// "dispositions") tells of one leg: the dispositions its agent picked,
// from all of the leg's rows (the export writes one row per leg and
// disposition).
type Disposition struct {
	Line         int // the leg's first row's line, the header being line 1
	CallID       wire.ID
	Started      time.Time // date_started, an instant (UTC)
	StartedLocal time.Time // date_started's clock reading, as a UTC time: its date is the row's day
	Names        []string  // sorted, each once
	// Extra holds the columns that are not read, as a JSON object: a
	// column's value when the leg's rows agree on it, else the array of
	// its distinct values in the order of the rows. Empty cells are left
	// out.
	Extra string
}

// Dispositions is a parsed export of dispositions: its legs in the
// order of their first rows, and the rows that could not be read.
type Dispositions struct {
	Calls []Disposition
	Bad   []BadRow
	Rows  int // the rows read, bad ones included
}

// The columns an export of dispositions must have, and those it reads.
var (
	dispositionColumns = []string{"call_id", "date_started", "disposition"}
	dispositionRead    = append(slices.Clone(dispositionColumns), "timezone")
)

// ParseDispositions reads a records export of dispositions row by row:
// a header naming the columns (read by name, whatever their order),
// date_started a naive local time in the row's "timezone" (zone when the
// column is absent or empty), disposition one name. The rows of one
// call_id make one Disposition; a row with an empty disposition adds
// none, and a leg without any is left out. A row that cannot be read is
// counted in Bad and skipped; only a file that is not CSV or lacks a
// required column is an error.
//
// Its columns are not published by Dialpad: the others (the target, the
// agent, notes, ...) are kept, by name, in Extra.
//
// A naive time the clocks repeated (the hour after they go back) reads
// as its earlier instant, one they skipped with the offset before the
// change: either way on the date of its clock reading.
func ParseDispositions(r io.Reader, zone *time.Location) (*Dispositions, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1 // a short or long row is a bad row, not a bad file
	header, err := cr.Read()
	if err == io.EOF {
		return nil, errors.New("the export is empty: no header row")
	}
	if err != nil {
		return nil, fmt.Errorf("the export's header: %w", err)
	}
	col := map[string]int{}
	var names []string // the header's names, in its order
	for i, name := range header {
		name = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(name, "\ufeff")))
		if _, dup := col[name]; !dup && name != "" {
			col[name] = i
			names = append(names, name)
		}
	}
	for _, name := range dispositionColumns {
		if _, ok := col[name]; !ok {
			return nil, fmt.Errorf("the export has no %q column (its columns: %s)", name, strings.Join(header, ", "))
		}
	}
	var extraCols []string
	for _, name := range names {
		if !slices.Contains(dispositionRead, name) {
			extraCols = append(extraCols, name)
		}
	}
	zones := map[string]*time.Location{}
	out := &Dispositions{}
	calls := map[wire.ID]*legRows{}
	var order []wire.ID
	for {
		fields, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if !errors.As(err, &pe) {
				return nil, fmt.Errorf("reading the export: %w", err)
			}
			out.Rows++
			out.Bad = append(out.Bad, BadRow{Line: pe.Line, Reason: pe.Err.Error()})
			continue
		}
		if len(fields) == 1 && strings.TrimSpace(fields[0]) == "" {
			continue // a blank line
		}
		out.Rows++
		line, _ := cr.FieldPos(0)
		get := func(name string) string {
			if i, ok := col[name]; ok && i < len(fields) {
				return strings.TrimSpace(fields[i])
			}
			return ""
		}
		id, started, local, err := dispositionRow(get, zone, zones)
		if err == nil && len(fields) != len(header) {
			err = fmt.Errorf("%d fields where the header has %d", len(fields), len(header))
		}
		if err != nil {
			out.Bad = append(out.Bad, BadRow{Line: line, CallID: id, StartedLocal: local, Reason: err.Error()})
			continue
		}
		c := calls[id]
		if c == nil {
			c = &legRows{d: Disposition{Line: line, CallID: id, Started: started, StartedLocal: local}, extra: map[string][]string{}}
			calls[id] = c
			order = append(order, id)
		}
		// Kept fields are copied: a field of encoding/csv's holds its
		// whole line.
		if name := get("disposition"); name != "" {
			c.d.Names = append(c.d.Names, strings.Clone(name))
		}
		for _, name := range extraCols {
			if v := get(name); v != "" && !slices.Contains(c.extra[name], v) {
				c.extra[name] = append(c.extra[name], strings.Clone(v))
			}
		}
	}
	for _, id := range order {
		c := calls[id]
		if len(c.d.Names) == 0 {
			continue
		}
		slices.Sort(c.d.Names)
		c.d.Names = slices.Compact(c.d.Names)
		c.d.Extra = c.extraJSON()
		out.Calls = append(out.Calls, c.d)
	}
	return out, nil
}

// legRows gathers the rows of one leg.
type legRows struct {
	d     Disposition
	extra map[string][]string // column -> its distinct non-empty values, in row order
}

func (c *legRows) extraJSON() string {
	obj := make(map[string]any, len(c.extra))
	for name, vs := range c.extra {
		if len(vs) == 1 {
			obj[name] = vs[0]
		} else {
			obj[name] = vs
		}
	}
	b, err := json.Marshal(obj) // sorted keys; HTML and invalid UTF-8 escaped
	if err != nil {
		return "{}"
	}
	return string(b)
}

// dispositionRow reads a row's call id and start.
func dispositionRow(get func(string) string, zone *time.Location, zones map[string]*time.Location) (id wire.ID, started, local time.Time, err error) {
	id, err = parseID(get("call_id"))
	if err != nil || id <= 0 {
		return 0, time.Time{}, time.Time{}, fmt.Errorf("call_id %q is not a call id", get("call_id"))
	}
	v := get("date_started")
	if v == "" {
		return id, time.Time{}, time.Time{}, errors.New("date_started is empty")
	}
	local, err = parseWall(v)
	if err != nil {
		return id, time.Time{}, time.Time{}, fmt.Errorf("date_started %q is not a time (want 2006-01-02 15:04:05)", v)
	}
	loc := zone
	if name := get("timezone"); name != "" {
		if loc = zones[name]; loc == nil {
			if loc, err = time.LoadLocation(name); err != nil {
				return id, time.Time{}, local, fmt.Errorf("timezone %q is not a time zone", name)
			}
			zones[name] = loc
		}
	}
	return id, placeStart(local, loc), local, nil
}

// placeStart is the instant of wall's clock reading in loc: the earlier
// of two when the clocks repeated it, and read with the offset before
// the change when they skipped it.
func placeStart(wall time.Time, loc *time.Location) time.Time {
	if ts := instants(wall, loc); len(ts) > 0 {
		return ts[0]
	}
	_, before := wall.Add(-26 * time.Hour).In(loc).Zone()
	return wall.Add(-time.Duration(before) * time.Second)
}
