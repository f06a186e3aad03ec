package simulator

import (
	"bytes"
	"cmp"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// send sends a request with body (none when "") and the headers h, and
// returns the status, headers and body.
func send(t testing.TB, method, u, body string, h http.Header) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, u, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, u, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, u, err)
	}
	return resp.StatusCode, resp.Header, b
}

var withKey = http.Header{"Authorization": {"Bearer sim-token"}, "Content-Type": {"application/json"}}

// postStats POSTs body to /api/v2/stats with the key.
func postStats(t testing.TB, base, body string) (int, http.Header, []byte) {
	t.Helper()
	return send(t, http.MethodPost, base+"/api/v2/stats", body, withKey)
}

type started struct {
	AlreadyStarted bool   `json:"already_started"`
	RequestID      string `json:"request_id"`
}

// startExport POSTs body and returns the answer, failing unless 200.
func startExport(t testing.TB, base, body string) started {
	t.Helper()
	code, _, b := postStats(t, base, body)
	var out started
	if err := json.Unmarshal(b, &out); code != 200 || err != nil || !simtest.IDPattern.MatchString(out.RequestID) {
		t.Fatalf("POST /api/v2/stats %s: %d %s", body, code, b)
	}
	return out
}

type statsStatus struct {
	Status      string `json:"status"`
	DownloadURL string `json:"download_url"`
	FileType    string `json:"file_type"`
}

// pollExport returns the status of export id, failing unless 200.
func pollExport(t testing.TB, base, id string) statsStatus {
	t.Helper()
	code, _, b := send(t, http.MethodGet, base+"/api/v2/stats/"+id, "", withKey)
	var out statsStatus
	if err := json.Unmarshal(b, &out); code != 200 || err != nil {
		t.Fatalf("GET /api/v2/stats/%s: %d %s", id, code, b)
	}
	return out
}

// downloadRecords polls export id, which must be complete, downloads
// its CSV without credentials and returns the rows by column name.
func downloadRecords(t testing.TB, base, id string) []map[string]string {
	t.Helper()
	st := pollExport(t, base, id)
	if st.Status != "complete" || st.FileType != "csv" || !strings.HasPrefix(st.DownloadURL, base+"/_sim/exports/") {
		t.Fatalf("export %s: %+v, want complete with a csv at this server", id, st)
	}
	code, h, body := send(t, http.MethodGet, st.DownloadURL, "", nil)
	if code != 200 || h.Get("Content-Type") != "text/csv" {
		t.Fatalf("download: %d %s %.200s", code, h.Get("Content-Type"), body)
	}
	return parseRecords(t, body)
}

// parseRecords reads a CSV by its header, as a client must.
func parseRecords(t testing.TB, body []byte) []map[string]string {
	t.Helper()
	all, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(all) == 0 {
		t.Fatalf("the export is not a CSV with a header: %v", err)
	}
	for _, col := range []string{"call_id", "date_started", "date_connected", "date_ended", "timezone", "direction",
		"categories", "talk_duration", "time_to_answer", "target_id", "target_type", "entry_point_call_id"} {
		if !slices.Contains(all[0], col) {
			t.Fatalf("the header %v lacks %s", all[0], col)
		}
	}
	rows := make([]map[string]string, len(all)-1)
	for i, rec := range all[1:] {
		rows[i] = map[string]string{}
		for j, col := range all[0] {
			rows[i][col] = rec[j]
		}
	}
	return rows
}

func recordsBody(tz string, rest string) string {
	return `{"export_type":"records","stat_type":"calls","timezone":"` + tz + `"` + rest + `}`
}

func targetFields(tg dialpad.Target) string {
	return fmt.Sprintf(`,"target_type":%q,"target_id":"%d"`, tg.Type, tg.ID)
}

// oldestFirst sorts legs as the export orders its rows.
func oldestFirst(legs []simtest.Decoded) {
	slices.SortFunc(legs, func(a, b simtest.Decoded) int {
		return cmp.Or(cmp.Compare(a.DateStarted, b.DateStarted), cmp.Compare(a.CallID, b.CallID))
	})
}

