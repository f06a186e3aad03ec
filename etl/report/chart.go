package report

import (
	"bytes"
	"fmt"
	"image/color"
	"image/png"
	"math"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// The charts are drawn server-side (gonum.org/v1/plot), as PNG images
// that a mail client or an offline browser shows without fetching
// anything. They are drawn at twice the size they are shown at, for
// sharp text on high-density screens.
const (
	chartWidth  = 640 // CSS pixels
	chartHeight = 220
	chartScale  = 2
)

// Colours of the dashboards' fields (Grafana's palette).
var (
	blue   = rgb(0x57, 0x94, 0xf2)
	purple = rgb(0xb8, 0x77, 0xd9)
	green  = rgb(0x73, 0xbf, 0x69)
	red    = rgb(0xf2, 0x49, 0x5c)
	grey   = rgb(0x8e, 0x8e, 0x8e)
)

func rgb(r, g, b uint8) color.RGBA { return color.RGBA{r, g, b, 0xff} }

// lineColours are the series' colours by field name; others cycle.
var lineColours = map[string]color.Color{"inbound": blue, "outbound": purple, "Service level": green,
	"Abandonment rate": red, "Goal": green, "Offered": blue, "Answered": green}

// newPlot is a plot in the report's style: sans-serif text, light grid.
func newPlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	for _, s := range []*plot.Axis{&p.X, &p.Y} {
		s.Label.TextStyle.Font.Variant = "Sans"
		s.Tick.Label.Font.Variant = "Sans"
		s.Tick.Label.Font.Size = 8
		s.LineStyle.Color, s.Tick.LineStyle.Color = grey, grey
	}
	p.Title.TextStyle.Font.Variant = "Sans"
	p.Title.TextStyle.Font.Size = 11
	p.Legend.TextStyle.Font.Variant = "Sans"
	p.Legend.TextStyle.Font.Size = 8
	p.Legend.Top = true
	return p
}

