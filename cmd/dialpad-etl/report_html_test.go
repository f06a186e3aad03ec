package main

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
	"github.com/dialpad-etl/dialpad-etl/grafana"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

// chromium finds a Chromium or Chrome for the headless tests; without
// one the test is skipped, or fails when CI is set.
func chromium(t *testing.T) string {
	t.Helper()
	chtest.SkipShort(t, "Chromium")
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	const hint = "no Chromium for the HTML report test: install it with 'apt-get install chromium' (or run 'make test')"
	if os.Getenv("CI") != "" {
		t.Fatal(hint)
	}
	t.Skip(hint)
	return ""
}

// TestReportHTMLInABrowser writes a week's HTML report of two of three
// targets with the command, opens the file in headless Chromium, and
// checks that every chart drew and that the cards read what the
// dashboards' queries return. The week is a fixed one, Monday 1 to
// Sunday 7 June 2026, loaded with the days around it; which week
// --period week picks at a given moment is TestReportAndReconcileRanges'.
func TestReportHTMLInABrowser(t *testing.T) {
	browser := chromium(t)
	chicago, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	week := report.Period{Kind: "custom", From: time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC), To: time.Date(2026, 6, 7, 0, 0, 0, 0, time.UTC)}
	start := time.Date(2026, 5, 26, 0, 0, 0, 0, chicago)
	end := time.Date(2026, 6, 10, 14, 0, 0, 0, chicago)
	w := newWorld(t, simulator.Config{Seed: 13, Start: start, End: end, CallsPerDay: 30, Token: "report-token", RateLimit: -1}, "America/Chicago")
	w.setClock(end.Add(24 * time.Hour)) // every call has ended
	all := w.sim.Targets()
	var list []string
	for _, tg := range all {
		list = append(list, tg.String())
	}
	env := []string{"DIALPAD_TARGETS=" + strings.Join(list, ","), "ETL_START=" + start.Format(time.RFC3339)}
	if code := w.run(t, env, "backfill", "--from", start.Format(time.DateOnly), "--to", end.Format(time.RFC3339)); code != 0 {
		t.Fatalf("backfill exited %d", code)
	}

	picked := all[:2]
	file := filepath.Join(t.TempDir(), "week.html")
	before := len(w.printed())
	if code := w.run(t, env, "report", "--from", "2026-06-01", "--to", "2026-06-07", "--target", list[0]+","+list[1], "--html", file); code != 0 {
		t.Fatalf("report --html exited %d", code)
	}
	said := w.printed()[before:]
	if want := fmt.Sprintf("Dialpad report, 2026-06-01 to 2026-06-07 (America/Chicago, 2 target(s)): %s (", file); !strings.Contains(said, want) {
		t.Errorf("report --html printed %q, want it to say %q", said, want)
	}

	// The dashboards' range of the week, as Grafana gives it.
	from := time.Date(week.From.Year(), week.From.Month(), week.From.Day(), 0, 0, 0, 0, chicago)
	to := time.Date(week.To.Year(), week.To.Month(), week.To.Day()+1, 0, 0, 0, 0, chicago).Add(-time.Second)
	want := map[string][]float64{}
	for _, tg := range picked {
		for _, title := range []string{"Inbound calls", "Outbound calls", "Missed calls", "Total calls", "Answered rate",
			"Service level", "Abandonment rate", "Repeat-contact rate"} {
			want[title] = append(want[title], dashboardValue(t, w, title, tg.String(), from, to))
		}
	}
	if want["Total calls"][0] == 0 || want["Total calls"][1] == 0 {
		t.Fatalf("the dashboards count no calls last week (%v): the fixture must have some", want["Total calls"])
	}

	page := openInChromium(t, browser, file)
	for title, values := range want {
		shown := page.figures[title]
		if len(shown) != len(values) {
			t.Errorf("%q is shown %d times (%q), want once per target picked (%d)", title, len(shown), shown, len(values))
			continue
		}
		for i, v := range values {
			got, percent, err := parseFigure(shown[i])
			switch {
			case err != nil:
				t.Errorf("%s, %q: the page shows %q: %v", picked[i], title, shown[i], err)
			case !percent && got != v:
				t.Errorf("%s, %q: the page shows %q, the dashboard's query %v", picked[i], title, shown[i], v)
			case percent && math.Abs(got/100-v) > 0.0005+1e-9: // one decimal of a percentage
				t.Errorf("%s, %q: the page shows %q, the dashboard's query %v", picked[i], title, shown[i], v)
			}
		}
	}
	if len(page.images) != 4*len(picked) {
		t.Errorf("the page has %d images, want 4 charts per target (%d)", len(page.images), 4*len(picked))
	}
	for i, im := range page.images {
		if im.NaturalWidth == 0 || !im.Complete {
			t.Errorf("image %d (%s) did not load: natural width %v", i+1, im.Alt, im.NaturalWidth)
			continue
		}
		area := image.Rect(int(im.X), int(im.Y), int(im.X+im.Width), int(im.Y+im.Height))
		if n := colours(page.shot, area); n < 3 {
			t.Errorf("image %d (%s) at %v of the screenshot has %d colours: the chart did not draw", i+1, im.Alt, area, n)
		}
	}
}

