package report

import (
	"bytes"
	_ "embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strings"
	"time"
)

// ImageMode is how the HTML refers to its charts.
type ImageMode int

const (
	// DataURI puts the images inline as data: URIs (a file).
	DataURI ImageMode = iota
	// ContentID refers to them as <img src="cid:...">, for a mail's inline
	// parts.
	ContentID
)

// Image is a chart for a mail's inline part: its Content-ID (without the
// angle brackets) and the PNG.
type Image struct {
	ContentID string
	PNG       []byte
}

//go:embed report.html.tmpl
var htmlSource string

// page is self-contained HTML: inline CSS, a table layout that mail
// clients keep, no script and nothing fetched. html/template escapes
// every value.
var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"noAgentTime": func() string { return noAgentTime },
	"noStaffing":  func() string { return noStaffing },
}).Parse(htmlSource))

type htmlReport struct {
	Subject, Period, Zone, Built string
	Sections                     []htmlSection
}

type htmlSection struct {
	*Section
	KPIRows      [][]Stat
	Charts       []htmlImage
	Trend        trendTable
	Busiest      []Slot
	Agents       Table
	CallBacks    Table
	CallBackMore int // callers not listed
	Reasons      Table
	ReasonsMore  int // reasons not listed
	Health       []htmlLine
	NotMatching  Table
}

type htmlImage struct {
	Src           template.HTMLAttr // src="...": a data: URI or a cid: of ours, unescaped (html/template would write base64's + as &#43;)
	Alt           string
	Width, Height int
}

type htmlLine struct {
	Text string
	Warn bool
}

// HTML writes the report as one self-contained page. In DataURI mode the
// charts are inside it and the images returned are none; in ContentID
// mode it refers to the images it returns.
func (r *Report) HTML(mode ImageMode) ([]byte, []Image, error) {
	v := htmlReport{Subject: r.Subject(), Period: r.Period.String(), Zone: r.Location.String(),
		Built: r.Built.In(r.Location).Format(time.DateTime)}
	var images []Image
	for i := range r.Sections {
		s := &r.Sections[i]
		hs := htmlSection{Section: s, Trend: s.trendTable(), Busiest: s.BusiestHours(busiestSlots), Agents: s.Agents,
			NotMatching: withoutColumn(s.Health.NotMatching, "Target")}
		for k := 0; k < len(s.KPIs); k += 3 {
			hs.KPIRows = append(hs.KPIRows, s.KPIs[k:min(k+3, len(s.KPIs))])
		}
		var n int
		hs.CallBacks, n = s.callBacks()
		hs.CallBackMore = n - len(hs.CallBacks.Rows)
		hs.Reasons, n = s.topReasons()
		hs.ReasonsMore = n - len(hs.Reasons.Rows)
		lines, warn := s.healthLines(r.Location)
		for k := range lines {
			hs.Health = append(hs.Health, htmlLine{lines[k], warn[k]})
		}
		charts, err := s.charts()
		if err != nil {
			return nil, nil, fmt.Errorf("charts of %s: %w", s.Target, err)
		}
		for k, c := range charts {
			img := htmlImage{Alt: c.alt, Width: chartWidth, Height: c.height}
			switch mode {
			case DataURI:
				img.Src = template.HTMLAttr(`src="data:image/png;base64,` + base64.StdEncoding.EncodeToString(c.png) + `"`)
			case ContentID:
				id := fmt.Sprintf("chart-%d-%d@dialpad-etl", i+1, k+1)
				img.Src = template.HTMLAttr(`src="cid:` + id + `"`)
				images = append(images, Image{ContentID: id, PNG: c.png})
			default:
				return nil, nil, fmt.Errorf("image mode %d: want DataURI or ContentID", mode)
			}
			hs.Charts = append(hs.Charts, img)
		}
		v.Sections = append(v.Sections, hs)
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, v); err != nil {
		return nil, nil, err
	}
	return buf.Bytes(), images, nil
}

// chart is one drawn chart of a section.
type chart struct {
	alt    string
	png    []byte
	height int // CSS pixels, at chartWidth
}

// charts draws the section's trends (counts as bars, rates as lines),
// its calls per interval (when it has them) and its busiest hours.
func (s *Section) charts() ([]chart, error) {
	var out []chart
	for _, se := range s.Trends {
		draw := barsChart
		if se.Unit == "percentunit" {
			draw = ratesChart
		}
		b, err := draw(se)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", se.Title, err)
		}
		out = append(out, chart{alt: se.Title + perBucket(se), png: b, height: chartHeight})
	}
	if se := s.Intervals; se.Title != "" {
		b, err := intervalChart(se)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", se.Title, err)
		}
		out = append(out, chart{alt: strings.TrimSuffix(se.Title, " per interval") + perBucket(se), png: b, height: chartHeight})
	}
	b, err := busiestChart(s.Busiest)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.Busiest.Title, err)
	}
	return append(out, chart{alt: s.Busiest.Title, png: b, height: busiestHeight(len(s.Busiest.Rows))}), nil
}
