package report

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image/png"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// handMade is a report of one day built by hand, with text that HTML
// must escape where a contact's name and a target's name go.
func handMade(t *testing.T) *Report {
	t.Helper()
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	day := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC)
	num := func(name string, v float64, text string) Value {
		if text == "" {
			text = fmt.Sprint(v)
		}
		return Value{Name: name, Raw: v, Text: text}
	}
	var times []time.Time
	var in, rate []Value
	for h := range 24 {
		times = append(times, time.Date(2026, 11, 23, h, 0, 0, 0, loc))
		in = append(in, num("inbound", float64(h%5), ""))
		rate = append(rate, num("Service level", float64(h)/24, ""))
	}
	var quarters []time.Time
	var offered, answered []Value
	for q := range 96 {
		quarters = append(quarters, time.Date(2026, 11, 23, 0, 15*q, 0, 0, loc))
		offered = append(offered, num("Offered", float64(q%9), ""))
		answered = append(answered, num("Answered", float64(q%9/2), ""))
	}
	// Eleven reasons, the first a hostile label: the report lists ten.
	text := func(name, s string) Value { return Value{Name: name, Raw: s, Text: s} }
	reasons := Table{Title: "Reasons", Columns: []string{"Kind", "Reason", "Conversations", "Answered share", "Average handle time",
		"CSAT average", "Satisfied share", "CSAT responses"}}
	for i := range 11 {
		label := fmt.Sprintf("reason %d", i+1)
		if i == 0 {
			label = `<script>alert("label")</script>`
		}
		reasons.Rows = append(reasons.Rows, []Value{text("Kind", "Label"), text("Reason", label), num("Conversations", float64(20-i), ""),
			num("Answered share", 0.5, "50.0%"), num("Average handle time", 90, "1.5 min"), num("CSAT average", 4.25, "4.25"),
			num("Satisfied share", 0.75, "75.0%"), num("CSAT responses", 4, "4")})
	}
	busiest := Table{Title: "Busiest hours", Columns: []string{"Weekday"}, Rows: [][]Value{{{Name: "Weekday", Raw: "Mon", Text: "Mon"}}}}
	for h := range 24 {
		c := time.Date(0, 1, 1, h, 0, 0, 0, time.UTC).Format("15")
		busiest.Columns = append(busiest.Columns, c)
		busiest.Rows[0] = append(busiest.Rows[0], num(c, float64(h%7), ""))
	}
	return &Report{Period: Period{Kind: "day", From: day, To: day}, Location: loc, Built: day.Add(30 * time.Hour),
		Sections: []Section{{
			Target: dialpad.Target{Type: "department", ID: 1}, Name: `Sales <script>alert("x")</script> (department:1)`,
			Cards: []Stat{{Title: "Inbound calls", Fields: []Value{num("inbound", 1234, "1,234")}}},
			KPIs: []Stat{{Title: "Service level", Fields: []Value{num("Service level", 0.85, "85.0%"), num("Goal", 0.8, "80.0%")}},
				{Title: "Abandonment rate", Fields: []Value{{Name: "abandonment_rate", Text: "no inbound calls"}}}},
			Trends: []Series{{Title: "Calls by direction", Unit: "short", Step: time.Hour, Times: times, Lines: []Line{{Name: "inbound", Points: in}}},
				{Title: "Service level and abandonment", Unit: "percentunit", Step: time.Hour, Times: times,
					Lines: []Line{{Name: "Service level", Points: rate}}}},
			Busiest: busiest,
			Agents: Table{Title: "Agent leaderboard", Columns: []string{"Agent", "Total"},
				Rows: [][]Value{{{Name: "Agent", Raw: "Ann & Bob", Text: "Ann & Bob"}, num("Total", 3, "3")}}},
			Intervals: Series{Title: "Offered and answered per interval", Unit: "short", Step: 15 * time.Minute, Times: quarters,
				Lines: []Line{{Name: "Offered", Points: offered}, {Name: "Answered", Points: answered}}},
			AgentTime: Table{Title: "Agent time", Columns: []string{"Agent", "Occupancy"},
				Rows: [][]Value{{{Name: "Agent", Raw: "Zoë <b>", Text: "Zoë <b>"}, num("Occupancy", 1.0/3, "33.3%")}}},
			Satisfaction: []Stat{{Title: "CSAT average", Fields: []Value{num("csat_average", 4.25, "4.25")}},
				{Title: "CSAT response rate", Fields: []Value{num("response_rate", 0.4, "40.0%")}}},
			Reasons: reasons,
			AgentCSAT: Table{Title: "CSAT by agent", Columns: []string{"Agent", "CSAT average"},
				Rows: [][]Value{{text("Agent", "Eve <i>"), num("CSAT average", 4.5, "4.50")}}},
			CallBacks: Table{Title: "Callers to call back", Columns: []string{"Number", "Contact"},
				Rows: [][]Value{{{Name: "Number", Raw: "+15550100", Text: "+15550100"}, {Name: "Contact", Raw: `O'Brien <img src=x onerror=alert(1)>`, Text: `O'Brien <img src=x onerror=alert(1)>`}}}},
		}}}
}

