package alerting

import (
	"context"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Storage runs the rules' queries on the warehouse and keeps the alerts'
// states in etl_settings, one name per alert (alert_mail:<rule uid>/<its
// labels>), the state as JSON. It is safe for concurrent use.
type Storage struct {
	db *db.DB
}

// NewStorage is the alerts' storage in the warehouse d.
func NewStorage(d *db.DB) *Storage { return &Storage{db: d} }

// statePrefix begins the etl_settings names of the alerts' states.
const statePrefix = "alert_mail:"

// Query runs sql and returns its rows: the text columns as labels, the
// first numeric one as the value (a row whose value is NULL is left out,
// as Grafana leaves out a series without a value).
func (s *Storage) Query(ctx context.Context, sql string) ([]Row, error) {
	rows, err := s.db.Query(ctx, sql)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	types := rows.ColumnTypes()
	value := -1
	for i, ct := range types {
		switch name := strings.TrimSuffix(strings.TrimPrefix(ct.DatabaseTypeName(), "Nullable("), ")"); {
		case name == "String" || strings.HasPrefix(name, "LowCardinality(") || strings.HasPrefix(name, "FixedString("):
		case value < 0:
			value = i
		default:
			return nil, fmt.Errorf("column %s (%s): one number and text labels wanted", ct.Name(), ct.DatabaseTypeName())
		}
	}
	if value < 0 {
		return nil, fmt.Errorf("no numeric column")
	}
	var out []Row
	dest := make([]any, len(types))
	for rows.Next() {
		for i, ct := range types {
			dest[i] = reflect.New(ct.ScanType()).Interface()
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		row := Row{Labels: map[string]string{}}
		ok := true
		for i, d := range dest {
			v := reflect.ValueOf(d).Elem()
			for v.Kind() == reflect.Pointer {
				if v.IsNil() {
					break
				}
				v = v.Elem()
			}
			if i != value {
				row.Labels[types[i].Name()] = fmt.Sprint(v.Interface())
				continue
			}
			switch v.Kind() {
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				row.Value = float64(v.Int())
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				row.Value = float64(v.Uint())
			case reflect.Float32, reflect.Float64:
				row.Value = v.Float()
			default:
				ok = false // NULL
			}
		}
		if ok {
			out = append(out, row)
		}
	}
	return out, rows.Err()
}

// States returns the alerts' states, by key (the name after its prefix).
func (s *Storage) States(ctx context.Context) (map[string]State, error) {
	if err := s.db.SyncGlobal(ctx, "etl_settings"); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT name, argMax(value, version) FROM etl_settings
		WHERE name LIKE '`+statePrefix+`%' GROUP BY name`)
	if err != nil {
		return nil, fmt.Errorf("read the alerts' states: %w", err)
	}
	defer rows.Close()
	out := map[string]State{}
	for rows.Next() {
		var name, value string
		if err := rows.Scan(&name, &value); err != nil {
			return nil, err
		}
		var st State
		if value == "" {
			continue // forgotten
		}
		if err := json.Unmarshal([]byte(value), &st); err != nil {
			return nil, fmt.Errorf("etl_settings %s: %w", name, err)
		}
		out[strings.TrimPrefix(name, statePrefix)] = st
	}
	return out, rows.Err()
}

// SaveState records key's state; a zero one is recorded empty
// (forgotten).
func (s *Storage) SaveState(ctx context.Context, key string, st State) error {
	value := ""
	if !st.zero() {
		b, err := json.Marshal(st)
		if err != nil {
			return err
		}
		value = string(b)
	}
	now := time.Now().UTC()
	if err := s.db.InsertRow(ctx, "etl_settings", "INSERT INTO etl_settings (name, value, updated_at, version)",
		statePrefix+key, value, now, db.Version(now)); err != nil {
		return fmt.Errorf("record the state of alert %s: %w", key, err)
	}
	return nil
}
