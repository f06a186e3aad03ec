package simulator

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/exports"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

func dispositionsBody(tz, rest string) string {
	return `{"export_type":"records","stat_type":"dispositions","timezone":"` + tz + `"` + rest + `}`
}

// downloadCSV polls export id, which must be complete, and returns its
// CSV's rows, the header first.
func downloadCSV(t testing.TB, base, id string) [][]string {
	t.Helper()
	st := pollExport(t, base, id)
	if st.Status != "complete" {
		t.Fatalf("export %s: %+v, want complete", id, st)
	}
	code, h, body := send(t, http.MethodGet, st.DownloadURL, "", nil)
	if code != 200 || h.Get("Content-Type") != "text/csv" {
		t.Fatalf("download: %d %s %.200s", code, h.Get("Content-Type"), body)
	}
	all, err := csv.NewReader(bytes.NewReader(body)).ReadAll()
	if err != nil || len(all) == 0 {
		t.Fatalf("not a CSV with a header: %v\n%.300s", err, body)
	}
	return all
}

// byName turns CSV rows after the header into maps by column name.
func byName(all [][]string) []map[string]string {
	rows := make([]map[string]string, len(all)-1)
	for i, rec := range all[1:] {
		rows[i] = map[string]string{}
		for j, col := range all[0] {
			rows[i][col] = rec[j]
		}
	}
	return rows
}

// TestDispositionsExport: the rows are the dispositions of the target's
// connected agent legs that ended by the request and started in its
// days, oldest first, each row naming the list's leg, agent and target.
func TestDispositionsExport(t *testing.T) {
	at := simtest.End.Add(-3 * 24 * time.Hour).Add(15 * time.Hour) // 11:00 on a Friday in New York
	c := simtest.NewClock(at)
	s := newTestSim(t, Config{Now: c.Now, ExportDelay: -1})
	srv := serve(t, s)
	ny, _ := time.LoadLocation("America/New_York")
	co := s.tr.Company()
	cc, agentParty := 2, co.Groups[2].Members[1]
	y, m, d := at.In(ny).Date()
	from := time.Date(y, m, d-3, 0, 0, 0, 0, ny) // three days ago to today, by the request
	goingAll := 0
	for _, tc := range []struct {
		name   string
		target dialpad.Target
		named  string // the target's name
	}{{"call center", co.Target(cc), co.Parties[cc].Name}, {"its agent", co.Target(agentParty), co.Parties[agentParty].Name}} {
		c.Set(at)
		e := startExport(t, srv.URL, dispositionsBody("America/New_York", `,"is_today":false,"days_ago_start":0,"days_ago_end":3`+targetFields(tc.target)))
		all := downloadCSV(t, srv.URL, e.RequestID)
		if !slices.Equal(all[0], exports.DefaultDispositionColumns) {
			t.Fatalf("%s: header %v, want %v", tc.name, all[0], exports.DefaultDispositionColumns)
		}
		rows := byName(all)

		c.Set(at.Add(6 * time.Hour)) // the legs going at the request have ended: the list shows them
		list := simtest.DecodeLegs(t, s.Legs(tc.target, from, at.Add(time.Millisecond)))
		oldestFirst(list)
		var want []simtest.Decoded // the connected agent legs ended by the request, with a row each
		legs, going := map[string]simtest.Decoded{}, 0
		for _, l := range list {
			if l.DateConnected == 0 || l.Target.Type != "user" || l.EntryPointTarget.Type != "callcenter" {
				continue
			}
			if int64(l.DateEnded) > at.UnixMilli() {
				going++
				continue
			}
			legs[l.CallID.String()] = l
			want = append(want, l)
		}
		if len(want) < 20 {
			t.Fatalf("%s: %d connected agent legs ended by the request: the test shows little", tc.name, len(want))
		}
		goingAll += going
		var order []string
		perLeg := map[string][]string{}
		notes := 0
		for _, r := range rows {
			l, ok := legs[r["call_id"]]
			if !ok {
				t.Fatalf("%s: row %v is no connected agent leg of the target that ended by the request", tc.name, r)
			}
			if len(order) == 0 || order[len(order)-1] != r["call_id"] {
				order = append(order, r["call_id"])
			}
			perLeg[r["call_id"]] = append(perLeg[r["call_id"]], r["disposition"])
			started, err := time.ParseInLocation(time.DateTime, r["date_started"], ny)
			for col, want := range map[string]string{"timezone": "America/New_York", "target_type": tc.target.Type,
				"target_id": fmt.Sprint(tc.target.ID), "name": tc.named, "agent_name": l.Target.Name, "agent_email": l.Target.Email} {
				if r[col] != want {
					t.Errorf("%s: leg %s: %s %q, want %q", tc.name, r["call_id"], col, r[col], want)
				}
			}
			if err != nil || started.UnixMilli() != int64(l.DateStarted) || r["disposition"] == "" {
				t.Errorf("%s: leg %s: date_started %q (the list's %d), disposition %q", tc.name, r["call_id"], r["date_started"], l.DateStarted, r["disposition"])
			}
			if r["notes"] != "" {
				notes++
			}
		}
		var wantOrder []string
		for _, l := range want {
			if len(perLeg[l.CallID.String()]) > 0 {
				wantOrder = append(wantOrder, l.CallID.String())
			}
		}
		if !slices.Equal(order, wantOrder) {
			t.Errorf("%s: the rows' legs are not the list's, oldest first, each once", tc.name)
		}
		twice := 0
		for id, ds := range perLeg {
			if len(ds) > 2 || len(ds) == 2 && ds[0] == ds[1] {
				t.Errorf("%s: leg %s: dispositions %q", tc.name, id, ds)
			}
			if len(ds) == 2 {
				twice++
			}
		}
		t.Logf("%s: %d rows, %d of %d legs with a disposition, %d with two, %d notes", tc.name, len(rows), len(perLeg), len(want), twice, notes)
		if n := len(perLeg); n < len(want)*6/10 || n > len(want)*9/10 || twice == 0 {
			t.Errorf("%s: %d of %d legs with a disposition (%d with two), want about four in five, a few with two", tc.name, n, len(want), twice)
		}
	}

	if goingAll == 0 {
		t.Error("no agent leg was going at the request: the test shows nothing of it")
	}

	// A department has no dispositions: the header alone.
	c.Set(at)
	e := startExport(t, srv.URL, dispositionsBody("UTC", `,"days_ago_start":0,"days_ago_end":3`+targetFields(s.Targets()[0])))
	if all := downloadCSV(t, srv.URL, e.RequestID); len(all) != 1 {
		t.Errorf("a department's dispositions: %d rows, want the header alone", len(all)-1)
	}
}

