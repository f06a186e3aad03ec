package grafana

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file expands a panel's SQL the way Grafana and the ClickHouse
// plugin (4.x) do before the server sees it:
//
//  1. the plugin's frontend replaces $__conditionalAll(cond, $var) by cond,
//     or by 1=1 when var is All or empty;
//  2. Grafana interpolates template variables: $var, ${var}, ${var:format}
//     and [[var]]; without a format the plugin's own formatter applies (a
//     multi-value variable, or All without an allValue, becomes 'a','b'; a
//     single value goes in as it is);
//  3. the plugin's backend expands $__timeFilter(col), $__fromTime,
//     $__toTime, $__dateFilter(col) and $__interval_s.

// selection is the state of one variable.
type selection struct {
	all    bool     // All is selected
	values []string // the selected values, or every value when all
}

// expansion is a time range and the variables' states.
type expansion struct {
	from, to  time.Time
	intervalS int64
	vars      map[string]selection
	defs      map[string]variable
}

// grafanaVar is Grafana's variable syntax (templateSrv's regex).
var grafanaVar = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// builtIn reports whether name is one of Grafana's or the plugin's own
// variables and macros, which a dashboard need not define.
func builtIn(name string) bool {
	return strings.HasPrefix(name, "__")
}

// expand returns sql as the server receives it.
func (e *expansion) expand(sql string) (string, error) {
	sql, err := e.conditionalAll(sql)
	if err != nil {
		return "", err
	}
	if sql, err = e.interpolate(sql, false); err != nil {
		return "", err
	}
	return e.macros(sql)
}

func (e *expansion) conditionalAll(sql string) (string, error) {
	const macro = "$__conditionalAll("
	for {
		i := strings.LastIndex(sql, macro)
		if i < 0 {
			return sql, nil
		}
		args, end, err := macroArgs(sql, i+len(macro)-1)
		if err != nil {
			return "", err
		}
		if len(args) != 2 {
			return "", fmt.Errorf("$__conditionalAll takes 2 arguments, got %d", len(args))
		}
		m := regexp.MustCompile(`^\s*\$\{?(\w+)\}?\s*$`).FindStringSubmatch(args[1])
		if m == nil {
			return "", fmt.Errorf("$__conditionalAll: second argument %q is not a variable", args[1])
		}
		sel, ok := e.vars[m[1]]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll: variable %q is not defined", m[1])
		}
		phrase := args[0]
		if sel.all || len(sel.values) == 0 || (len(sel.values) == 1 && sel.values[0] == "") {
			phrase = "1=1"
		}
		sql = sql[:i] + phrase + sql[end:]
	}
}

// macroArgs splits the arguments of the macro call whose "(" is at
// open, at commas outside nested parentheses, and returns the index after
// its ")".
func macroArgs(s string, open int) ([]string, int, error) {
	depth, last := 0, open+1
	var args []string
	for i := open; i < len(s); i++ {
		switch s[i] {
		case '(':
			depth++
		case ')':
			depth--
			if depth == 0 {
				return append(args, s[last:i]), i + 1, nil
			}
		case ',':
			if depth == 1 {
				args = append(args, s[last:i])
				last = i + 1
			}
		}
	}
	return nil, 0, fmt.Errorf("unbalanced parentheses after %q", s[max(0, open-20):open])
}

// interpolate replaces template variables. In a link (inLink), the
// data-link variables (${__data.fields.x}, ${__url_time_range}) are kept.
func (e *expansion) interpolate(s string, inLink bool) (string, error) {
	var errs []string
	out := grafanaVar.ReplaceAllStringFunc(s, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name, format := sub[1], ""
		switch {
		case sub[2] != "":
			name, format = sub[2], sub[3]
		case sub[4] != "":
			name, format = sub[4], sub[6]
			if sub[5] != "" && !builtIn(name) {
				errs = append(errs, fmt.Sprintf("%s: field paths are for built-in variables only", m))
			}
		}
		if builtIn(name) {
			return m
		}
		sel, ok := e.vars[name]
		if !ok {
			errs = append(errs, fmt.Sprintf("%s: variable %q is not defined", m, name))
			return m
		}
		v, err := e.format(name, sel, format)
		if err != nil {
			errs = append(errs, err.Error())
		}
		return v
	})
	if len(errs) > 0 {
		return "", fmt.Errorf("%s", strings.Join(errs, "; "))
	}
	return out, nil
}

func (e *expansion) format(name string, sel selection, format string) (string, error) {
	def := e.defs[name]
	values := sel.values
	if sel.all && def.AllValue != "" {
		return def.AllValue, nil
	}
	multi := def.Multi || sel.all
	quote := func(esc func(string) string) string {
		q := make([]string, len(values))
		for i, v := range values {
			q[i] = "'" + esc(v) + "'"
		}
		return strings.Join(q, ",")
	}
	switch format {
	case "":
		if multi {
			return quote(func(s string) string { return s }), nil
		}
		return strings.Join(values, ","), nil
	case "sqlstring":
		return quote(func(s string) string { return strings.ReplaceAll(s, "'", "''") }), nil
	case "singlequote":
		return quote(func(s string) string { return strings.ReplaceAll(s, "'", `\'`) }), nil
	case "raw", "csv":
		return strings.Join(values, ","), nil
	case "percentencode":
		// Grafana's encodeURIComponentStrict: only A-Za-z0-9-_.~ stay; a
		// multi-value variable is encoded as {a,b}.
		v := strings.Join(values, ",")
		if multi {
			v = "{" + v + "}"
		}
		return strictPercentEncode(v), nil
	case "queryparam":
		q := make([]string, len(values))
		for i, v := range values {
			q[i] = "var-" + name + "=" + url.QueryEscape(v)
		}
		if sel.all {
			return "var-" + name + "=$__all", nil
		}
		return strings.Join(q, "&"), nil
	}
	return "", fmt.Errorf("${%s:%s}: format not supported by these tests", name, format)
}