func minutesApart(a, b float64) bool { return math.Abs(a-b) > 0.005+1e-9 }

// rangAgents is the set of s's entry legs that have agent legs.
func rangAgents(s *Sim) map[wire.ID]bool {
	out := map[wire.ID]bool{}
	for _, l := range s.tr.List() {
		if l.EntryID != 0 {
			out[wire.ID(l.EntryID)] = true
		}
	}
	return out
}

// checkRowAgainstList fails unless row says what the list's item says;
// rang holds the entry legs whose call rang an agent.
func checkRowAgainstList(t *testing.T, row map[string]string, l simtest.Decoded, loc *time.Location, rang map[wire.ID]bool) {
	t.Helper()
	id := l.CallID.String()
	started, err := time.ParseInLocation(time.DateTime, row["date_started"], loc)
	if err != nil || started.UnixMilli() != int64(l.DateStarted) {
		t.Errorf("leg %s: date_started %q in %s is %v, the list's is %d", id, row["date_started"], loc, started, l.DateStarted)
	}
	if row["direction"] != l.Direction || row["timezone"] != loc.String() {
		t.Errorf("leg %s: direction %q timezone %q, want %q %q", id, row["direction"], row["timezone"], l.Direction, loc)
	}
	if (row["date_connected"] != "") != (l.DateConnected != 0) || (row["time_to_answer"] != "") != (l.DateConnected != 0) {
		t.Errorf("leg %s: date_connected %q time_to_answer %q, the list's date_connected %d", id, row["date_connected"], row["time_to_answer"], l.DateConnected)
	}
	if l.DateConnected != 0 {
		tta, _ := strconv.ParseFloat(row["time_to_answer"], 64)
		if minutesApart(tta, float64(l.DateConnected-l.DateStarted)/60000) {
			t.Errorf("leg %s: time_to_answer %s min, the list says %d ms", id, row["time_to_answer"], l.DateConnected-l.DateStarted)
		}
	}
	talk, err := strconv.ParseFloat(row["talk_duration"], 64)
	if err != nil || minutesApart(talk, float64(l.Duration)/60000) {
		t.Errorf("leg %s: talk_duration %q min, the list's duration %v ms", id, row["talk_duration"], l.Duration)
	}
	if row["date_ended"] == "" {
		t.Errorf("leg %s: no date_ended", id)
	}
	mos := ""
	if l.MOSScore != nil {
		mos = fmt.Sprintf("%.2f", float64(*l.MOSScore))
	}
	entry, master := "", ""
	if l.EntryPointCallID != 0 {
		entry = l.EntryPointCallID.String()
	}
	if l.MasterCallID != 0 {
		master = l.MasterCallID.String()
	}
	for col, want := range map[string]string{"target_id": l.Target.ID.String(), "target_type": l.Target.Type,
		"name": l.Target.Name, "entry_point_call_id": entry, "master_call_id": master,
		"external_number": l.ExternalNumber, "internal_number": l.InternalNumber, "contact_name": l.Contact.Name,
		"was_recorded": strconv.FormatBool(l.WasRecorded), "mos_score": mos, "csat_score": l.CSATScore,
		"csat_transcriptions": strings.Join(l.CSATComments, "\n")} {
		if row[col] != want {
			t.Errorf("leg %s: %s %q, the list's %q", id, col, row[col], want)
		}
	}
	inbound, connected := l.Direction == "inbound", l.DateConnected != 0
	want := map[[2]bool]string{{true, true}: "incoming,answered", {false, true}: "outgoing", {false, false}: "outgoing,cancelled"}[[2]bool{inbound, connected}]
	switch {
	case inbound && !connected && l.HasVoicemail():
		want = "incoming,voicemail"
	case inbound && !connected && (l.Target.Type == "user" || rang[l.CallID]):
		want = "incoming,missed"
	case inbound && !connected:
		want = "incoming,missed,abandoned"
	}
	if row["categories"] != want {
		t.Errorf("leg %s (%s, connected %v): categories %q, want %q", id, l.Direction, connected, row["categories"], want)
	}
}

