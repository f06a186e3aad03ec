package transform_test

import (
	"bytes"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/exports"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
)

// Over the simulator, every leg a target's records export gives is the
// leg its call list gives, field by field, but for what the CSV writes
// coarser than the list:
//
//   - date_rang and date_ended are whole seconds, truncated, so RangMs and
//     EndedMs are the list's rounded down to the second, and
//     TotalDuration (date_ended - date_started, as the list defines it) is
//     under the list's by what was cut off date_ended: less than a second.
//     date_started and date_connected are written to the millisecond,
//     and are exact.
//   - talk_duration is minutes with two decimals: DurationMs is within
//     half of 0.01 minute (300 ms) of the list's.
//   - csat_transcriptions is the comments joined by line breaks: a
//     comment with a line break of its own reads back as several; the
//     text is the same.
//   - the export has what only events give the list: date_queued,
//     date_first_rang (whole seconds, truncated) and hold_duration (to
//     300 ms, like talk_duration). The list's leg has 0 for them; the
//     export's are the leg's events' (the simulator's traffic decides
//     them for both).
//
// An export in UTC places every time exactly. An export in New York, over
// the night its clocks go back, writes the legs of the repeated hour with
// times that fit either hour: those (and only those) may be placed an hour
// off, and are counted (88 legs in this traffic, 45 of them placed an
// hour off).
func TestExportLegsAreTheListsLegs(t *testing.T) {
	ny, chicago := zone(t, "America/New_York"), zone(t, "America/Chicago")
	from := time.Date(2025, 10, 29, 0, 0, 0, 0, ny)
	to := time.Date(2025, 11, 5, 0, 0, 0, 0, ny)
	now := to.Add(36 * time.Hour)
	tr := traffic.New(traffic.Config{Seed: 3, Start: from.AddDate(0, 0, -2), End: to.AddDate(0, 0, 1),
		CallsPerDay: 120, Location: ny, Now: func() time.Time { return now }, AlwaysOpen: true})
	st := exports.NewStore(tr, 3, nil)
	for _, tz := range []*time.Location{time.UTC, ny} {
		t.Run(tz.String(), func(t *testing.T) {
			seen := compareExport(t, tr, st, tz, chicago, from, to, now)
			t.Logf("%+v", seen)
			if seen.legs < 1000 || seen.transferred == 0 || seen.voicemail == 0 || seen.recorded == 0 || seen.csat == 0 ||
				seen.comments == 0 || seen.mos == 0 || seen.dst == 0 || seen.queued == 0 || seen.held == 0 {
				t.Errorf("the legs compared (%+v) do not cover every kind", seen)
			}
			if (tz == ny) != (seen.ambiguous > 0) {
				t.Errorf("%d legs of the export in %s had ambiguous times", seen.ambiguous, tz)
			}
		})
	}
}

// seen counts the kinds of legs compared.
type seen struct {
	legs, transferred, voicemail, recorded, csat, comments, mos, queued, held int

	dst          int // started before the clocks went back and ended after
	ambiguous    int // local times that fit either hour: not compared
	ambiguousOff int // of those, placed an hour off
}

