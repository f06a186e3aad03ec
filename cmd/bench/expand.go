package main

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// The expansion of a panel's SQL as Grafana and the ClickHouse plugin (4.x)
// do it, reduced to what the dashboards use: $__conditionalAll(cond, $var),
// template variables ($var, ${var}, ${var:sqlstring}), then $__timeFilter,
// $__dateFilter, $__fromTime, $__toTime and $__interval_s. (The grafana
// package's tests hold the complete version; it exports none.)

// selection is a variable's state: All, or the values chosen.
type selection struct {
	all      bool
	values   []string
	allValue string // the variable's custom all value, if any
	multi    bool
}

type expansion struct {
	from, to  time.Time
	intervalS int64
	vars      map[string]selection
}

var (
	varRef          = regexp.MustCompile(`\$(\w+)|\$\{(\w+)(?::(\w+))?\}`)
	condAllStart    = "$__conditionalAll("
	timeFilterMacro = regexp.MustCompile(`\$__timeFilter\(([^()]*)\)`)
	dateFilterMacro = regexp.MustCompile(`\$__dateFilter\(([^()]*)\)`)
)

func (e *expansion) expand(sql string) (string, error) {
	sql, err := e.conditionalAll(sql)
	if err != nil {
		return "", err
	}
	var bad []string
	sql = varRef.ReplaceAllStringFunc(sql, func(m string) string {
		sub := varRef.FindStringSubmatch(m)
		name, format := sub[1]+sub[2], sub[3]
		if strings.HasPrefix(name, "__") {
			return m
		}
		sel, ok := e.vars[name]
		if !ok {
			bad = append(bad, m)
			return m
		}
		return sel.format(format)
	})
	if len(bad) > 0 {
		return "", fmt.Errorf("undefined variables %v", bad)
	}
	from, to := strconv.FormatInt(e.from.Unix(), 10), strconv.FormatInt(e.to.Unix(), 10)
	sql = timeFilterMacro.ReplaceAllString(sql, "$1 >= toDateTime("+from+") AND $1 <= toDateTime("+to+")")
	sql = dateFilterMacro.ReplaceAllString(sql, "$1 >= toDate('"+e.from.UTC().Format(time.DateOnly)+"') AND $1 <= toDate('"+e.to.UTC().Format(time.DateOnly)+"')")
	sql = strings.NewReplacer("$__fromTime", "toDateTime("+from+")", "$__toTime", "toDateTime("+to+")",
		"$__interval_s", strconv.FormatInt(max(e.intervalS, 1), 10)).Replace(sql)
	if i := strings.Index(sql, "$__"); i >= 0 {
		return "", fmt.Errorf("macro not expanded: %.30s", sql[i:])
	}
	return sql, nil
}

func (s selection) format(format string) string {
	if s.all && s.allValue != "" {
		return s.allValue
	}
	quote := func(esc func(string) string) string {
		q := make([]string, len(s.values))
		for i, v := range s.values {
			q[i] = "'" + esc(v) + "'"
		}
		return strings.Join(q, ",")
	}
	switch {
	case format == "sqlstring":
		return quote(func(v string) string { return strings.ReplaceAll(v, "'", "''") })
	case format == "" && (s.multi || s.all):
		return quote(func(v string) string { return v })
	}
	return strings.Join(s.values, ",")
}

// conditionalAll replaces $__conditionalAll(cond, $var) by cond, or by 1=1
// when var is All or empty.
func (e *expansion) conditionalAll(sql string) (string, error) {
	for {
		i := strings.LastIndex(sql, condAllStart)
		if i < 0 {
			return sql, nil
		}
		open := i + len(condAllStart) - 1
		depth, comma, end := 0, -1, -1
		for k := open; k < len(sql) && end < 0; k++ {
			switch sql[k] {
			case '(':
				depth++
			case ')':
				if depth--; depth == 0 {
					end = k
				}
			case ',':
				if depth == 1 {
					comma = k
				}
			}
		}
		if comma < 0 || end < 0 {
			return "", fmt.Errorf("malformed $__conditionalAll at %.40s", sql[i:])
		}
		name := strings.Trim(strings.TrimSpace(sql[comma+1:end]), "${}")
		sel, ok := e.vars[name]
		if !ok {
			return "", fmt.Errorf("$__conditionalAll: variable %q is not defined", name)
		}
		phrase := sql[open+1 : comma]
		if sel.all || len(sel.values) == 0 || (len(sel.values) == 1 && sel.values[0] == "") {
			phrase = "1=1"
		}
		sql = sql[:i] + phrase + sql[end+1:]
	}
}
