package dialpad

import (
	"fmt"
	"log/slog"
	"strconv"
	"strings"
)

// Target is what the job pulls calls for: a department, call center,
// office or user.
type Target struct {
	Type string // "department", "callcenter", "office" or "user"
	ID   int64
}

// TargetTypes are the target types the job can pull.
var TargetTypes = []string{"department", "callcenter", "office", "user"}

// ParseTarget reads "type:id", e.g. "department:4869792674824192".
func ParseTarget(s string) (Target, error) {
	typ, id, ok := strings.Cut(strings.TrimSpace(s), ":")
	if !ok {
		return Target{}, fmt.Errorf("target %q: want type:id, e.g. department:4869792674824192", s)
	}
	typ = strings.ToLower(strings.TrimSpace(typ))
	known := false
	for _, t := range TargetTypes {
		known = known || t == typ
	}
	if !known {
		return Target{}, fmt.Errorf("target %q: unknown type %q (want one of %s)", s, typ, strings.Join(TargetTypes, ", "))
	}
	n, err := strconv.ParseInt(strings.TrimSpace(id), 10, 64)
	if err != nil || n <= 0 {
		return Target{}, fmt.Errorf("target %q: id must be a positive integer", s)
	}
	return Target{Type: typ, ID: n}, nil
}

// ParseTargets reads a comma-separated list of targets.
func ParseTargets(s string) ([]Target, error) {
	var out []Target
	seen := map[Target]bool{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		t, err := ParseTarget(part)
		if err != nil {
			return nil, err
		}
		if !seen[t] {
			seen[t] = true
			out = append(out, t)
		}
	}
	return out, nil
}

func (t Target) String() string { return t.Type + ":" + strconv.FormatInt(t.ID, 10) }

// LogValue logs a target as its String, department:123, in text and JSON
// logs alike.
func (t Target) LogValue() slog.Value { return slog.StringValue(t.String()) }

// operatorsPath is the operators endpoint of a group target.
func (t Target) operatorsPath() (string, bool) {
	switch t.Type {
	case "department":
		return fmt.Sprintf("/api/v2/departments/%d/operators", t.ID), true
	case "callcenter":
		return fmt.Sprintf("/api/v2/callcenters/%d/operators", t.ID), true
	case "office":
		return fmt.Sprintf("/api/v2/offices/%d/operators", t.ID), true
	}
	return "", false
}