func TestExportLifecycle(t *testing.T) {
	c := simtest.NewClock(simtest.End)
	s := newTestSim(t, Config{Now: c.Now})
	srv := serve(t, s)
	ny, _ := time.LoadLocation("America/New_York")
	// simtest.End is 20:00 on 18 May in New York: days 2 to 4 ago are 14-16 May.
	from, to := time.Date(2025, 5, 14, 0, 0, 0, 0, ny), time.Date(2025, 5, 17, 0, 0, 0, 0, ny)
	dept, user := s.Targets()[0], s.tr.Company().Target(s.tr.Company().UserParty(1))
	var company []simtest.Decoded
	for _, l := range simtest.AllLegs(t, s, s.cfg.Start, s.cfg.End.Add(24*time.Hour)) {
		if l.DateStarted >= wire.Millis(from.UnixMilli()) && l.DateStarted < wire.Millis(to.UnixMilli()) {
			company = append(company, l)
		}
	}
	categories, rang := map[string]int{}, rangAgents(s)
	for _, tc := range []struct {
		name, target string
		want         []simtest.Decoded
	}{
		{"department", targetFields(dept), simtest.DecodeLegs(t, s.Legs(dept, from, to))},
		{"user, id as a number", fmt.Sprintf(`,"target_type":"user","target_id":%d`, user.ID), simtest.DecodeLegs(t, s.Legs(user, from, to))},
		{"company", "", company},
	} {
		c.Set(simtest.End)
		e := startExport(t, srv.URL, recordsBody("America/New_York", `,"days_ago_start":2,"days_ago_end":4`+tc.target))
		if e.AlreadyStarted {
			t.Errorf("%s: a first request is already started", tc.name)
		}
		if st := pollExport(t, srv.URL, e.RequestID); st.Status != "processing" || st.DownloadURL != "" {
			t.Fatalf("%s: at once %+v, want processing without a link", tc.name, st)
		}
		c.Set(simtest.End.Add(10 * time.Second))
		rows := downloadRecords(t, srv.URL, e.RequestID)

		oldestFirst(tc.want)
		var got, want []string
		for _, r := range rows {
			got = append(got, r["call_id"])
		}
		for _, l := range tc.want {
			want = append(want, l.CallID.String())
		}
		if len(want) < 20 || !slices.Equal(got, want) {
			t.Fatalf("%s: the CSV has %d legs, the list %d for those days (oldest first): not the same", tc.name, len(got), len(want))
		}
		for i, r := range rows {
			checkRowAgainstList(t, r, tc.want[i], ny, rang)
			categories[r["categories"]]++
		}
	}
	if len(categories) != 6 {
		t.Errorf("categories %v, want the six kinds of leg", categories)
	}
	if st := s.Stats(); st.Exports != 3 || st.ExportDownloads != 3 {
		t.Errorf("stats %+v, want 3 exports and 3 downloads", st)
	}
}

