package transform

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/records"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// ExportLeg shapes rec, a row of target's records export of calls, into a
// leg as the call list would give it: the row becomes a wire.Call and goes
// through NewLeg, so status, conversation, entry leg, agent and day follow
// the same rules. Its Source is SourceExport and its Read the leg's start,
// which is before any read of the list or event of the leg: those replace
// it.
//
// Of a call's fields, the row gives:
//   - date_started, date_rang, date_connected, date_ended (to the precision
//     the CSV writes them), direction, target_id, target_type, name (the
//     target's), entry_point_call_id, master_call_id, external_number,
//     internal_number, was_recorded, mos_score, csat_score,
//     csat_transcriptions (a comment a line), contact_name;
//   - duration: talk_duration, in minutes to the decimals the CSV writes;
//   - total_duration: date_ended - date_started, as the list's is (the
//     leg's time from start to end, ringing included); 0 when the leg had
//     not ended;
//   - is_transferred: transferred_to is not empty;
//   - state: "voicemail" when categories has voicemail (so the leg counts
//     as a voicemail), else empty: the export has no state.
//
// The leg's QueuedMs, FirstRangMs and HoldMs, which the list lacks, come
// from date_queued, date_first_rang and hold_duration.
//
// The export has none of these, which stay empty: labels, the recordings
// and the voicemail link (recording_details, voicemail_share_link,
// call_recording_share_links), the contact's id, email, phone and type,
// entry_point_target, proxy_target, group_id and operator_call_id.
//
// Times are as records.Read placed them. A leg whose local times all fall
// in the hour repeated when clocks go back fits either hour
// (rec.StartedAlt), and takes the earlier: an export requested in UTC has
// no such legs.
//
// Call.Raw is the row as read (see exportRaw), so that the stored copy
// shows what the export said and its hash changes when the row does.
func ExportLeg(target dialpad.Target, rec *records.Record, loc *time.Location, names Names) Leg {
	c := &wire.Call{
		CallID:           rec.CallID,
		Direction:        rec.Direction,
		DateStarted:      ms(rec.Started),
		DateRang:         ms(rec.Rang),
		DateConnected:    ms(rec.Connected),
		DateEnded:        ms(rec.Ended),
		Duration:         wire.Float(float64(rec.Talk) / float64(time.Millisecond)),
		EntryPointCallID: rec.EntryPointCallID,
		MasterCallID:     rec.MasterCallID,
		Target:           wire.Party{ID: rec.TargetID, Type: rec.TargetType, Name: rec.TargetName},
		Contact:          wire.Party{Name: rec.ContactName},
		ExternalNumber:   rec.ExternalNumber,
		InternalNumber:   rec.InternalNumber,
		IsTransferred:    rec.TransferredTo != "",
		WasRecorded:      rec.WasRecorded,
		CSATScore:        rec.CSATScore,
		CSATComments:     rec.CSATComments,
	}
	if !rec.Ended.IsZero() && rec.Ended.After(rec.Started) {
		c.TotalDuration = wire.Float(float64(rec.Ended.Sub(rec.Started)) / float64(time.Millisecond))
	}
	if rec.MOS != nil {
		m := wire.Float(*rec.MOS)
		c.MOSScore = &m
	}
	if slices.Contains(rec.Categories, "voicemail") {
		c.State = "voicemail"
	}
	c.Raw = exportRaw(rec)
	l := NewLeg(target, c, loc, names)
	l.QueuedMs, l.FirstRangMs = int64(ms(rec.Queued)), int64(ms(rec.FirstRang))
	l.HoldMs = uint64(rec.Hold.Milliseconds())
	l.Source = SourceExport
	l.Read = rec.Started
	return l
}

// exportRaw is the JSON a leg from an export stores as its raw copy: an
// object of the row's cells that were read, under their column names,
// empty ones left out; times as epoch milliseconds in strings, as the
// list writes them (the CSV's naive local times placed in their zone),
// durations in milliseconds, categories and csat_transcriptions as
// arrays, and "source": "export". For example:
//
//	{"source":"export","call_id":"101","direction":"inbound",
//	 "categories":["incoming","answered"],"date_started":"1780308000250",
//	 "date_connected":"1780308150000","date_ended":"1780308300000",
//	 "talk_duration_ms":150000,"target_id":"7","target_type":"user",
//	 "was_recorded":false}
func exportRaw(rec *records.Record) json.RawMessage {
	type raw struct {
		Source           string   `json:"source"`
		CallID           string   `json:"call_id"`
		Direction        string   `json:"direction"`
		Categories       []string `json:"categories,omitempty"`
		Started          string   `json:"date_started"`
		Rang             string   `json:"date_rang,omitempty"`
		FirstRang        string   `json:"date_first_rang,omitempty"`
		Queued           string   `json:"date_queued,omitempty"`
		Connected        string   `json:"date_connected,omitempty"`
		Ended            string   `json:"date_ended,omitempty"`
		TalkMs           int64    `json:"talk_duration_ms"`
		HoldMs           int64    `json:"hold_duration_ms,omitempty"`
		TargetID         string   `json:"target_id,omitempty"`
		TargetType       string   `json:"target_type,omitempty"`
		Name             string   `json:"name,omitempty"`
		EntryPointCallID string   `json:"entry_point_call_id,omitempty"`
		MasterCallID     string   `json:"master_call_id,omitempty"`
		ExternalNumber   string   `json:"external_number,omitempty"`
		InternalNumber   string   `json:"internal_number,omitempty"`
		ContactName      string   `json:"contact_name,omitempty"`
		WasRecorded      bool     `json:"was_recorded"`
		MOS              *float64 `json:"mos_score,omitempty"`
		CSATScore        string   `json:"csat_score,omitempty"`
		CSATComments     []string `json:"csat_transcriptions,omitempty"`
		TransferredTo    string   `json:"transferred_to,omitempty"`
	}
	id := func(v wire.ID) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	at := func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return strconv.FormatInt(t.UnixMilli(), 10)
	}
	b, err := json.Marshal(raw{
		Source: "export", CallID: rec.CallID.String(), Direction: rec.Direction, Categories: rec.Categories,
		Started: at(rec.Started), Rang: at(rec.Rang), FirstRang: at(rec.FirstRang), Queued: at(rec.Queued),
		Connected: at(rec.Connected), Ended: at(rec.Ended), TalkMs: rec.Talk.Milliseconds(),
		HoldMs: rec.Hold.Milliseconds(), TargetID: id(rec.TargetID), TargetType: rec.TargetType,
		Name: rec.TargetName, EntryPointCallID: id(rec.EntryPointCallID), MasterCallID: id(rec.MasterCallID),
		ExternalNumber: rec.ExternalNumber, InternalNumber: rec.InternalNumber, ContactName: rec.ContactName,
		WasRecorded: rec.WasRecorded, MOS: rec.MOS, CSATScore: rec.CSATScore, CSATComments: rec.CSATComments,
		TransferredTo: rec.TransferredTo,
	})
	if err != nil {
		panic(err) // strings, numbers and a finite float always marshal
	}
	return b
}

// ms is t in epoch milliseconds, 0 for the zero time.
func ms(t time.Time) wire.Millis {
	if t.IsZero() {
		return 0
	}
	return wire.Millis(t.UnixMilli())
}
