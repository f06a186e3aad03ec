package report

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/grafana"
	"github.com/dialpad-etl/dialpad-etl/grafana/expand"
)

// This file runs the provisioned dashboards' panels as Grafana and the
// ClickHouse plugin would for one target, time range and zone, and reads
// their results by column name.

// The dashboards a report reads, by uid.
const (
	OverviewUID  = "dialpad-overview"
	HealthUID    = "dialpad-etl-health"
	WorkforceUID = "dialpad-workforce"
	ReasonsUID   = "dialpad-reasons"
)

// frame is what a panel's query returned. A value is a float64 (every
// integer and float type), a time.Time, a string, or nil for NULL.
type frame struct {
	cols  []string
	types []string // ClickHouse's, e.g. Nullable(Float64)
	rows  [][]any
}

func (f frame) col(name string) int { return slices.Index(f.cols, name) }

// number returns the number in column name of row i; false when there is
// none (no such column or row, NULL, not a number).
func (f frame) number(i int, name string) (float64, bool) {
	j := f.col(name)
	if j < 0 || i >= len(f.rows) {
		return 0, false
	}
	v, ok := f.rows[i][j].(float64)
	return v, ok
}

func (f frame) time(i int, name string) (time.Time, bool) {
	j := f.col(name)
	if j < 0 || i >= len(f.rows) {
		return time.Time{}, false
	}
	v, ok := f.rows[i][j].(time.Time)
	return v, ok
}

func (f frame) text(i int, name string) string {
	j := f.col(name)
	if j < 0 || i >= len(f.rows) || f.rows[i][j] == nil {
		return ""
	}
	return fmt.Sprint(f.rows[i][j])
}

// run sends sql and reads every row, each value by its column's type.
func run(ctx context.Context, conn driver.Conn, sql string) (frame, error) {
	rows, err := conn.Query(ctx, sql)
	if err != nil {
		return frame{}, err
	}
	defer rows.Close()
	var f frame
	types := rows.ColumnTypes()
	for _, ct := range types {
		f.cols = append(f.cols, ct.Name())
		f.types = append(f.types, ct.DatabaseTypeName())
	}
	dest := make([]any, len(types))
	for rows.Next() {
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return f, err
		}
		row := make([]any, len(dest))
		for i, d := range dest {
			row[i] = plain(reflect.ValueOf(d).Elem())
		}
		f.rows = append(f.rows, row)
	}
	return f, rows.Err()
}

// plain turns a scanned value into a float64, time.Time, string or nil.
func plain(v reflect.Value) any {
	for v.Kind() == reflect.Pointer || v.Kind() == reflect.Interface {
		if v.IsNil() {
			return nil
		}
		v = v.Elem()
	}
	switch v.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return float64(v.Int())
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return float64(v.Uint())
	case reflect.Float32, reflect.Float64:
		return v.Float()
	case reflect.String:
		return v.String()
	}
	if t, ok := v.Interface().(time.Time); ok {
		return t
	}
	return fmt.Sprint(v.Interface())
}

// view is one dashboard opened for one target over the report's range.
type view struct {
	conn  driver.Conn
	d     *expand.Dashboard
	e     *expand.Expansion
	label string // the target's text in the dashboard's target variable
}

// open sets d's variables as a manager who picks the target and the zone
// would: target and tz set, those of set as it says, every other variable
// at its default.
func open(ctx context.Context, conn driver.Conn, d *expand.Dashboard, target dialpad.Target, zone string,
	from, to time.Time, intervalS int64, set map[string]string) (*view, error) {
	v := &view{conn: conn, d: d, label: target.String(),
		e: &expand.Expansion{From: from, To: to, IntervalS: intervalS}}
	options := func(sql string) ([]expand.Option, error) {
		f, err := run(ctx, conn, sql)
		if err != nil {
			return nil, err
		}
		var out []expand.Option
		for _, row := range f.rows {
			o := expand.Option{Value: fmt.Sprint(row[0])}
			o.Text = o.Value
			if len(row) > 1 {
				o.Text = fmt.Sprint(row[1])
			}
			out = append(out, o)
		}
		return out, nil
	}
	pick := expand.Set("target", target.String(), expand.Set("tz", zone, expand.Default))
	for name, value := range set {
		pick = expand.Set(name, value, pick)
	}
	labelled := func(va expand.Variable, offered []expand.Option) (expand.Selection, error) {
		if va.Name == "target" {
			for _, o := range offered {
				if o.Value == target.String() {
					v.label = o.Text
				}
			}
		}
		return pick(va, offered)
	}
	if err := v.e.Resolve(d, options, labelled); err != nil {
		return nil, fmt.Errorf("dashboard %s: %w", d.UID, err)
	}
	return v, nil
}