// dashboardValue runs the overview's stat panel titled title for target
// over [from, to] as Grafana would send it, and returns its figure.
func dashboardValue(t *testing.T, w *world, title, target string, from, to time.Time) float64 {
	t.Helper()
	ds, err := expand.Load(grafana.Files, "dashboards/overview.json")
	if err != nil {
		t.Fatal(err)
	}
	e := &expand.Expansion{From: from, To: to, IntervalS: 86400, Defs: map[string]expand.Variable{},
		Vars: map[string]expand.Selection{"target": {Values: []string{target}}, "tz": {Values: []string{"America/Chicago"}}}}
	for _, p := range ds[0].Leaves() {
		if p.Title != title {
			continue
		}
		sql, err := e.Expand(p.Targets[0].RawSQL)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := w.conn(t).Query(context.Background(), sql)
		if err != nil {
			t.Fatalf("%s: %v", title, err)
		}
		defer rows.Close()
		if !rows.Next() {
			t.Fatalf("%s: no row", title)
		}
		types := rows.ColumnTypes()
		dest := make([]any, len(types))
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatal(err)
		}
		ct := types[0] // the figure; a goal may follow
		v := reflect.Indirect(reflect.ValueOf(dest[0]).Elem())
		switch v.Kind() {
		case reflect.Uint64, reflect.Uint32:
			return float64(v.Uint())
		case reflect.Float64:
			return v.Float()
		}
		t.Fatalf("%s: a %s", title, ct.DatabaseTypeName())
	}
	t.Fatalf("the overview has no panel %q", title)
	return 0
}

// parseFigure reads a card's text: "1,234", or "85.3%".
func parseFigure(s string) (v float64, percent bool, err error) {
	s = strings.TrimSpace(s)
	percent = strings.HasSuffix(s, "%")
	v, err = strconv.ParseFloat(strings.ReplaceAll(strings.TrimSuffix(s, "%"), ",", ""), 64)
	return v, percent, err
}

// shownPage is what a browser made of the report.
type shownPage struct {
	figures map[string][]string // the text of each [data-panel] element, by panel title, in page order
	images  []shownImage
	shot    image.Image // the whole page
}

type shownImage struct {
	Alt                 string
	Complete            bool
	NaturalWidth        float64
	X, Y, Width, Height float64 // CSS pixels on the page
}

func openInChromium(t *testing.T, browser, file string) shownPage {
	t.Helper()
	opts := append(slices.Clone(chromedp.DefaultExecAllocatorOptions[:]), chromedp.ExecPath(browser),
		chromedp.NoSandbox, chromedp.WindowSize(900, 900), chromedp.Flag("force-device-scale-factor", "1"))
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancel()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancel = context.WithTimeout(ctx, time.Minute)
	defer cancel()
	fail := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("open %s in %s: %v", file, browser, err)
		}
	}
	fail(chromedp.Do(ctx, chromedp.Navigate("file://"+file), chromedp.WaitReady("body")))
	var p shownPage
	var err error
	p.figures, err = chromedp.Run(ctx, chromedp.Evaluate[map[string][]string](`(() => { const out = {};
		for (const e of document.querySelectorAll('[data-panel]')) (out[e.dataset.panel] ||= []).push(e.innerText);
		return out; })()`))
	fail(err)
	p.images, err = chromedp.Run(ctx, chromedp.Evaluate[[]shownImage](`[...document.images].map(i => { const r = i.getBoundingClientRect();
		return {Alt: i.alt, Complete: i.complete, NaturalWidth: i.naturalWidth,
			X: r.left + window.scrollX, Y: r.top + window.scrollY, Width: r.width, Height: r.height}; })`))
	fail(err)
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	fail(err)
	if p.shot, err = png.Decode(bytes.NewReader(shot)); err != nil {
		t.Fatalf("the screenshot: %v", err)
	}
	return p
}

// colours counts the distinct colours of img within r.
func colours(img image.Image, r image.Rectangle) int {
	seen := map[[4]uint32]bool{}
	r = r.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, ca := img.At(x, y).RGBA()
			seen[[4]uint32{cr, cg, cb, ca}] = true
		}
	}
	return len(seen)
}

func TestReportRefusesConflictingRanges(t *testing.T) {
	for _, c := range []struct {
		args []string
		code int
		says string
	}{
		{[]string{"report", "--period", "week", "--from", "2026-11-01"}, 2, "report takes --period or --from and --to, not both"},
		{[]string{"report", "--period", "fortnight"}, 1, `--period "fortnight": want day, week or month`},
		{[]string{"report", "--target", "team:1"}, 1, `--target: target "team:1": unknown type "team"`},
	} {
		var out, errs bytes.Buffer
		if code := dispatch(context.Background(), c.args, &out, &errs); code != c.code || !strings.Contains(errs.String(), c.says) {
			t.Errorf("%q: exit %d, %q; want %d and %q", c.args, code, errs.String(), c.code, c.says)
		}
	}
}
