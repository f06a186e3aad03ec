package expand

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"time"
)

// AlertFile is the part of Grafana's alert rule provisioning file
// (apiVersion 1) that the tests read.
type AlertFile struct {
	APIVersion int         `json:"apiVersion"`
	Groups     []RuleGroup `json:"groups"`
}

type RuleGroup struct {
	OrgID    int    `json:"orgId"`
	Name     string `json:"name"`
	Folder   string `json:"folder"`
	Interval string `json:"interval"`
	Rules    []Rule `json:"rules"`
}

type Rule struct {
	UID          string            `json:"uid"`
	Title        string            `json:"title"`
	Condition    string            `json:"condition"`
	Data         []RuleQuery       `json:"data"`
	NoDataState  string            `json:"noDataState"`
	ExecErrState string            `json:"execErrState"`
	For          string            `json:"for"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	IsPaused     bool              `json:"isPaused"`
}

// RuleQuery is one of a rule's queries: SQL for the data source, or an
// expression (DatasourceUID "__expr__").
type RuleQuery struct {
	RefID             string `json:"refId"`
	DatasourceUID     string `json:"datasourceUid"`
	RelativeTimeRange struct {
		From int64 `json:"from"` // seconds before the evaluation
		To   int64 `json:"to"`
	} `json:"relativeTimeRange"`
	Model struct {
		RefID      string `json:"refId"`
		Datasource *DSRef `json:"datasource"`
		RawSQL     string `json:"rawSql"`
		Format     *int   `json:"format"`
		Type       string `json:"type"`       // of an expression: math, reduce, threshold, ...
		Expression string `json:"expression"` // of a math expression, e.g. "$A > $B"
	} `json:"model"`
}

// Query returns the rule's query with refID.
func (r *Rule) Query(refID string) (RuleQuery, bool) {
	for _, q := range r.Data {
		if q.RefID == refID {
			return q, true
		}
	}
	return RuleQuery{}, false
}

// At is the expansion of q evaluated at now: the time range is q's
// relative one, [now - from, now - to]. Grafana's backend evaluates alert
// rules, so no template variable exists: Expand fails on any.
func (q RuleQuery) At(now time.Time) *Expansion {
	from := time.Duration(q.RelativeTimeRange.From) * time.Second
	to := time.Duration(q.RelativeTimeRange.To) * time.Second
	return &Expansion{From: now.Add(-from), To: now.Add(-to)}
}

// LoadAlerts parses the alert rule provisioning file name of fsys.
func LoadAlerts(fsys fs.FS, name string) (*AlertFile, error) {
	raw, err := fs.ReadFile(fsys, name)
	if err != nil {
		return nil, err
	}
	var f AlertFile
	if err := json.Unmarshal(raw, &f); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return &f, nil
}