func TestExportIsASnapshotOfItsRequest(t *testing.T) {
	at := simtest.End.Add(-3 * 24 * time.Hour).Add(15 * time.Hour) // 11:00 on a Friday in New York
	c := simtest.NewClock(at)
	s := newTestSim(t, Config{Now: c.Now, ExportDelay: -1})
	srv := serve(t, s)
	ny, _ := time.LoadLocation("America/New_York")
	dept := s.Targets()[0]
	e := startExport(t, srv.URL, recordsBody("America/New_York", `,"is_today":true,"days_ago_start":3`+targetFields(dept)))
	link := pollExport(t, srv.URL, e.RequestID).DownloadURL
	c.Set(at.Add(30 * time.Minute)) // more calls end and start: the rows stay as they were at the request
	code, _, body := send(t, http.MethodGet, link, "", nil)
	if code != 200 {
		t.Fatalf("download: %d %s", code, body)
	}
	rows := parseRecords(t, body)

	c.Set(at.Add(6 * time.Hour)) // every leg started by the request has ended
	y, m, d := at.In(ny).Date()
	want := simtest.DecodeLegs(t, s.Legs(dept, time.Date(y, m, d, 0, 0, 0, 0, ny), at.Add(time.Millisecond)))
	oldestFirst(want)
	if len(rows) != len(want) {
		t.Fatalf("the CSV of today has %d legs, %d had started by the request", len(rows), len(want))
	}
	going, rang := 0, rangAgents(s)
	for i, r := range rows {
		l := want[i]
		if r["call_id"] != l.CallID.String() {
			t.Fatalf("row %d is leg %s, want %d", i, r["call_id"], l.CallID)
		}
		if int64(l.DateEnded) <= at.UnixMilli() {
			checkRowAgainstList(t, r, l, ny, rang)
			continue
		}
		going++
		connected := l.DateConnected != 0 && int64(l.DateConnected) <= at.UnixMilli()
		if r["date_ended"] != "" || r["talk_duration"] != "0" || (r["date_connected"] != "") != connected {
			t.Errorf("leg %s, still going at the request: date_ended %q talk_duration %q date_connected %q",
				r["call_id"], r["date_ended"], r["talk_duration"], r["date_connected"])
		}
	}
	if going == 0 {
		t.Error("no call was going at the request: the test shows nothing")
	}
	if code, _, body := send(t, http.MethodGet, link, "", nil); code != 403 || !strings.Contains(errorMessage(t, body), "expired") {
		t.Errorf("the link 6 hours later: %d %s, want 403 expired", code, body)
	}
	code, _, body = send(t, http.MethodGet, srv.URL+"/api/v2/stats/"+e.RequestID, "", withKey)
	if code != 404 || !strings.Contains(errorMessage(t, body), "not found") {
		t.Errorf("the request id 6 hours later: %d %s, want 404", code, body)
	}
}

func TestExportNaiveTimesAcrossDST(t *testing.T) {
	// New York falls back at 02:00 on 1 November 2026: 01:00-02:00 happens
	// twice and the day has 25 hours. The clock stands at 07:00 on 2 November
	// there: days 1 and 2 ago are 31 October and 1 November.
	s := newTestSim(t, Config{Start: time.Date(2026, 10, 31, 0, 0, 0, 0, time.UTC),
		End: time.Date(2026, 11, 2, 12, 0, 0, 0, time.UTC), CallsPerDay: 10_000, ExportDelay: -1})
	srv := serve(t, s)
	ny, _ := time.LoadLocation("America/New_York")
	dept := s.Targets()[0]
	e := startExport(t, srv.URL, recordsBody("America/New_York", `,"days_ago_start":1,"days_ago_end":2`+targetFields(dept)))
	rows := downloadRecords(t, srv.URL, e.RequestID)
	want := simtest.DecodeLegs(t, s.Legs(dept, time.Date(2026, 10, 31, 0, 0, 0, 0, ny), time.Date(2026, 11, 2, 0, 0, 0, 0, ny)))
	oldestFirst(want)
	if len(rows) != len(want) {
		t.Fatalf("the CSV has %d legs, the list %d for 31 October and 1 November in New York", len(rows), len(want))
	}
	ambiguous := 0
	for i, r := range rows {
		l := want[i]
		if r["call_id"] != l.CallID.String() || r["timezone"] != "America/New_York" {
			t.Fatalf("row %d: leg %s in %s, want %d in America/New_York", i, r["call_id"], r["timezone"], l.CallID)
		}
		for _, f := range []struct {
			col  string
			ms   wire.Millis
			frac bool
		}{{"date_started", l.DateStarted, true}, {"date_connected", l.DateConnected, true}, {"date_ended", l.DateEnded, false}} {
			if f.ms == 0 {
				continue
			}
			want := int64(f.ms)
			if !f.frac {
				want -= want % 1000
			}
			p, err := time.ParseInLocation(time.DateTime, r[f.col], ny)
			if err != nil {
				t.Fatalf("leg %d: %s %q: %v", l.CallID, f.col, r[f.col], err)
			}
			if p.UnixMilli() == want {
				continue
			}
			// A wall time of the repeated hour: the other offset must match.
			if q := p.Add(time.Duration(want-p.UnixMilli()) * time.Millisecond); q.In(ny).Format(time.DateTime) == p.Format(time.DateTime) &&
				(want-p.UnixMilli() == traffic.MsPerHour || want-p.UnixMilli() == -traffic.MsPerHour) {
				ambiguous++
				continue
			}
			t.Errorf("leg %d: %s %q in New York is %d, the list's %d", l.CallID, f.col, r[f.col], p.UnixMilli(), want)
		}
	}
	if ambiguous == 0 {
		t.Error("no time fell in the repeated hour: the test shows nothing")
	}
}

