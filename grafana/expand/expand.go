package expand

import (
	"fmt"
	"net/url"
	"regexp"
	"strconv"
	"strings"
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

// Selection is the state of one variable.
type Selection struct {
	All    bool     // All is selected
	Values []string // the selected values, or every value when All
}

// Expansion is a time range and the variables' states.
type Expansion struct {
	From, To  time.Time
	IntervalS int64                // $__interval_s
	Vars      map[string]Selection // by variable name
	Defs      map[string]Variable  // by variable name: Multi, AllValue
}

// grafanaVar is Grafana's variable syntax (templateSrv's regex).
var grafanaVar = regexp.MustCompile(`\$(\w+)|\[\[(\w+?)(?::(\w+))?\]\]|\$\{(\w+)(?:\.([^:^\}]+))?(?::([^\}]+))?\}`)

// BuiltIn reports whether name is one of Grafana's or the plugin's own
// variables and macros, which a dashboard need not define.
func BuiltIn(name string) bool {
	return strings.HasPrefix(name, "__")
}

// Expand returns sql as the server receives it.
func (e *Expansion) Expand(sql string) (string, error) {
	sql, err := e.conditionalAll(sql)
	if err != nil {
		return "", err
	}
	if sql, err = e.interpolate(sql, false); err != nil {
		return "", err
	}
	return e.macros(sql)
}

func (e *Expansion) conditionalAll(sql string) (string, error) {
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
		sel, ok := e.Vars[m[1]]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll: variable %q is not defined", m[1])
		}
		phrase := args[0]
		if sel.All || len(sel.Values) == 0 || (len(sel.Values) == 1 && sel.Values[0] == "") {
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
func (e *Expansion) interpolate(s string, inLink bool) (string, error) {
	var errs []string
	out := grafanaVar.ReplaceAllStringFunc(s, func(m string) string {
		sub := grafanaVar.FindStringSubmatch(m)
		name, format := sub[1], ""
		switch {
		case sub[2] != "":
			name, format = sub[2], sub[3]
		case sub[4] != "":
			name, format = sub[4], sub[6]
			if sub[5] != "" && !BuiltIn(name) {
				errs = append(errs, fmt.Sprintf("%s: field paths are for built-in variables only", m))
			}
		}
		if BuiltIn(name) {
			return m
		}
		sel, ok := e.Vars[name]
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

func (e *Expansion) format(name string, sel Selection, format string) (string, error) {
	def := e.Defs[name]
	values := sel.Values
	if sel.All && def.AllValue != "" {
		return def.AllValue, nil
	}
	multi := def.Multi || sel.All
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
		if sel.All {
			return "var-" + name + "=$__all", nil
		}
		return strings.Join(q, "&"), nil
	}
	return "", fmt.Errorf("${%s:%s}: format not supported here", name, format)
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
func (e *Expansion) macros(sql string) (string, error) {
	from, to := strconv.FormatInt(e.From.Unix(), 10), strconv.FormatInt(e.To.Unix(), 10)
	sql = timeFilterMacro.ReplaceAllStringFunc(sql, func(m string) string {
		col := strings.TrimSpace(timeFilterMacro.FindStringSubmatch(m)[1])
		return col + " >= toDateTime(" + from + ") AND " + col + " <= toDateTime(" + to + ")"
	})
	sql = dateFilterMacro.ReplaceAllStringFunc(sql, func(m string) string {
		col := strings.TrimSpace(dateFilterMacro.FindStringSubmatch(m)[1])
		return col + " >= toDate('" + e.From.UTC().Format(time.DateOnly) + "') AND " +
			col + " <= toDate('" + e.To.UTC().Format(time.DateOnly) + "')"
	})
	sql = fromTimeMacro.ReplaceAllString(sql, "toDateTime("+from+")")
	sql = toTimeMacro.ReplaceAllString(sql, "toDateTime("+to+")")
	sql = intervalSMacro.ReplaceAllString(sql, strconv.FormatInt(max(e.IntervalS, 1), 10))
	if m := anyMacro.FindString(sql); m != "" {
		return "", fmt.Errorf("%s: macro not usable on ClickHouse 18.16 (or unknown)", m)
	}
	return sql, nil
}

// References returns the names of the template variables s refers to,
// built-ins left out.
func References(s string) []string {
	var out []string
	for _, m := range grafanaVar.FindAllStringSubmatch(s, -1) {
		name := m[1] + m[2] + m[4]
		if !BuiltIn(name) {
			out = append(out, name)
		}
	}
	return out
}