// drawPNG draws p at the chart width and heightCSS.
func drawPNG(p *plot.Plot, heightCSS int) ([]byte, error) {
	w := vg.Length(chartWidth) * vg.Inch / 96
	h := vg.Length(heightCSS) * vg.Inch / 96
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(96*chartScale))
	p.Draw(draw.New(c))
	var buf bytes.Buffer
	// zlib's default level: a chart of 1280x440 encodes in a quarter of
	// the time of its best compression, for 4% more bytes (about 21 KB).
	enc := png.Encoder{CompressionLevel: png.DefaultCompression}
	if err := enc.Encode(&buf, c.Image()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// nominalX labels the buckets 0 to n-1 and leaves half a bucket at
// each end.
func nominalX(p *plot.Plot, labels []string) {
	p.NominalX(labels...)
	p.X.Min, p.X.Max = -0.5, float64(len(labels))-0.5
}

// bucketLabels labels the series' buckets on the x axis: hours as 00 to
// 23, days as "Mon 23"; no more than about 16 labels.
func bucketLabels(s Series) []string {
	every := max(1, (len(s.Times)+15)/16)
	out := make([]string, len(s.Times))
	for i, t := range s.Times {
		if i%every != 0 {
			continue
		}
		if s.Step == time.Hour {
			out[i] = t.Format("15")
		} else {
			out[i] = t.Format("Mon 2")
		}
	}
	return out
}

// barsChart draws a series of counts as stacked bars, the first line at
// the bottom.
func barsChart(s Series) ([]byte, error) {
	p := newPlot(s.Title + perBucket(s))
	nominalX(p, bucketLabels(s))
	p.Y.Tick.Marker = wholeTicks{}
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	width := vg.Length(chartWidth) * vg.Inch / 96 * 0.8 / vg.Length(max(len(s.Times), 1)) * 0.8
	var below *plotter.BarChart
	for k, l := range s.Lines {
		vs := make(plotter.Values, len(l.Points))
		for i, v := range l.Points {
			vs[i], _ = v.Number()
		}
		bars, err := plotter.NewBarChart(vs, width)
		if err != nil {
			return nil, err
		}
		bars.Color, bars.LineStyle.Width = colourOf(l.Name, k), 0
		if below != nil {
			bars.StackOn(below)
		}
		below = bars
		p.Add(bars)
		p.Legend.Add(l.Name, bars)
	}
	// Room above the highest bar for the legend.
	p.Y.Min, p.Y.Max = 0, math.Max(p.Y.Max, 1)*1.25
	return drawPNG(p, chartHeight)
}

// intervalChart draws the calls offered and answered per interval as
// bars, each line's in front of the one before (answered in front of
// offered: the part of a bar left showing is the calls not answered),
// with the times of day (over a day) or the days marked.
func intervalChart(s Series) ([]byte, error) {
	p := newPlot(strings.TrimSuffix(s.Title, " per interval") + perBucket(s))
	nominalX(p, intervalLabels(s))
	p.X.Tick.Label.Font.Size = 7
	p.Y.Tick.Marker = wholeTicks{}
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	width := vg.Length(chartWidth) * vg.Inch / 96 * 0.85 / vg.Length(max(len(s.Times), 1))
	for k, l := range s.Lines {
		vs := make(plotter.Values, len(l.Points))
		for i, v := range l.Points {
			vs[i], _ = v.Number()
		}
		bars, err := plotter.NewBarChart(vs, width)
		if err != nil {
			return nil, err
		}
		bars.Color, bars.LineStyle.Width = colourOf(l.Name, k), 0
		p.Add(bars)
		p.Legend.Add(l.Name, bars)
	}
	p.Y.Min, p.Y.Max = 0, math.Max(p.Y.Max, 1)*1.25
	return drawPNG(p, chartHeight)
}

// intervalLabels marks every other hour of a day's intervals (14:00), or
// the first interval of each day of longer series (Mon 2).
func intervalLabels(s Series) []string {
	out := make([]string, len(s.Times))
	days := len(s.Times) > 0 && s.Times[len(s.Times)-1].Sub(s.Times[0]) >= 24*time.Hour
	for i, t := range s.Times {
		switch {
		case days && i > 0 && t.Day() != s.Times[i-1].Day(), days && i == 0:
			out[i] = t.Format("Mon 2")
		case !days && t.Minute() == 0 && t.Hour()%3 == 0:
			out[i] = t.Format("15:04")
		}
	}
	return out
}

// ratesChart draws a series of rates (0 to 1) as lines, broken where a
// bucket has none, a "Goal" dashed.
func ratesChart(s Series) ([]byte, error) {
	p := newPlot(s.Title + perBucket(s))
	nominalX(p, bucketLabels(s))
	p.Y.Min, p.Y.Max = 0, 1.3 // room above 100% for the legend
	p.Y.Tick.Marker = plot.TickerFunc(func(lo, hi float64) []plot.Tick {
		var out []plot.Tick
		for v := 0.0; v <= 1.0001; v += 0.25 {
			out = append(out, plot.Tick{Value: v, Label: strconv.Itoa(int(math.Round(v*100))) + "%"})
		}
		return out
	})
	grid := plotter.NewGrid()
	grid.Vertical.Color = nil
	p.Add(grid)
	for k, l := range s.Lines {
		style := draw.LineStyle{Color: colourOf(l.Name, k), Width: vg.Points(1.5)}
		if l.Name == "Goal" {
			style.Dashes = []vg.Length{vg.Points(5), vg.Points(4)}
		}
		var run plotter.XYs
		flush := func() error {
			if len(run) == 0 {
				return nil
			}
			line, points, err := plotter.NewLinePoints(run)
			if err != nil {
				return err
			}
			line.LineStyle = style
			points.GlyphStyle.Color, points.GlyphStyle.Radius = style.Color, vg.Points(1.5)
			if l.Name == "Goal" {
				points.GlyphStyle.Radius = 0
			}
			p.Add(line, points)
			run = nil
			return nil
		}
		for i, v := range l.Points {
			n, ok := v.Number()
			if !ok {
				if err := flush(); err != nil {
					return nil, err
				}
				continue
			}
			run = append(run, plotter.XY{X: float64(i), Y: math.Min(math.Max(n, 0), 1)})
		}
		if err := flush(); err != nil {
			return nil, err
		}
		legend, _ := plotter.NewLine(plotter.XYs{{}})
		legend.LineStyle = style
		p.Legend.Add(l.Name, legend)
	}
	return drawPNG(p, chartHeight)
}

func perBucket(s Series) string {
	switch {
	case s.Step == time.Hour:
		return ", per hour"
	case s.Step < time.Hour:
		return fmt.Sprintf(", per %d minutes", int(s.Step/time.Minute))
	}
	return ", per day"
}

func colourOf(name string, k int) color.Color {
	if c, ok := lineColours[name]; ok {
		return c
	}
	return []color.Color{blue, purple, green, red, grey}[k%5]
}

// busiestChart draws the busiest hours as a grid of weekdays and hours,
// each cell coloured green to red by its calls and labelled with them.
func busiestChart(t Table) ([]byte, error) {
	g := grid{}
	for i := range t.Rows {
		g.days = append(g.days, t.Cell(i, "Weekday").Text)
		row := make([]float64, 24)
		for h := range 24 {
			row[h], _ = t.Cell(i, fmt.Sprintf("%02d", h)).Number()
			g.max = max(g.max, row[h])
		}
		g.calls = append(g.calls, row)
	}
	p := newPlot(t.Title)
	p.X.Padding, p.Y.Padding = 0, 0
	if len(g.days) == 0 {
		p.Title.Text += ": no calls"
		p.HideAxes()
		return drawPNG(p, busiestHeight(0))
	}
	heat := plotter.NewHeatMap(g, greenYellowRed{})
	// An hour without calls is left pale; one call is green, the most red.
	heat.Min, heat.Max, heat.Underflow = 1, math.Max(g.max, 1.5), rgb(0xf3, 0xf4, 0xf6)
	p.Add(heat)
	var labels plotter.XYLabels
	for r, row := range g.calls {
		for h, n := range row {
			if n > 0 {
				labels.XYs = append(labels.XYs, plotter.XY{X: float64(h), Y: float64(len(g.days) - 1 - r)})
				labels.Labels = append(labels.Labels, strconv.FormatFloat(n, 'f', 0, 64))
			}
		}
	}
	if len(labels.XYs) > 0 {
		l, err := plotter.NewLabels(labels)
		if err != nil {
			return nil, err
		}
		for i := range l.TextStyle {
			l.TextStyle[i].Font.Variant, l.TextStyle[i].Font.Size = "Sans", 7
			l.TextStyle[i].XAlign, l.TextStyle[i].YAlign = -0.5, -0.5
		}
		p.Add(l)
	}
	hours := make([]string, 24)
	for h := range hours {
		hours[h] = fmt.Sprintf("%02d", h)
	}
	p.NominalX(hours...)
	days := make([]string, len(g.days))
	for r, d := range g.days {
		days[len(days)-1-r] = d // the first weekday on top
	}
	p.NominalY(days...)
	return drawPNG(p, busiestHeight(len(g.days)))
}

// busiestHeight is the height of the busiest-hours chart of days weekdays.
func busiestHeight(days int) int {
	if days == 0 {
		return 60
	}
	return 70 + 24*days
}

// wholeTicks marks whole numbers on a count axis: about 4 of them, at 1,
// 2 or 5 times a power of ten.
type wholeTicks struct{}

func (wholeTicks) Ticks(lo, hi float64) []plot.Tick {
	step := 1.0
	for _, m := range []float64{1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000} {
		if step = m; (hi-lo)/m <= 5 {
			break
		}
	}
	var out []plot.Tick
	for v := math.Ceil(lo/step) * step; v <= hi; v += step {
		out = append(out, plot.Tick{Value: v, Label: Thousands(int64(v))})
	}
	return out
}

// grid is the busiest hours as plotter.GridXYZ: column = hour, row =
// weekday, the first weekday on top.
type grid struct {
	days  []string
	calls [][]float64
	max   float64
}

func (g grid) Dims() (c, r int)   { return 24, len(g.days) }
func (g grid) Z(c, r int) float64 { return g.calls[len(g.days)-1-r][c] }
func (g grid) X(c int) float64    { return float64(c) }
func (g grid) Y(r int) float64    { return float64(r) }

// greenYellowRed is Grafana's continuous-GrYlRd scheme.
type greenYellowRed struct{}

func (greenYellowRed) Colors() []color.Color {
	stops := []color.RGBA{rgb(0x73, 0xbf, 0x69), rgb(0xfa, 0xde, 0x2a), rgb(0xf2, 0x49, 0x5c)}
	out := make([]color.Color, 64)
	for i := range out {
		f := float64(i) / float64(len(out)-1) * float64(len(stops)-1)
		k := min(int(f), len(stops)-2)
		a, b, w := stops[k], stops[k+1], f-float64(k)
		mix := func(x, y uint8) uint8 { return uint8(math.Round(float64(x)*(1-w) + float64(y)*w)) }
		out[i] = rgb(mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B))
	}
	return out
}