// strictPercentEncode is JavaScript's encodeURIComponent with !'()* also
// encoded, as Grafana's percentencode format does.
func strictPercentEncode(s string) string {
	var b strings.Builder
	for _, c := range []byte(s) {
		switch {
		case 'A' <= c && c <= 'Z', 'a' <= c && c <= 'z', '0' <= c && c <= '9', c == '-', c == '_', c == '.', c == '~':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

var (
	timeFilterMacro = regexp.MustCompile(`\$__timeFilter\(([^()]*)\)`)
	dateFilterMacro = regexp.MustCompile(`\$__dateFilter\(([^()]*)\)`)
	fromTimeMacro   = regexp.MustCompile(`\$__fromTime\b`)
	toTimeMacro     = regexp.MustCompile(`\$__toTime\b`)
	intervalSMacro  = regexp.MustCompile(`\$__interval_s\b`)
	anyMacro        = regexp.MustCompile(`\$__\w+`)
)

// macros expands the plugin backend's macros, as warehouse.md lists them.
func (e *expansion) macros(sql string) (string, error) {
	from, to := strconv.FormatInt(e.from.Unix(), 10), strconv.FormatInt(e.to.Unix(), 10)
	sql = timeFilterMacro.ReplaceAllStringFunc(sql, func(m string) string {
		col := strings.TrimSpace(timeFilterMacro.FindStringSubmatch(m)[1])
		return col + " >= toDateTime(" + from + ") AND " + col + " <= toDateTime(" + to + ")"
	})
	sql = dateFilterMacro.ReplaceAllStringFunc(sql, func(m string) string {
		col := strings.TrimSpace(dateFilterMacro.FindStringSubmatch(m)[1])
		return col + " >= toDate('" + e.from.UTC().Format(time.DateOnly) + "') AND " +
			col + " <= toDate('" + e.to.UTC().Format(time.DateOnly) + "')"
	})
	sql = fromTimeMacro.ReplaceAllString(sql, "toDateTime("+from+")")
	sql = toTimeMacro.ReplaceAllString(sql, "toDateTime("+to+")")
	sql = intervalSMacro.ReplaceAllString(sql, strconv.FormatInt(max(e.intervalS, 1), 10))
	if m := anyMacro.FindString(sql); m != "" {
		return "", fmt.Errorf("%s: macro not usable on ClickHouse 18.16 (or unknown)", m)
	}
	return sql, nil
}

func TestExpansionFollowsGrafanaAndThePlugin(t *testing.T) {
	from := time.Date(2025, 3, 3, 6, 0, 0, 0, time.UTC)
	e := &expansion{
		from: from, to: from.Add(24 * time.Hour), intervalS: 300,
		defs: map[string]variable{
			"dir":    {Name: "dir", Multi: true, IncludeAll: true},
			"agent":  {Name: "agent", Multi: true, IncludeAll: true},
			"one":    {Name: "one"},
			"search": {Name: "search", Type: "textbox"},
			"any":    {Name: "any", Multi: true, IncludeAll: true, AllValue: "*"},
		},
		vars: map[string]selection{
			"dir":    {values: []string{"inbound"}},
			"agent":  {all: true, values: []string{"1", "2"}},
			"one":    {values: []string{"department:7"}},
			"search": {values: []string{"O'Brien"}},
			"any":    {all: true, values: []string{"x"}},
		},
	}
	for _, c := range []struct{ in, want string }{
		{"$__conditionalAll(d IN (${dir}), $dir)", "d IN ('inbound')"},
		{"$__conditionalAll(d IN ($dir), ${dir})", "d IN ('inbound')"},
		{"$__conditionalAll(a IN (f(${agent}, 1)), $agent) AND x", "1=1 AND x"},
		{"a IN ($agent) OR a IN (${agent})", "a IN ('1','2') OR a IN ('1','2')"},
		{"t = '$one' AND t = '${one}'", "t = 'department:7' AND t = 'department:7'"},
		{"n = ${search:sqlstring}, ${search:singlequote}", `n = 'O''Brien', 'O\'Brien'`},
		{"n = '${search:percentencode}' AND d = '${dir:percentencode}'", `n = 'O%27Brien' AND d = '%7Binbound%7D'`},
		{"[[one]] $any", "department:7 *"},
		{"$__timeFilter(started_at)", "started_at >= toDateTime(1740981600) AND started_at <= toDateTime(1741068000)"},
		{"$__dateFilter(day) $__fromTime $__toTime $__interval_s", "day >= toDate('2025-03-03') AND day <= toDate('2025-03-04') toDateTime(1740981600) toDateTime(1741068000) 300"},
	} {
		got, err := e.expand(c.in)
		if err != nil || got != c.want {
			t.Errorf("expand(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"$nope", "${nope}", "$__timeGroup(t, 1h)", "$__fromTime_ms", "$__conditionalAll(a, b)"} {
		if got, err := e.expand(bad); err == nil {
			t.Errorf("expand(%q) = %q, want an error", bad, got)
		}
	}
}