func TestExportDownloadRefusesCredentials(t *testing.T) {
	s := newTestSim(t, Config{ExportDelay: -1})
	srv := serve(t, s)
	e := startExport(t, srv.URL, recordsBody("UTC", ""))
	link := pollExport(t, srv.URL, e.RequestID).DownloadURL
	for _, c := range []struct {
		name string
		url  string
		h    http.Header
	}{
		{"Authorization header", link, http.Header{"Authorization": {"Bearer sim-token"}}},
		{"apikey parameter", link + "&apikey=sim-token", nil},
	} {
		code, _, body := send(t, http.MethodGet, c.url, "", c.h)
		if code != 400 || !strings.Contains(errorMessage(t, body), "Only one auth mechanism allowed") || strings.Contains(string(body), "sim-token") {
			t.Errorf("%s: %d %s, want 400 naming the one auth mechanism, without the key", c.name, code, body)
		}
	}
	last := link[len(link)-1:]
	flip := map[string]string{"0": "1"}[last]
	if flip == "" {
		flip = "0"
	}
	expires := link[strings.Index(link, "expires=")+8 : strings.Index(link, "&")]
	n, _ := strconv.ParseInt(expires, 10, 64)
	for name, u := range map[string]string{
		"tampered signature": link[:len(link)-1] + flip,
		"later expiry":       strings.Replace(link, "expires="+expires, fmt.Sprintf("expires=%d", n+3600), 1),
		"no signature":       link[:strings.Index(link, "&signature=")],
	} {
		if code, _, body := send(t, http.MethodGet, u, "", nil); code != 403 {
			t.Errorf("%s: %d %s, want 403", name, code, body)
		}
	}
	code, _, body := send(t, http.MethodGet, link, "", nil)
	if code != 200 || len(parseRecords(t, body)) < 100 {
		t.Errorf("the link as given: %d, %d bytes", code, len(body))
	}
	if st := s.Stats(); st.ExportDownloadsRefused != 2 || st.ExportDownloads != 1 || st.Requests != 2 {
		t.Errorf("stats %+v, want 2 downloads refused, 1 served, and only the POST and the poll counted as requests", st)
	}
}