func TestDispositionsExportBadRequests(t *testing.T) {
	s := newTestSim(t, Config{})
	srv := serve(t, s)
	cc := targetFields(s.Targets()[2])
	for _, c := range []struct {
		name, body string
		code       int
		message    string
	}{
		{"no target", dispositionsBody("UTC", ""), 400, "stat_type dispositions needs a target"},
		{"aggregated stats", `{"export_type":"stats","stat_type":"dispositions"` + cc + `}`, 400, "dispositions has records only"},
		{"target_type alone", dispositionsBody("UTC", `,"target_type":"callcenter"`), 400, "together"},
		{"unknown target", dispositionsBody("UTC", `,"target_type":"callcenter","target_id":123`), 404, "callcenter:123 not found"},
		{"csat", `{"export_type":"records","stat_type":"csat"` + cc + `}`, 400, "only records of calls and of dispositions"},
	} {
		code, _, body := postStats(t, srv.URL, c.body)
		if msg := errorMessage(t, body); code != c.code || !strings.Contains(msg, c.message) {
			t.Errorf("%s: %d %q, want %d with %q", c.name, code, msg, c.code, c.message)
		}
	}
	if st := s.Stats(); st.Exports != 0 {
		t.Errorf("refused requests counted as %d exports", st.Exports)
	}
}

// TestDispositionsExportColumns: the columns are a setting; an unknown
// one is refused.
func TestDispositionsExportColumns(t *testing.T) {
	cols := []string{"disposition", "disposition_id", "call_id", "entry_point_call_id", "contact_name", "date_ended"}
	s := newTestSim(t, Config{DispositionColumns: cols, ExportDelay: -1})
	srv := serve(t, s)
	e := startExport(t, srv.URL, dispositionsBody("UTC", `,"days_ago_start":1,"days_ago_end":7`+targetFields(s.Targets()[2])))
	all := downloadCSV(t, srv.URL, e.RequestID)
	if !slices.Equal(all[0], cols) || len(all) < 100 {
		t.Fatalf("header %v and %d rows, want %v and many", all[0], len(all)-1, cols)
	}
	ids := map[string]string{}
	for _, r := range byName(all) {
		if !simtest.IDPattern.MatchString(r["disposition_id"]) || !simtest.IDPattern.MatchString(r["entry_point_call_id"]) ||
			r["date_ended"] == "" || r["disposition"] == "" {
			t.Fatalf("row %v", r)
		}
		if id, ok := ids[r["disposition"]]; ok && id != r["disposition_id"] {
			t.Errorf("disposition %q has ids %s and %s", r["disposition"], id, r["disposition_id"])
		}
		ids[r["disposition"]] = r["disposition_id"]
	}
	if len(ids) < 4 {
		t.Errorf("%d distinct dispositions, want the company's several", len(ids))
	}
	for _, bad := range [][]string{{"call_id", "mood"}, {"call_id", "call_id"}} {
		if _, err := New(Config{DispositionColumns: bad}); err == nil {
			t.Errorf("columns %v accepted", bad)
		}
	}
}