// compareExport compares every target's export in tz with its list, the
// legs that started in [from, to), at now.
func compareExport(t *testing.T, tr *traffic.Traffic, st *exports.Store, tz, loc *time.Location, from, to, now time.Time) (n seen) {
	pos := map[wire.ID]int{}
	for p := range tr.List() {
		pos[wire.ID(tr.List()[p].ID)] = p
	}
	for _, target := range tr.Targets() {
		list := map[wire.ID]transform.Leg{}
		for _, raw := range tr.Legs(target, from, to) {
			c, err := wire.DecodeCall(raw)
			if err != nil {
				t.Fatalf("%s: list leg %s: %v", target, raw, err)
			}
			list[c.CallID] = transform.NewLeg(target, &c, loc, nil)
		}
		e, _ := st.Start(exports.Query{Stat: exports.StatCalls, Target: target, TZ: tz.String(),
			From: from.UnixMilli(), To: to.UnixMilli()}, tz, now.UnixMilli(), now, 0, exports.Faults{})
		var csv bytes.Buffer
		st.WriteCSV(&csv, e)
		got := map[wire.ID]bool{}
		err := records.Read(&csv, time.UTC, func(rec records.Record) error {
			if got[rec.CallID] {
				t.Errorf("%s: leg %d twice in the export", target, rec.CallID)
			}
			got[rec.CallID] = true
			want, ok := list[rec.CallID]
			if !ok {
				t.Errorf("%s: leg %d is in the export, not in the list", target, rec.CallID)
				return nil
			}
			if rec.Unplaced {
				t.Errorf("%s: leg %d: its local times could not be placed", target, rec.CallID)
			}
			if len(rec.StartedAlt) > 0 {
				n.ambiguous++
				if transform.ExportLeg(target, &rec, loc, nil).StartedMs != want.StartedMs {
					n.ambiguousOff++
				}
				return nil
			}
			got := transform.ExportLeg(target, &rec, loc, nil)
			compareLegs(t, got, want)
			compareEventTimes(t, tr, pos[rec.CallID], got)
			n.legs++
			c := want.Call
			count := func(p *int, b bool) {
				if b {
					*p++
				}
			}
			count(&n.transferred, c.IsTransferred)
			count(&n.voicemail, want.HasVoicemail)
			count(&n.recorded, c.WasRecorded)
			count(&n.csat, c.CSATScore != "")
			count(&n.comments, len(c.CSATComments) > 0)
			count(&n.mos, c.MOSScore != nil)
			count(&n.queued, got.QueuedMs != 0)
			count(&n.held, got.HoldMs != 0)
			_, off := time.UnixMilli(want.StartedMs).In(tr.Location()).Zone()
			_, offEnd := time.UnixMilli(want.EndedMs).In(tr.Location()).Zone()
			count(&n.dst, off != offEnd)
			return nil
		}, func(b records.BadRow) error {
			t.Errorf("%s: bad row %+v", target, b)
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		for id := range list {
			if !got[id] {
				t.Errorf("%s: leg %d is in the list, not in the export", target, id)
			}
		}
	}
	return n
}

// compareLegs checks an export's leg against the list's, to the
// precision of the CSV (see TestExportLegsAreTheListsLegs).
func compareLegs(t *testing.T, got, want transform.Leg) {
	t.Helper()
	gc, wc := got.Call, want.Call
	bad := func(field string, g, w any) {
		t.Helper()
		t.Errorf("%s leg %d: %s %v from the export, %v from the list", want.Target, want.CallID, field, g, w)
	}
	second := func(ms int64) int64 { return ms - ms%1000 }
	for _, f := range []struct {
		name string
		g, w any
	}{
		{"target", got.Target, want.Target},
		{"conversation", got.ConversationID, want.ConversationID},
		{"entry leg", got.IsEntryLeg, want.IsEntryLeg},
		{"direction", got.Direction, want.Direction},
		{"status", got.Status, want.Status},
		{"agent", got.AgentID, want.AgentID},
		{"agent name", got.AgentName, want.AgentName},
		{"started", got.StartedMs, want.StartedMs},
		{"day", got.Day, want.Day},
		{"rang", got.RangMs, second(want.RangMs)},
		{"connected", got.ConnectedMs, want.ConnectedMs},
		{"ended", got.EndedMs, second(want.EndedMs)},
		{"total duration", got.TotalDuration, uint64(max(second(want.EndedMs)-want.StartedMs, 0))},
		{"voicemail", got.HasVoicemail, want.HasVoicemail},
		{"source", got.Source, transform.SourceExport},
		{"leg target", gc.Target.Type + " " + gc.Target.ID.String() + " " + gc.Target.Name,
			wc.Target.Type + " " + wc.Target.ID.String() + " " + wc.Target.Name},
		{"transferred", gc.IsTransferred, wc.IsTransferred},
		{"recorded", gc.WasRecorded, wc.WasRecorded},
		{"external number", gc.ExternalNumber, wc.ExternalNumber},
		{"internal number", gc.InternalNumber, wc.InternalNumber},
		{"contact name", gc.Contact.Name, wc.Contact.Name},
		{"csat score", gc.CSATScore, wc.CSATScore},
		{"entry point, master", [2]wire.ID{gc.EntryPointCallID, gc.MasterCallID}, [2]wire.ID{wc.EntryPointCallID, wc.MasterCallID}},
	} {
		if f.g != f.w {
			bad(f.name, f.g, f.w)
		}
	}
	// The list's total_duration is date_ended - date_started less a
	// fraction of a millisecond.
	if d := int64(want.TotalDuration) - (want.EndedMs - want.StartedMs); d < -1 || d > 0 {
		bad("list's total duration against its times", want.TotalDuration, want.EndedMs-want.StartedMs)
	}
	if d := int64(got.DurationMs) - int64(want.DurationMs); d < -300 || d > 300 {
		bad("duration", got.DurationMs, want.DurationMs)
	}
	if strings.Join(gc.CSATComments, "\n") != strings.Join(wc.CSATComments, "\n") {
		bad("csat comments", gc.CSATComments, wc.CSATComments)
	}
	if (gc.MOSScore == nil) != (wc.MOSScore == nil) || gc.MOSScore != nil && *gc.MOSScore != *wc.MOSScore {
		bad("mos", gc.MOSScore, wc.MOSScore)
	}
}

// compareEventTimes checks the times only events tell of the export's
// leg got against the leg List()[p]'s, to the precision of the CSV.
func compareEventTimes(t *testing.T, tr *traffic.Traffic, p int, got transform.Leg) {
	t.Helper()
	l := &tr.List()[p]
	second := func(ms int64) int64 { return ms - ms%1000 }
	if want := second(traffic.Queued(l)); got.QueuedMs != want {
		t.Errorf("leg %d: queued %d from the export, %d from the events", l.ID, got.QueuedMs, want)
	}
	if want := second(tr.FirstRang(p)); got.FirstRangMs != want {
		t.Errorf("leg %d: first rang %d from the export, %d from the events", l.ID, got.FirstRangMs, want)
	}
	hs, he, _ := tr.Hold(l)
	if d := int64(got.HoldMs) - (he - hs); d < -300 || d > 300 {
		t.Errorf("leg %d: hold %d ms from the export, %d from the events", l.ID, got.HoldMs, he-hs)
	}
}

func zone(t *testing.T, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}
