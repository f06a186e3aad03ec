package grafana

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
)

// The Reasons & satisfaction dashboard, the overview's unanswered calls as
// Dialpad counts them and the scorecard's CSAT, over the hand-built calls
// of Tuesday 2026-01-20 (handbuilt.ReasonCalls and ReasonFeedback), on
// both engines. Every figure is worked out by hand from the definitions
// (docs/dashboards.md): CSAT response rate = responses / answered,
// average = total / responses, satisfied share = scores of 4 or 5 /
// responses, low-MOS share = connected legs with a MOS below 3.5 / those
// with a MOS.
//
// The conversations, as the derived tables hold them (etl/derive's
// reasons test pins them):
//
//	    dir  answered by  labels          dispositions            CSAT  comment          MOS of connected legs
//	P   in   Ben  100 s   billing, refund Refund issued           5     <script>...      3.1, 4.2
//	Q   in   -            -               -                       -                      -   (no agent rang, 30 s)
//	R   in   -            sales           -                       -                      -   (Cy rang, missed, 40 s)
//	S   in   Ana   50 s   -               Billing question,       N/A   '; DROP TABLE..  3.5
//	                                      Follow-up needed
//	T   in   -            -               -                       -                      -   (voicemail, 60 s)
//	U   out  Ana                                                  4                      2.9
//	V   in   Ben   60 s   billing         Billing question        3                      4.4
//	W   in   Ana  150 s   -               -                       5 (Cy's)               3.49, 4.0
func TestReasonsAndSatisfaction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	handbuilt.WriteFeedback(t, f.store, handbuilt.ReasonFeedback)
	handbuilt.Load(t, f.store, handbuilt.ReasonCalls())
	if err := f.store.DB().Exec(ctx, `INSERT INTO targets (target_type, target_id, name, updated_at, version)
		SELECT 'department', 100, 'Sales', now(), 1`); err != nil {
		t.Fatal(err)
	}
	dept := handbuilt.Dept
	day := span{"the day", time.Date(2026, 1, 20, 0, 0, 0, 0, f.loc), time.Date(2026, 1, 21, 0, 0, 0, 0, f.loc).Add(-time.Second)}
	// 12:00 to 14:00 in Chicago (18:00 to 20:00 UTC): R, S and T.
	noon := span{"noon to two", time.Date(2026, 1, 20, 12, 0, 0, 0, f.loc), time.Date(2026, 1, 20, 14, 0, 0, 0, f.loc)}

	d := dashboardByUID(t, "dialpad-reasons")
	for _, s := range []span{day, noon} {
		e := f.queryVars(t, ctx, d, dept, s, mode{name: "all", multiAll: true})
		// Every panel runs on both engines and returns what its config
		// names.
		for _, p := range d.Leaves() {
			for _, q := range p.Targets {
				sql, err := e.Expand(q.RawSQL)
				if err != nil {
					t.Fatal(err)
				}
				res, err := f.query(t, ctx, p.Title, sql)
				if err != nil {
					t.Fatalf("%s, %q: %v\n%s", s.name, p.Title, err, sql)
				}
				checkResult(t, s.name+" / "+p.Title, p, *q.Format, res, true)
			}
		}

		// The daily figures are of the day the range touches, whichever
		// part of it: inbound P, Q, R, S, T, V, W; answered P, S, V, W.
		// Responses P 5, V 3, W 5 (S's N/A is none, U is outbound): 3,
		// total 13, two of 4 or 5 (P, W).
		stats := map[string]string{
			"CSAT average":       "4.33333",  // 13 / 3
			"CSAT response rate": "0.75",     // 3 / 4
			"Satisfied share":    "0.666667", // 2 / 3
			"CSAT responses":     "3",
			// Connected legs with a MOS, of all directions: P 3.1 and 4.2, S
			// 3.5, U 2.9, V 4.4, W 3.49 and 4.0 (R's 1.0 never connected);
			// below 3.5: 3.1, 2.9, 3.49. 3 / 7.
			"Low-MOS share": "0.428571",
		}
		for title, want := range stats {
			if got := cells(panelResult(t, ctx, f, e, d, title)); len(got) != 1 || len(got[0]) != 1 || got[0][0] != want {
				t.Errorf("%s: %q shows %q, want %s", s.name, title, got, want)
			}
		}

		// Per label: (no label) Q, T (unanswered) and S, W (Ana, 50 + 150
		// s, W's 5); billing P, V (Ben, 100 + 60 s, 5 and 3); refund P;
		// sales R (unanswered). Per disposition: (no disposition) Q, R, T
		// and W (Ana, 150 s, 5); Billing question S (Ana, 50 s, N/A) and V
		// (Ben, 60 s, 3); Follow-up needed S; Refund issued P (100 s, 5).
		// Columns: conversations, answered share, average handle time (s),
		// CSAT average, satisfied share, responses.
		checkCells(t, s.name+", reasons", panelResult(t, ctx, f, e, d, "Reasons"),
			[]string{"Kind", "Reason", "Conversations", "Answered share", "Average handle time", "CSAT average", "Satisfied share", "CSAT responses"},
			[][]string{
				{"Label", "(no label)", "4", "0.5", "100", "5", "1", "1"},                // 2/4; 200/2
				{"Disposition", "(no disposition)", "4", "0.25", "150", "5", "1", "1"},   // 1/4
				{"Label", "billing", "2", "1", "80", "4", "0.5", "2"},                    // 160/2; 8/2; 1/2
				{"Disposition", "Billing question", "2", "1", "55", "3", "0", "1"},       // 110/2; 3/1; 0/1
				{"Label", "refund", "1", "1", "100", "5", "1", "1"},                      //
				{"Label", "sales", "1", "0", "NULL", "NULL", "NULL", "0"},                // none answered
				{"Disposition", "Follow-up needed", "1", "1", "50", "NULL", "NULL", "0"}, // S: no response
				{"Disposition", "Refund issued", "1", "1", "100", "5", "1", "1"},         //
			})

		// Per agent credited (whose leg has the CSAT, else who answered):
		// Ana S (its N/A is no response), Ben P and V (5 and 3), Cy W (his
		// 5: the caller spoke to him last). Low-MOS share of the agent's
		// own connected legs: Ana 3.5, 2.9, 3.49 (2 of 3); Ben 4.2, 4.4 (0
		// of 2); Cy 4.0 (0 of 1). Best average first.
		checkCells(t, s.name+", CSAT by agent", panelResult(t, ctx, f, e, d, "CSAT by agent"),
			[]string{"agent_key", "Agent", "Answered", "CSAT responses", "Response rate", "CSAT average", "Satisfied share", "Low-MOS share"},
			[][]string{
				{"503", "Cy", "1", "1", "1", "5", "1", "0"},
				{"502", "Ben", "2", "2", "1", "4", "0.5", "0"},
				{"501", "Ana", "1", "0", "0", "NULL", "NULL", "0.666667"},
			})

		// One point, the day's midnight in Chicago (06:00 UTC).
		checkCells(t, s.name+", CSAT over time", panelResult(t, ctx, f, e, d, "CSAT over time"),
			[]string{"time", "CSAT average", "Satisfied share", "Response rate"},
			[][]string{{"2026-01-20 06:00:00", "4.33333", "0.666667", "0.75"}})
		checkCells(t, s.name+", low MOS over time", panelResult(t, ctx, f, e, d, "Low-MOS share over time"),
			[]string{"time", "Low-MOS share"}, [][]string{{"2026-01-20 06:00:00", "0.428571"}})
		checkCells(t, s.name+", labels over time", panelResult(t, ctx, f, e, d, "Conversations per label"),
			[]string{"time", "Label", "conversations"}, [][]string{
				{"2026-01-20 06:00:00", "(no label)", "4"}, {"2026-01-20 06:00:00", "billing", "2"},
				{"2026-01-20 06:00:00", "refund", "1"}, {"2026-01-20 06:00:00", "sales", "1"}})
		checkCells(t, s.name+", dispositions over time", panelResult(t, ctx, f, e, d, "Conversations per disposition"),
			[]string{"time", "Disposition", "conversations"}, [][]string{
				{"2026-01-20 06:00:00", "(no disposition)", "4"}, {"2026-01-20 06:00:00", "Billing question", "2"},
				{"2026-01-20 06:00:00", "Follow-up needed", "1"}, {"2026-01-20 06:00:00", "Refund issued", "1"}})

		// The comments and the worst calls are the range's conversations:
		// newest first, the hostile text back as it was; lowest MOS first.
		comments := [][]string{
			{"2026-01-20 13:00:00", "14001", "Ana", "N/A", `'; DROP TABLE calls; --`},
			{"2026-01-20 10:00:00", "11001", "Ben", "5", `<script>alert('x')</script>`},
		}
		worst := [][]string{
			{"2026-01-20 15:00:00", "16001", "outbound", "Ana", "2.9", "1", "1"},
			{"2026-01-20 10:00:00", "11001", "inbound", "Ben", "3.1", "1", "2"},
			{"2026-01-20 17:00:00", "18001", "inbound", "Ana", "3.49", "1", "2"},
			{"2026-01-20 13:00:00", "14001", "inbound", "Ana", "3.5", "0", "1"},
			{"2026-01-20 16:00:00", "17001", "inbound", "Ben", "4.4", "0", "1"},
		}
		if s == noon {
			comments, worst = comments[:1], worst[3:4]
		}
		checkCells(t, s.name+", comments", panelResult(t, ctx, f, e, d, "CSAT comments"),
			[]string{"Time", "Conversation", "Agent", "Score", "Comment"}, comments)
		checkCells(t, s.name+", worst MOS", panelResult(t, ctx, f, e, d, "Worst calls by MOS"),
			[]string{"Time", "Conversation", "Direction", "Agent", "Worst MOS", "Legs below 3.5", "Legs with a MOS"}, worst)

		// The call explorer's worst legs: every connected leg with a MOS,
		// lowest first, in Chicago's time (R's 1.0 never connected; the
		// entry leg of P shows its line's name). From noon to two: S's
		// agent leg alone.
		c := dashboardByUID(t, "dialpad-calls")
		ce := f.queryVars(t, ctx, c, dept, s, mode{name: "all", multiAll: true})
		legs := [][]string{
			{"2026-01-20 15:00:00", "outbound", "Ana", "2.9", "16001"},
			{"2026-01-20 10:00:00", "inbound", "(Sales)", "3.1", "11001"},
			{"2026-01-20 17:00:01", "inbound", "Ana", "3.49", "18002"},
			{"2026-01-20 13:00:01", "inbound", "Ana", "3.5", "14002"},
			{"2026-01-20 17:01:20", "inbound", "Cy", "4", "18003"},
			{"2026-01-20 10:00:02", "inbound", "Ben", "4.2", "11003"},
			{"2026-01-20 16:00:01", "inbound", "Ben", "4.4", "17002"},
		}
		if s == noon {
			legs = legs[3:4]
		}
		worstLegs := panelResult(t, ctx, f, ce, c, "Worst legs by MOS")
		var gotLegs [][]string
		for _, row := range cells(worstLegs) {
			var r []string
			for _, col := range []string{"Time", "Direction", "Agent", "MOS", "Call id"} {
				r = append(r, row[slices.Index(worstLegs.cols, col)])
			}
			gotLegs = append(gotLegs, r)
		}
		if !reflect.DeepEqual(gotLegs, legs) {
			t.Errorf("%s: the call explorer's worst legs by MOS\n%q\nwant\n%q", s.name, gotLegs, legs)
		}

		// The overview: Q hung up before an agent rang, R rang Cy, T left a
		// voicemail; none was short (5 s), so the three are our abandoned.
		// From noon to two: R and T.
		o := dashboardByUID(t, "dialpad-overview")
		oe := f.queryVars(t, ctx, o, dept, s, mode{name: "all", multiAll: true})
		want := map[string]string{"Abandoned calls": "3", "Abandoned before an agent rang": "1", "Missed by agents": "1", "Voicemail": "1"}
		if s == noon {
			want = map[string]string{"Abandoned calls": "2", "Abandoned before an agent rang": "0", "Missed by agents": "1", "Voicemail": "1"}
		}
		for title, w := range want {
			if got := cells(panelResult(t, ctx, f, oe, o, title)); len(got) != 1 || got[0][0] != w {
				t.Errorf("%s: the overview's %q shows %q, want %s", s.name, title, got, w)
			}
		}

		// The scorecard: Ana no response (no figure), Ben (5 + 3) / 2 = 4,
		// half satisfied, Cy 5 of 1. Team medians over Ben and Cy: (4 + 5)
		// / 2 and (0.5 + 1) / 2.
		sc := dashboardByUID(t, "dialpad-scorecard")
		se := f.queryVars(t, ctx, sc, dept, s, mode{name: "all", multiAll: true})
		res := panelResult(t, ctx, f, se, sc, "Scorecard")
		got := map[string][]string{}
		for _, row := range cells(res) {
			got[row[slices.Index(res.cols, "Agent")]] = slices.Clone(row[slices.Index(res.cols, "CSAT"):][:5])
		}
		wantCSAT := map[string][]string{
			"Ana": {"NULL", "4.5", "0", "NULL", "0.75"},
			"Ben": {"4", "4.5", "2", "0.5", "0.75"},
			"Cy":  {"5", "4.5", "1", "1", "0.75"},
		}
		if !reflect.DeepEqual(got, wantCSAT) || res.cols[slices.Index(res.cols, "CSAT")+4] != "Satisfied share, team" {
			t.Errorf("%s: the scorecard's CSAT, team, responses, satisfied share, team: %q, want %q", s.name, got, wantCSAT)
		}
	}
}

// cells is res's rows as text: numbers to 6 significant digits, a
// DateTime in UTC, NULL for none.
func cells(res result) [][]string {
	var out [][]string
	for _, row := range res.rows {
		var r []string
		for _, v := range row {
			rv := reflect.ValueOf(v)
			if rv.Kind() == reflect.Pointer && rv.IsNil() {
				r = append(r, "NULL")
				continue
			}
			v = reflect.Indirect(rv).Interface()
			s := fmt.Sprint(v)
			if n, ok := toFloat(v); ok {
				s = fmt.Sprintf("%.6g", n)
			}
			if at, ok := v.(time.Time); ok {
				s = at.UTC().Format(time.DateTime)
			}
			r = append(r, s)
		}
		out = append(out, r)
	}
	return out
}

// checkCells fails t unless res has the columns cols and the rows want, in
// order (see cells).
func checkCells(t *testing.T, what string, res result, cols []string, want [][]string) {
	t.Helper()
	if !slices.Equal(res.cols, cols) {
		t.Errorf("%s: columns %q, want %q", what, res.cols, cols)
		return
	}
	if got := cells(res); !reflect.DeepEqual(got, want) {
		t.Errorf("%s: rows\n%q\nwant\n%q", what, got, want)
	}
}
