package expand

import (
	"fmt"
	"slices"
)

// Option is one value a variable offers, and the text Grafana shows for
// it (the value when the variable gives no text).
type Option struct {
	Value, Text string
}

// Picker chooses a variable's selection among the options it offers.
type Picker func(v Variable, offered []Option) (Selection, error)

// Resolve sets e's variables for d, in the order d defines them, so that a
// query variable may refer to those before it: a textbox takes its
// default, a constant its value, and a custom or query variable the
// selection pick makes of its options. query runs a query variable's SQL,
// expanded with e, and returns a row per option: the first column is the
// value and the second, when there is one, the text (as the ClickHouse
// plugin reads a variable's query). Other kinds of variable are left out.
func (e *Expansion) Resolve(d *Dashboard, query func(sql string) ([]Option, error), pick Picker) error {
	if e.Vars == nil {
		e.Vars = map[string]Selection{}
	}
	if e.Defs == nil {
		e.Defs = map[string]Variable{}
	}
	for _, v := range d.Templating.List {
		e.Defs[v.Name] = v
		var offered []Option
		switch v.Type {
		case "textbox", "constant":
			e.Vars[v.Name] = Selection{Values: []string{v.SQL()}}
			continue
		case "custom":
			for _, val := range v.CustomValues() {
				offered = append(offered, Option{Value: val, Text: val})
			}
		case "query":
			sql, err := e.Expand(v.SQL())
			if err != nil {
				return fmt.Errorf("variable %s: %w", v.Name, err)
			}
			if offered, err = query(sql); err != nil {
				return fmt.Errorf("variable %s: %w", v.Name, err)
			}
		default:
			continue
		}
		sel, err := pick(v, offered)
		if err != nil {
			return fmt.Errorf("variable %s: %w", v.Name, err)
		}
		e.Vars[v.Name] = sel
	}
	return nil
}

// Values returns the options' values.
func Values(offered []Option) []string {
	out := make([]string, len(offered))
	for i, o := range offered {
		out[i] = o.Value
	}
	return out
}

// Default picks as Grafana does when a dashboard opens without the
// variable in its URL: the saved current value when the variable still
// offers it, else All when the variable has one, else its first value.
// A variable that offers nothing is an error.
func Default(v Variable, offered []Option) (Selection, error) {
	values := Values(offered)
	if len(values) == 0 {
		return Selection{}, fmt.Errorf("offers no values")
	}
	var current []string
	switch c := v.Current.Value.(type) {
	case string:
		current = []string{c}
	case []any:
		for _, x := range c {
			if s, ok := x.(string); ok {
				current = append(current, s)
			}
		}
	}
	switch {
	case v.IncludeAll && slices.Contains(current, "$__all"):
		return Selection{All: true, Values: values}, nil
	case len(current) > 0 && !slices.ContainsFunc(current, func(c string) bool { return !slices.Contains(values, c) }):
		return Selection{Values: current}, nil
	case v.IncludeAll:
		return Selection{All: true, Values: values}, nil
	}
	return Selection{Values: values[:1]}, nil
}

// Set returns a picker that selects value for the variable name, whether
// or not the variable offers it (its SQL takes any value), and leaves the
// others to pick.
func Set(name, value string, pick Picker) Picker {
	return func(v Variable, offered []Option) (Selection, error) {
		if v.Name != name {
			return pick(v, offered)
		}
		return Selection{Values: []string{value}}, nil
	}
}
