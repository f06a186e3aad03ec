package simulator

import (
	"crypto/hmac"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The records CSV of an export: a header, then one row per leg of the
// export's target (agent legs included, as the list has them) that
// started in its local days and by the time it was requested, oldest
// first. A leg still going then has no date_ended and no talk time yet,
// and only what had happened by then. Times are naive local times in the
// request's time zone, which every row's timezone column names; durations
// are minutes. The fields come from the same leg and the same helpers as
// the list's (encode.go), so the two agree on every leg.

// exportColumns are the CSV's columns, in Dialpad's order (not
// alphabetical; contact_name and csat_score are there for the reader to
// skip).
var exportColumns = []string{"date_started", "call_id", "timezone", "direction", "categories", "contact_name",
	"date_rang", "date_first_rang", "date_queued", "date_connected", "date_ended", "external_number",
	"internal_number", "target_id", "target_type", "name", "entry_point_call_id", "master_call_id",
	"talk_duration", "hold_duration", "time_to_answer", "csat_score", "was_recorded", "mos_score", "transferred_to"}

// serveExportDownload answers GET /_sim/exports/{id}.csv: a signed link,
// so a request that also carries credentials is refused, as a storage
// bucket's signed URL refuses a second auth mechanism.
func (s *Sim) serveExportDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	q := r.URL.Query()
	refused := ""
	switch {
	case len(r.Header.Values("Authorization")) > 0:
		refused = "Only one auth mechanism allowed; the link is signed, send no Authorization header"
	case q.Has("apikey"):
		refused = "Only one auth mechanism allowed; the link is signed, send no apikey parameter"
	}
	if refused != "" {
		s.stats.exportRefused.Add(1)
		writeError(w, http.StatusBadRequest, refused)
		return
	}
	name, _ := strings.CutPrefix(r.URL.Path, "/_sim/exports/")
	name, ok := strings.CutSuffix(name, ".csv")
	id, err := strconv.ParseInt(name, 10, 64)
	if !ok || err != nil {
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	sig, sigErr := hex.DecodeString(q.Get("signature"))
	if err != nil || sigErr != nil || !hmac.Equal(sig, s.linkMAC(id, expires)) {
		writeError(w, http.StatusForbidden, "the link's signature does not match")
		return
	}
	if s.now().Unix() > expires {
		writeError(w, http.StatusForbidden, "the link has expired: poll the stats request again for a new one")
		return
	}
	e := s.exports.lookup(id)
	if e == nil {
		writeError(w, http.StatusNotFound, "export not found")
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/csv")
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%d.csv"`, id))
	w.WriteHeader(http.StatusOK)
	s.stats.exportDownloads.Add(1)
	s.writeExportCSV(w, e)
}

// writeExportCSV writes e's CSV, rendering each row as it goes.
func (s *Sim) writeExportCSV(w http.ResponseWriter, e *export) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if cw.Write(exportColumns) != nil {
		return
	}
	ix := s.all
	if e.q.target.Type != "" {
		ix = s.index[e.q.target]
	}
	// ix is newest first: the rows are the run from the first leg that
	// started before the upper bound to the last that started in the days.
	legs := s.legs
	upper := min(e.q.to, e.created+1)
	first := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].started < upper })
	past := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].started < e.q.from })
	rec := make([]string, 0, len(exportColumns))
	for p := past - 1; p >= first; p-- {
		rec = s.appendRecord(rec[:0], &legs[ix[p]], e)
		if cw.Write(rec) != nil {
			return // the client went away
		}
	}
	cw.Flush()
}

// appendRecord appends l's row, as l stood when e was requested.
func (s *Sim) appendRecord(rec []string, l *leg, e *export) []string {
	c := s.co
	h, h2 := s.legHashes(l)
	at := e.created
	ended := l.ended <= at
	connected := l.connected >= 0 && l.started+int64(l.connected) <= at
	cust := &c.customers[l.contact]
	tgt := &c.parties[l.target]
	recorded := strconv.FormatBool(l.flags&fRecorded != 0 && connected)

	direction, rang, connectedAt, endedAt := "outbound", "", "", ""
	if l.flags&fInbound != 0 {
		direction = "inbound"
	}
	if l.rang >= 0 && l.started+int64(l.rang) <= at {
		rang = naiveTime(l.started+int64(l.rang), e.loc, false)
	}
	talk, toAnswer, csat, mos := "0", "", "", ""
	if connected {
		connectedAt = naiveTime(l.started+int64(l.connected), e.loc, true)
		toAnswer = minutes(float64(l.connected))
	}
	if ended {
		endedAt = naiveTime(l.ended, e.loc, false)
		if ms, frac := talkDuration(l, h); ms > 0 {
			talk = minutes(float64(ms*1000-frac) / 1000) // as appendMillisFrac writes it
		}
		csat = csatScore(l, h)
		if connected {
			mos = string(appendMOS(nil, h2))
		}
	}
	return append(rec,
		naiveTime(l.started, e.loc, true),     // date_started
		strconv.FormatInt(l.id, 10),           // call_id
		e.q.tz,                                // timezone
		direction,                             // direction
		recordCategories(l, connected, ended), // categories
		cust.name,                             // contact_name
		rang,                                  // date_rang
		rang,                                  // date_first_rang
		"",                                    // date_queued
		connectedAt,                           // date_connected
		endedAt,                               // date_ended
		cust.phone,                            // external_number
		c.internalParty(l).phone,              // internal_number
		strconv.FormatInt(tgt.id, 10),         // target_id
		tgt.typ,                               // target_type
		tgt.name,                              // name
		optionalID(entryPointID(l, h)),        // entry_point_call_id
		optionalID(masterID(l, h)),            // master_call_id
		talk,                                  // talk_duration
		"0",                                   // hold_duration
		toAnswer,                              // time_to_answer
		csat,                                  // csat_score
		recorded,                              // was_recorded
		mos,                                   // mos_score
		"",                                    // transferred_to
	)
}

// recordCategories is Dialpad's classification of a leg; a leg still
// ringing when the export was requested has no outcome yet.
func recordCategories(l *leg, connected, ended bool) string {
	inbound := l.flags&fInbound != 0
	switch {
	case !inbound && !connected && ended:
		return "outgoing,cancelled"
	case !inbound:
		return "outgoing"
	case connected:
		return "incoming,answered"
	case !ended:
		return "incoming"
	case l.flags&fVoicemail != 0:
		return "incoming,voicemail"
	case l.flags&fEntry != 0:
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
