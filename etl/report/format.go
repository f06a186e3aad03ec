package report

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// This file formats a panel's values by the units of its field config,
// as Grafana shows them, for the units the dashboards use. One
// difference: a count ("short", or no unit) is written out whole with
// thousands separators (1,234) where Grafana would scale it (1.23 K).

// unit is how a field is shown: Grafana's unit id and decimals (nil:
// Grafana picks).
type unit struct {
	id       string
	decimals *int
}

// number formats v.
func (u unit) number(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	switch u.id {
	case "percentunit":
		return fixed(100*v, u.decimals) + "%"
	case "percent":
		return fixed(v, u.decimals) + "%"
	case "s":
		return seconds(v, u.decimals)
	case "ms":
		return seconds(v/1000, u.decimals)
	case "dthms":
		return hms(v)
	case "dtdurations":
		return duration(v, u.decimals)
	}
	if u.decimals == nil && v == math.Trunc(v) && math.Abs(v) < 1e15 {
		return Thousands(int64(v))
	}
	return fixed(v, u.decimals)
}

// fixed writes v with decimals places, or, without them, as Grafana
// would: whole numbers whole, others with a few places by their size.
func fixed(v float64, decimals *int) string {
	d := 0
	switch {
	case decimals != nil:
		d = max(*decimals, 0)
	case v == math.Trunc(v):
	case math.Abs(v) >= 100:
	case math.Abs(v) >= 10:
		d = 1
	default:
		d = 2
	}
	s := strconv.FormatFloat(v, 'f', d, 64)
	if s == "-0" || strings.HasPrefix(s, "-0.") && strings.Trim(s[3:], "0") == "" {
		s = s[1:]
	}
	return s
}

// seconds is Grafana's "s" unit: seconds under a minute, then minutes,
// hours, days, weeks and years, each scaled with the decimals.
func seconds(v float64, decimals *int) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0 s"
	case a < 0.001:
		return fixed(v*1e6, decimals) + " µs"
	case a < 1:
		return fixed(v*1e3, decimals) + " ms"
	case a < 60:
		return fixed(v, decimals) + " s"
	case a < 3600:
		return fixed(v/60, decimals) + " min"
	case a < 86400:
		return fixed(v/3600, decimals) + " hour"
	case a < 604800:
		return fixed(v/86400, decimals) + " day"
	case a < 31536000:
		return fixed(v/604800, decimals) + " week"
	}
	return fixed(v/3.15569e7, decimals) + " year"
}

// hms is Grafana's "dthms": hh:mm:ss, the seconds cut, not rounded.
func hms(v float64) string {
	if v < 0 {
		return "-" + hms(-v)
	}
	s := int64(v)
	two := func(n int64) string {
		if n < 10 {
			return "0" + strconv.FormatInt(n, 10)
		}
		return strconv.FormatInt(n, 10)
	}
	return two(s/3600) + ":" + two(s%3600/60) + ":" + two(s%60)
}

// duration is Grafana's "dtdurations": the largest whole unit, and as
// many smaller ones as the decimals ask, e.g. "2 hours, 5 minutes".
func duration(v float64, decimals *int) string {
	if v == 0 {
		return "0 seconds"
	}
	if v < 0 {
		return "-" + duration(-v, decimals)
	}
	units := []struct {
		name string
		sec  float64
	}{{"year", 31536000}, {"month", 2592000}, {"week", 604800}, {"day", 86400}, {"hour", 3600},
		{"minute", 60}, {"second", 1}, {"millisecond", 0.001}}
	more := 0
	if decimals != nil {
		more = *decimals
	}
	var parts []string
	for _, u := range units {
		n := math.Floor(v / u.sec)
		if n < 1 && len(parts) == 0 {
			continue
		}
		name := u.name
		if n != 1 {
			name += "s"
		}
		parts = append(parts, strconv.FormatFloat(n, 'f', 0, 64)+" "+name)
		v -= n * u.sec
		if len(parts) > more {
			break
		}
	}
	return strings.Join(parts, ", ")
}

// Thousands writes n with commas between groups of three digits, as the
// report writes counts.
func Thousands(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// instant writes a time in the reporting zone as Grafana's tables do.
func instant(t time.Time, loc *time.Location) string {
	return t.In(loc).Format(time.DateTime)
}