func TestExportFaults(t *testing.T) {
	c := simtest.NewClock(simtest.End)
	s := newTestSim(t, Config{Now: c.Now, Faults: Faults{ExportFailRate: 1}})
	srv := serve(t, s)
	body := recordsBody("UTC", "")
	failed := startExport(t, srv.URL, body)
	if st := pollExport(t, srv.URL, failed.RequestID); st.Status != "processing" {
		t.Errorf("ExportFailRate 1, at once: %+v, want processing", st)
	}
	c.Set(simtest.End.Add(10 * time.Second))
	if st := pollExport(t, srv.URL, failed.RequestID); st.Status != "failed" || st.DownloadURL != "" {
		t.Errorf("ExportFailRate 1, after the delay: %+v, want failed without a link", st)
	}
	if again := startExport(t, srv.URL, body); again.AlreadyStarted || again.RequestID == failed.RequestID {
		t.Errorf("the same request after a failure: %+v, want a new export", again)
	}

	s.SetFaults(Faults{ExportSlowRate: 1, ExportSlowDelay: 30 * time.Minute})
	slow := startExport(t, srv.URL, recordsBody("UTC", targetFields(s.Targets()[1])))
	c.Set(simtest.End.Add(20 * time.Second))
	if st := pollExport(t, srv.URL, slow.RequestID); st.Status != "processing" {
		t.Errorf("ExportSlowRate 1, after ExportDelay: %+v, want still processing", st)
	}
	c.Set(simtest.End.Add(10*time.Second + 30*time.Minute + 10*time.Second))
	if st := pollExport(t, srv.URL, slow.RequestID); st.Status != "complete" {
		t.Errorf("ExportSlowRate 1, after ExportDelay and ExportSlowDelay: %+v, want complete", st)
	}

	code, _, b := send(t, http.MethodGet, srv.URL+"/api/v2/stats/4000000000000001", "", withKey)
	if code != 404 || !strings.Contains(errorMessage(t, b), "not found") {
		t.Errorf("unknown request id: %d %s, want 404", code, b)
	}
}

func TestExportFailuresFollowTheSeed(t *testing.T) {
	statuses := func() []string {
		c := simtest.NewClock(simtest.End)
		s := newTestSim(t, Config{Now: c.Now, Faults: Faults{ExportFailRate: 0.5}})
		srv := serve(t, s)
		var ids []string
		for i := range 24 {
			ids = append(ids, startExport(t, srv.URL, recordsBody("UTC", fmt.Sprintf(`,"days_ago_start":%d`, i))).RequestID)
		}
		c.Set(simtest.End.Add(time.Minute))
		var out []string
		for _, id := range ids {
			out = append(out, id+" "+pollExport(t, srv.URL, id).Status)
		}
		return out
	}
	a, b := statuses(), statuses()
	n := 0
	for _, st := range a {
		if strings.HasSuffix(st, " failed") {
			n++
		}
	}
	if !slices.Equal(a, b) || n < 4 || n > 20 {
		t.Errorf("ExportFailRate 0.5: %d of 24 failed; the same seed gave\n%v\nand\n%v", n, a, b)
	}
}