// TestExportCategoriesOfEntryLegs: an entry leg neither answered nor
// taking a voicemail is abandoned when no agent rang, missed when one
// did, as Dialpad's Analytics counts them; the survey's comments, hostile
// text included, come through the CSV as the list has them.
func TestExportCategoriesOfEntryLegs(t *testing.T) {
	s := newTestSim(t, Config{ExportDelay: -1})
	srv := serve(t, s)
	rang := rangAgents(s)
	entries := map[wire.ID]bool{}
	comments := map[wire.ID]string{}
	for _, l := range s.tr.List() {
		if l.Flags&traffic.Entry != 0 {
			entries[wire.ID(l.ID)] = true
		}
	}
	for _, l := range simtest.AllLegs(t, s, s.cfg.Start, s.cfg.End) {
		// The file's line breaks are CR LF, a cell's too: a CR LF typed
		// in a comment reads back as LF, as every line break does.
		comments[l.CallID] = strings.ReplaceAll(strings.Join(l.CSATComments, "\n"), "\r\n", "\n")
	}
	e := startExport(t, srv.URL, recordsBody("America/New_York", `,"days_ago_start":1,"days_ago_end":10`))
	counts := map[[2]bool]int{}
	hostile := 0
	for _, r := range downloadRecords(t, srv.URL, e.RequestID) {
		n, err := strconv.ParseInt(r["call_id"], 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		id := wire.ID(n)
		if r["csat_transcriptions"] != comments[id] {
			t.Errorf("leg %s: csat_transcriptions %q, the list's %q", r["call_id"], r["csat_transcriptions"], comments[id])
		}
		if strings.ContainsAny(r["csat_transcriptions"], "\"\\\n<$'") {
			hostile++
		}
		if !entries[id] || r["categories"] == "incoming,answered" || r["categories"] == "incoming,voicemail" {
			continue
		}
		counts[[2]bool{rang[id], r["categories"] == "incoming,missed,abandoned"}]++
		if want := map[bool]string{true: "incoming,missed", false: "incoming,missed,abandoned"}[rang[id]]; r["categories"] != want {
			t.Errorf("entry leg %s, an agent rang %v: categories %q, want %q", r["call_id"], rang[id], r["categories"], want)
		}
	}
	t.Logf("unanswered entry legs without voicemail: %d missed by agents, %d abandoned before one rang; %d rows with hostile comments",
		counts[[2]bool{true, false}], counts[[2]bool{false, true}], hostile)
	if counts[[2]bool{true, false}] < 20 || counts[[2]bool{false, true}] < 20 || hostile < 10 {
		t.Errorf("missed %d, abandoned %d, hostile comments %d: want many of each", counts[[2]bool{true, false}], counts[[2]bool{false, true}], hostile)
	}
}

// TestDispositionsExportLivesLikeTheCallsExport: processing, then
// complete; an identical request within the hour gets it back, a calls
// export of the same days and target is another export.
func TestDispositionsExportLivesLikeTheCallsExport(t *testing.T) {
	c := simtest.NewClock(simtest.End)
	s := newTestSim(t, Config{Now: c.Now})
	srv := serve(t, s)
	body := `,"days_ago_start":3,"days_ago_end":4` + targetFields(s.Targets()[2]) // Thursday and Friday
	e := startExport(t, srv.URL, dispositionsBody("UTC", body))
	if st := pollExport(t, srv.URL, e.RequestID); st.Status != "processing" || st.DownloadURL != "" {
		t.Fatalf("at once %+v, want processing without a link", st)
	}
	again := startExport(t, srv.URL, dispositionsBody("UTC", body))
	calls := startExport(t, srv.URL, recordsBody("UTC", body))
	if !again.AlreadyStarted || again.RequestID != e.RequestID || calls.AlreadyStarted || calls.RequestID == e.RequestID {
		t.Errorf("the same request again: %+v; the calls export of the same days: %+v; want %s back, then a new one", again, calls, e.RequestID)
	}
	c.Set(simtest.End.Add(10 * time.Second))
	if all := downloadCSV(t, srv.URL, e.RequestID); len(all) < 50 || all[0][len(all[0])-1] != "notes" {
		t.Errorf("%d rows under %v, want many dispositions", len(all)-1, all[0])
	}
	if all := downloadCSV(t, srv.URL, calls.RequestID); !slices.Contains(all[0], "categories") {
		t.Errorf("the calls export's header %v", all[0])
	}
}
