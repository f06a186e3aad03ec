package exports

import (
	"encoding/csv"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// The records CSV of an export: a header, then one row per leg of the
// export's target (agent legs included, as the list has them) that
// started in its local days and by the time it was requested, oldest
// first. A leg still going then has no date_ended and no talk time yet,
// and only what had happened by then. Times are naive local times in the
// request's time zone, which every row's timezone column names; durations
// are minutes. The fields come from the same leg and the same helpers as
// the list's (the traffic's encoding), so the two agree on every leg.

// exportColumns are the CSV's columns, in Dialpad's order (not
// alphabetical). contact_name, csat_score and csat_transcriptions are
// not among the columns API-NOTES names [assume]: a reader must do
// without them, and reads them when present. csat_transcriptions is
// [assume]: the
// survey's comments, as the list's csat_transcriptions has them, joined
// by line breaks; Dialpad does not publish the column. Every line break
// of the file is CR LF, those inside a cell too, so a CR LF typed in a
// comment reads back as one line break.
var exportColumns = []string{"date_started", "call_id", "timezone", "direction", "categories", "contact_name",
	"date_rang", "date_first_rang", "date_queued", "date_connected", "date_ended", "external_number",
	"internal_number", "target_id", "target_type", "name", "entry_point_call_id", "master_call_id",
	"talk_duration", "hold_duration", "time_to_answer", "csat_score", "csat_transcriptions", "was_recorded",
	"mos_score", "transferred_to"}

// WriteCSV writes e's CSV to w, rendering each row as it goes; it stops
// when a write fails (the client went away).
func (st *Store) WriteCSV(w io.Writer, e *Export) {
	if e.q.Stat == StatDispositions {
		st.writeDispositions(w, e)
		return
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if cw.Write(exportColumns) != nil {
		return
	}
	ix := st.tr.IndexAll()
	if e.q.Target.Type != "" {
		ix, _ = st.tr.Index(e.q.Target)
	}
	// ix is newest first: the rows are the run from the first leg that
	// started before the upper bound to the last that started in the days.
	legs := st.tr.List()
	upper := min(e.q.To, e.created+1)
	first := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started < upper })
	past := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started < e.q.From })
	rec := make([]string, 0, len(exportColumns))
	for p := past - 1; p >= first; p-- {
		rec = st.appendRecord(rec[:0], int(ix[p]), e)
		if cw.Write(rec) != nil {
			return // the client went away
		}
	}
	cw.Flush()
}

// appendRecord appends the row of the leg List()[p], as it stood when e
// was requested. date_queued, date_first_rang and hold_duration are those
// of the leg's events.
func (st *Store) appendRecord(rec []string, p int, e *Export) []string {
	l := &st.tr.List()[p]
	c := st.tr.Company()
	h, h2 := st.tr.LegHashes(l)
	at := e.created
	ended := l.Ended <= at
	connected := l.Connected >= 0 && l.Started+int64(l.Connected) <= at
	cust := &c.Customers[l.Contact]
	tgt := &c.Parties[l.Target]
	recorded := strconv.FormatBool(l.Flags&traffic.Recorded != 0 && connected)

	direction, rang, connectedAt, endedAt := "outbound", "", "", ""
	if l.Flags&traffic.Inbound != 0 {
		direction = "inbound"
	}
	if l.Rang >= 0 && l.Started+int64(l.Rang) <= at {
		rang = naiveTime(l.Started+int64(l.Rang), e.loc, false)
	}
	queued, firstRang, hold := "", "", "0"
	if q := traffic.Queued(l); q > 0 && q <= at {
		queued = naiveTime(q, e.loc, false)
	}
	if f := st.tr.FirstRang(p); f > 0 && f <= at {
		firstRang = naiveTime(f, e.loc, false)
	}
	if hs, he, ok := st.tr.Hold(l); ok && he <= at {
		hold = minutes(float64(he - hs))
	}
	talk, toAnswer, csat, comments, mos, transferredTo := "0", "", "", "", "", ""
	if connected {
		connectedAt = naiveTime(l.Started+int64(l.Connected), e.loc, true)
		toAnswer = minutes(float64(l.Connected))
	}
	if ended {
		endedAt = naiveTime(l.Ended, e.loc, false)
		if ms, frac := traffic.TalkDuration(l, h); ms > 0 {
			talk = minutes(float64(ms*1000-frac) / 1000) // as appendMillisFrac writes it
		}
		csat = traffic.CSATScore(l, h)
		comments = strings.Join(traffic.CSATComments(l, h), "\n")
		if connected {
			mos = string(traffic.AppendMOS(nil, h2))
		}
		// [assume] Dialpad does not document the column's value: the
		// display name of the user the call was handed to.
		if to := st.tr.TransferredTo(l); to != nil {
			transferredTo = c.Parties[to.Target].Name
		}
	}
	return append(rec,
		naiveTime(l.Started, e.loc, true),      // date_started
		strconv.FormatInt(l.ID, 10),            // call_id
		e.q.TZ,                                 // timezone
		direction,                              // direction
		recordCategories(l, connected, ended),  // categories
		cust.Name,                              // contact_name
		rang,                                   // date_rang
		firstRang,                              // date_first_rang
		queued,                                 // date_queued
		connectedAt,                            // date_connected
		endedAt,                                // date_ended
		cust.Phone,                             // external_number
		c.InternalParty(l).Phone,               // internal_number
		strconv.FormatInt(tgt.ID, 10),          // target_id
		tgt.Type,                               // target_type
		tgt.Name,                               // name
		optionalID(traffic.EntryPointID(l, h)), // entry_point_call_id
		optionalID(traffic.MasterID(l, h)),     // master_call_id
		talk,                                   // talk_duration
		hold,                                   // hold_duration
		toAnswer,                               // time_to_answer
		csat,                                   // csat_score
		comments,                               // csat_transcriptions
		recorded,                               // was_recorded
		mos,                                    // mos_score
		transferredTo,                          // transferred_to
	)
}

// recordCategories is Dialpad's classification of a leg; a leg still
// ringing when the export was requested has no outcome yet. An entry leg
// not answered and without a voicemail is abandoned when the caller hung
// up before any agent rang, and missed when agents rang and none answered,
// as Dialpad's Analytics counts them.
func recordCategories(l *traffic.Leg, connected, ended bool) string {
	inbound := l.Flags&traffic.Inbound != 0
	switch {
	case !inbound && !connected && ended:
		return "outgoing,cancelled"
	case !inbound:
		return "outgoing"
	case connected:
		return "incoming,answered"
	case !ended:
		return "incoming"
	case l.Flags&traffic.Voicemail != 0:
		return "incoming,voicemail"
	case l.Flags&traffic.Entry != 0 && l.Flags&traffic.AgentRang == 0:
		return "incoming,missed,abandoned"
	}
	return "incoming,missed"
}

// naiveTime is ms as a naive local time in loc, whole seconds (truncated)
// unless frac and the milliseconds are not zero.
func naiveTime(ms int64, loc *time.Location, frac bool) string {
	t := time.UnixMilli(ms).In(loc)
	if frac && ms%1000 != 0 {
		return t.Format("2006-01-02 15:04:05.000000")
	}
	return t.Format(time.DateTime)
}

// minutes writes ms as minutes, rounded to two decimals: "2.5", "0.02".
func minutes(ms float64) string {
	return strconv.FormatFloat(math.Round(ms/60_000*100)/100, 'f', -1, 64)
}

// optionalID writes id, or nothing for 0.
func optionalID(id int64) string {
	if id == 0 {
		return ""
	}
	return strconv.FormatInt(id, 10)
}