func TestHTMLIsSelfContainedAndEscaped(t *testing.T) {
	r := handMade(t)
	page, images, err := r.HTML(DataURI)
	if err != nil {
		t.Fatal(err)
	}
	html := string(page)
	for _, bad := range []string{"<script", "<img src=x", "http://", "https://", "<link", "@import", "url(", "cid:"} {
		if strings.Contains(html, bad) {
			t.Errorf("the page contains %q: it must fetch nothing, run nothing, and escape every value", bad)
		}
	}
	for _, want := range []string{"Sales &lt;script&gt;", "O&#39;Brien &lt;img src=x", "&lt;script&gt;alert(&#34;label&#34;)&lt;/script&gt;",
		"Eve &lt;i&gt;", ">4.25<", ">40.0%<", ">reason 10<", "And 1 more: see the Reasons &amp; satisfaction dashboard.", "Ann &amp; Bob", "Zoë &lt;b&gt;", "Offered and answered, per 15 minutes", "1,234", "Goal: 80.0%", "no inbound calls",
		"<title>Dialpad daily report, 2026-11-23</title>"} {
		if !strings.Contains(html, want) {
			t.Errorf("the page lacks %q", want)
		}
	}
	if strings.Contains(html, ">reason 11<") {
		t.Error("the page lists more than ten reasons")
	}
	srcs := regexp.MustCompile(`<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"`).FindAllStringSubmatch(html, -1)
	if len(images) != 0 || len(srcs) != 4 {
		t.Fatalf("DataURI mode: %d images returned and %d inline, want none and 4", len(images), len(srcs))
	}
	for _, m := range srcs {
		raw, err := base64.StdEncoding.DecodeString(m[1])
		if err != nil {
			t.Fatal(err)
		}
		checkPNG(t, raw)
	}

	page, images, err = r.HTML(ContentID)
	if err != nil {
		t.Fatal(err)
	}
	html = string(page)
	if len(images) != 4 || strings.Contains(html, "data:") {
		t.Fatalf("ContentID mode: %d images, data URIs in the page: %v", len(images), strings.Contains(html, "data:"))
	}
	seen := map[string]bool{}
	for _, im := range images {
		if seen[im.ContentID] || strings.Count(html, `src="cid:`+im.ContentID+`"`) != 1 || strings.ContainsAny(im.ContentID, "<> ") {
			t.Errorf("image %q: want a unique id, without brackets, referred to once as cid:", im.ContentID)
		}
		seen[im.ContentID] = true
		checkPNG(t, im.PNG)
	}
	if n := strings.Count(html, `src="cid:`); n != 4 {
		t.Errorf("%d cid: images in the page, want 4", n)
	}

	text := r.Text()
	for _, want := range []string{`^Dialpad daily report, 2026-11-23\n`, `\nInbound calls: 1,234\n`, `\n  Service level +85\.0% +Goal: 80\.0%\n`,
		`\nPer hour\n`, `\n  Mon 06:00-07:00   6 calls\n`, `\nAgent time\n  Agent +Occupancy\n  Zoë <b> +33\.3%\n`, `\n  \+15550100  O'Brien <img src=x onerror=alert\(1\)>\n`,
		`\n  CSAT average: 4\.25   CSAT response rate: 40\.0%\n`, `\n  Label +<script>alert\("label"\)</script> +20 +50\.0% +4\.25 +75\.0% +4\n`,
		`\n  And 1 more: see the Reasons & satisfaction dashboard\.\n`} {
		if !regexp.MustCompile(want).MatchString(text) {
			t.Errorf("the text lacks %s:\n%s", want, text)
		}
	}
	if regexp.MustCompile(` \n`).MatchString(text) {
		t.Error("the text has lines that end in spaces")
	}
}

func checkPNG(t *testing.T, raw []byte) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != chartWidth*chartScale || b.Dy() < 100 {
		t.Errorf("a chart of %dx%d pixels, want %d wide", b.Dx(), b.Dy(), chartWidth*chartScale)
	}
}