// panel returns the panel titled title and what its query returns.
func (v *view) panel(ctx context.Context, title string) (expand.Panel, frame, error) {
	for _, p := range v.d.Leaves() {
		if p.Title != title {
			continue
		}
		for _, q := range p.Targets {
			if q.Hide || strings.TrimSpace(q.RawSQL) == "" {
				continue
			}
			sql, err := v.e.Expand(q.RawSQL)
			if err != nil {
				return p, frame{}, fmt.Errorf("dashboard %s, panel %q: %w", v.d.UID, title, err)
			}
			f, err := run(ctx, v.conn, sql)
			if err != nil {
				return p, frame{}, fmt.Errorf("dashboard %s, panel %q: %w", v.d.UID, title, err)
			}
			return p, f, nil
		}
		return p, frame{}, fmt.Errorf("dashboard %s, panel %q has no query", v.d.UID, title)
	}
	return expand.Panel{}, frame{}, fmt.Errorf("dashboard %s has no panel %q", v.d.UID, title)
}

// dashboards returns the provisioned dashboards with the uids asked for.
func dashboards(uids ...string) (map[string]*expand.Dashboard, error) {
	all, err := expand.Load(grafana.Files, "dashboards/*.json")
	if err != nil {
		return nil, err
	}
	out := map[string]*expand.Dashboard{}
	for _, d := range all {
		if slices.Contains(uids, d.UID) {
			out[d.UID] = d
		}
	}
	for _, uid := range uids {
		if out[uid] == nil {
			return nil, fmt.Errorf("no provisioned dashboard has uid %s", uid)
		}
	}
	return out, nil
}

// field is how panel p shows its field name: its unit and decimals, its
// text for no value, and whether it is hidden (the field config's
// defaults, then the overrides that match the name).
type field struct {
	unit    unit
	noValue string
	hidden  bool
}

func fieldOf(p expand.Panel, name string) field {
	def := p.FieldConfig.Defaults
	f := field{unit: unit{id: def.Unit, decimals: def.Decimals}, noValue: def.NoValue}
	for _, o := range p.FieldConfig.Overrides {
		if o.Matcher.ID != "byName" || o.Matcher.Options != name {
			continue
		}
		for _, prop := range o.Properties {
			switch prop.ID {
			case "unit":
				json.Unmarshal(prop.Value, &f.unit.id)
			case "decimals":
				var d int
				if json.Unmarshal(prop.Value, &d) == nil {
					f.unit.decimals = &d
				}
			case "noValue":
				json.Unmarshal(prop.Value, &f.noValue)
			case "custom.hidden":
				json.Unmarshal(prop.Value, &f.hidden)
			}
		}
	}
	return f
}

// show writes a value of the field, from a column of ClickHouse type typ,
// as the panel shows it: times in loc, a Date as its day.
func (f field) show(v any, typ string, loc *time.Location) string {
	switch v := v.(type) {
	case nil:
		return f.noValue
	case float64:
		return f.unit.number(v)
	case time.Time:
		if isDate(typ) {
			return v.Format(time.DateOnly)
		}
		return instant(v, loc)
	}
	return fmt.Sprint(v)
}

// isDate reports whether typ is ClickHouse's Date (not DateTime).
func isDate(typ string) bool {
	typ = strings.TrimSuffix(strings.TrimPrefix(typ, "Nullable("), ")")
	return typ == "Date" || typ == "Date32"
}