func TestExportStatsPerHour(t *testing.T) {
	s := newTestSim(t, Config{StatsPerHour: 2, RetryAfter: true, ExportDelay: -1})
	wall := simtest.NewClock(time.Date(2026, 3, 8, 6, 59, 0, 0, time.UTC)) // a fixed moment; the test moves it on an hour
	s.wall = wall.Now
	srv := serve(t, s)
	if code, _, _ := send(t, http.MethodPost, srv.URL+"/api/v2/stats", recordsBody("UTC", ""), nil); code != 401 {
		t.Fatalf("POST without a key: %d, want 401", code)
	}
	if code, _, _ := postStats(t, srv.URL, `{"export_type":"stats"}`); code != 400 {
		t.Fatalf("a bad POST: %d, want 400", code)
	}
	startExport(t, srv.URL, recordsBody("UTC", ""))
	code, h, body := postStats(t, srv.URL, recordsBody("UTC", ""))
	var e struct {
		Error struct {
			Code    int    `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	json.Unmarshal(body, &e)
	if ra, _ := strconv.Atoi(h.Get("Retry-After")); code != 429 || e.Error.Code != 429 || ra < 3590 || ra > 3600 {
		t.Errorf("the third POST of the hour (the refused one counts, the unauthorized one not): %d Retry-After %q %s, want 429 and about an hour",
			code, h.Get("Retry-After"), body)
	}
	if st := s.Stats(); st.RateLimited != 1 || st.Exports != 1 {
		t.Errorf("stats %+v, want 1 rate limited and 1 export", st)
	}
	wall.Set(wall.Now().Add(time.Hour))
	if got := startExport(t, srv.URL, recordsBody("UTC", "")); !got.AlreadyStarted {
		t.Errorf("an hour later on the wall clock: %+v, want the earlier export again", got)
	}
}

func TestExportIdenticalRequestsShareAnExport(t *testing.T) {
	c := simtest.NewClock(simtest.End)
	s := newTestSim(t, Config{Now: c.Now})
	srv := serve(t, s)
	dept := s.Targets()[0]
	first := startExport(t, srv.URL, recordsBody("Europe/Paris", `,"days_ago_start":2,"days_ago_end":5`+targetFields(dept)))
	for name, body := range map[string]string{
		"the same":                      recordsBody("Europe/Paris", `,"days_ago_start":2,"days_ago_end":5`+targetFields(dept)),
		"the pair reversed, id numeric": recordsBody("Europe/Paris", fmt.Sprintf(`,"days_ago_start":5,"days_ago_end":2,"target_id":%d,"target_type":"department","group_by":"user"`, dept.ID)),
	} {
		if got := startExport(t, srv.URL, body); !got.AlreadyStarted || got.RequestID != first.RequestID {
			t.Errorf("%s: %+v, want already started as %s", name, got, first.RequestID)
		}
	}
	today := startExport(t, srv.URL, recordsBody("Europe/Paris", `,"is_today":true`+targetFields(dept)))
	for name, body := range map[string]string{
		"another time zone": recordsBody("UTC", `,"days_ago_start":2,"days_ago_end":5`+targetFields(dept)),
		"another target":    recordsBody("Europe/Paris", `,"days_ago_start":2,"days_ago_end":5`+targetFields(s.Targets()[1])),
		"the company":       recordsBody("Europe/Paris", `,"days_ago_start":2,"days_ago_end":5`),
	} {
		if got := startExport(t, srv.URL, body); got.AlreadyStarted || got.RequestID == first.RequestID || got.RequestID == today.RequestID {
			t.Errorf("%s: %+v, want a new export", name, got)
		}
	}
	if got := startExport(t, srv.URL, recordsBody("Europe/Paris", `,"days_ago_start":0,"days_ago_end":0`+targetFields(dept))); got.RequestID != today.RequestID {
		t.Errorf("days 0 to 0 ago: %+v, want today's export %s", got, today.RequestID)
	}
	c.Set(simtest.End.Add(time.Hour))
	if got := startExport(t, srv.URL, recordsBody("Europe/Paris", `,"days_ago_start":2,"days_ago_end":5`+targetFields(dept))); got.AlreadyStarted {
		t.Errorf("an hour later: %+v, want a new export", got)
	}
	if st := s.Stats(); st.Exports != 9 {
		t.Errorf("stats %+v, want 9 exports (started or reused)", st)
	}
}

func TestExportBadRequests(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	for _, c := range []struct {
		name, body string
		code       int
		message    string
	}{
		{"not JSON", `export_type=records`, 400, "JSON object"},
		{"no export_type", `{"stat_type":"calls"}`, 400, "export_type is required"},
		{"aggregated stats", `{"export_type":"stats","stat_type":"calls"}`, 400, "only records of calls"},
		{"no stat_type", `{"export_type":"records"}`, 400, "stat_type is required"},
		{"texts", `{"export_type":"records","stat_type":"texts"}`, 400, "only records of calls"},
		{"target_type alone", recordsBody("UTC", `,"target_type":"department"`), 400, "together"},
		{"target_id alone", recordsBody("UTC", `,"target_id":"4869792674824192"`), 400, "together"},
		{"target_id not an integer", recordsBody("UTC", `,"target_type":"department","target_id":"sales"`), 400, "integer"},
		{"unknown target", recordsBody("UTC", `,"target_type":"department","target_id":123`), 404, "department:123 not found"},
		{"unknown timezone", recordsBody("Mars/Olympus_Mons", ""), 400, `unknown timezone "Mars/Olympus_Mons"`},
		{"the machine's time zone", recordsBody("Local", ""), 400, "unknown timezone"},
		{"negative day", recordsBody("UTC", `,"days_ago_start":-1`), 400, "days_ago_start -1 out of range"},
		{"day as a string", recordsBody("UTC", `,"days_ago_end":"7"`), 400, "invalid request body"},
	} {
		code, _, body := postStats(t, srv.URL, c.body)
		if msg := errorMessage(t, body); code != c.code || !strings.Contains(msg, c.message) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, code, msg, c.code, c.message)
		}
	}
	if code, _, body := send(t, http.MethodGet, srv.URL+"/api/v2/stats", "", withKey); code != 405 {
		t.Errorf("GET /api/v2/stats: %d %s, want 405", code, body)
	}
	if code, _, _ := send(t, http.MethodGet, srv.URL+"/api/v2/stats/1", "", nil); code != 401 {
		t.Errorf("a poll without a key: %d, want 401", code)
	}
	if st := s.Stats(); st.Exports != 0 {
		t.Errorf("refused requests counted as %d exports", st.Exports)
	}
}

// With ExportPollCSV the poll of a complete export answers with the CSV
// itself, byte for byte the file the link gives without it; an export
// still processing, or failed, answers JSON as before.
func TestExportPollAnswersTheCSV(t *testing.T) {
	c := simtest.NewClock(simtest.End)
	linked := newTestSim(t, Config{Now: c.Now})
	inPoll := newTestSim(t, Config{Now: c.Now, ExportPollCSV: true})
	failing := newTestSim(t, Config{Now: c.Now, ExportPollCSV: true, Faults: Faults{ExportFailRate: 1}})
	linkSrv, pollSrv, failSrv := serve(t, linked), serve(t, inPoll), serve(t, failing)
	body := recordsBody("America/New_York", `,"days_ago_start":1,"days_ago_end":3`)
	linkID, pollID, failID := startExport(t, linkSrv.URL, body).RequestID, startExport(t, pollSrv.URL, body).RequestID,
		startExport(t, failSrv.URL, body).RequestID
	if st := pollExport(t, pollSrv.URL, pollID); st.Status != "processing" || st.DownloadURL != "" {
		t.Errorf("at once: %+v, want JSON saying processing", st)
	}

	c.Set(simtest.End.Add(10 * time.Second))
	st := pollExport(t, linkSrv.URL, linkID)
	code, _, want := send(t, http.MethodGet, st.DownloadURL, "", nil)
	if code != 200 || len(parseRecords(t, want)) < 100 {
		t.Fatalf("the link: %d, %d bytes; want the export's CSV", code, len(want))
	}
	code, h, got := send(t, http.MethodGet, pollSrv.URL+"/api/v2/stats/"+pollID, "", withKey)
	if code != 200 || h.Get("Content-Type") != "text/csv; charset=utf-8" || !bytes.Equal(got, want) {
		t.Errorf("the poll of a complete export: %d %q, %d bytes; want 200 text/csv with the %d bytes the link gives",
			code, h.Get("Content-Type"), len(got), len(want))
	}
	if st := pollExport(t, failSrv.URL, failID); st.Status != "failed" {
		t.Errorf("a failed export: %+v, want JSON saying failed", st)
	}
	if st := inPoll.Stats(); st.ExportPollCSVs != 1 || st.ExportDownloads != 0 {
		t.Errorf("stats %+v, want 1 poll answered with the CSV and no download", st)
	}
	if st := linked.Stats(); st.ExportPollCSVs != 0 || st.ExportDownloads != 1 {
		t.Errorf("without ExportPollCSV: stats %+v, want 1 download and no CSV in a poll", st)
	}
}
