package expand

import (
	"encoding/json"
	"reflect"
	"testing"
)

func TestResolvePicksLikeGrafana(t *testing.T) {
	var d Dashboard
	if err := json.Unmarshal([]byte(`{"templating": {"list": [
		{"name": "target", "type": "query", "query": {"rawSql": "SELECT t, label FROM targets"}, "current": {}},
		{"name": "tz", "type": "custom", "query": "UTC,America/Chicago", "current": {"text": "UTC", "value": "UTC"}},
		{"name": "agent", "type": "query", "multi": true, "includeAll": true,
			"query": {"rawSql": "SELECT a FROM agents WHERE t = '${target}' AND z = '${tz}'"}, "current": {"value": ["$__all"]}},
		{"name": "dir", "type": "custom", "multi": true, "query": "inbound,outbound", "current": {"value": ["gone"]}},
		{"name": "search", "type": "textbox", "query": "smith"},
		{"name": "ds", "type": "datasource"}
	]}}`), &d); err != nil {
		t.Fatal(err)
	}
	var asked []string
	query := func(sql string) ([]Option, error) {
		asked = append(asked, sql)
		if sql == "SELECT t, label FROM targets" {
			return []Option{{"department:1", "Sales (department:1)"}, {"department:2", "Support (department:2)"}}, nil
		}
		return []Option{{"7", "7"}, {"9", "9"}}, nil
	}
	e := &Expansion{}
	if err := e.Resolve(&d, query, Set("tz", "America/Chicago", Default)); err != nil {
		t.Fatal(err)
	}
	want := map[string]Selection{
		"target": {Values: []string{"department:1"}},      // no current value: the first
		"tz":     {Values: []string{"America/Chicago"}},   // set
		"agent":  {All: true, Values: []string{"7", "9"}}, // saved All
		"dir":    {Values: []string{"inbound"}},           // a saved value it no longer offers: the first
		"search": {Values: []string{"smith"}},             // a textbox's default
	}
	if !reflect.DeepEqual(e.Vars, want) {
		t.Errorf("variables %v, want %v", e.Vars, want)
	}
	if len(asked) != 2 || asked[1] != "SELECT a FROM agents WHERE t = 'department:1' AND z = 'America/Chicago'" {
		t.Errorf("queries %q: the agent query must see the variables before it", asked)
	}
	if _, ok := e.Defs["ds"]; !ok {
		t.Error("every variable's definition is kept")
	}

	empty := func(string) ([]Option, error) { return nil, nil }
	if err := (&Expansion{}).Resolve(&d, empty, Default); err == nil || err.Error() != "variable target: offers no values" {
		t.Errorf("a variable without values: %v", err)
	}
}
