package schema

import (
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
)

// Migration is one numbered file of the schema.
type Migration struct {
	Version    uint32
	Name       string
	Statements []string
}

// Migrations reads the embedded schema, in order.
func Migrations() ([]Migration, error) {
	names, err := fs.Glob(Files, "*.sql")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	var out []Migration
	for _, name := range names {
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.ParseUint(num, 10, 32)
		if !ok || err != nil {
			return nil, fmt.Errorf("schema file %s: name must start with a number and '_'", name)
		}
		body, err := fs.ReadFile(Files, name)
		if err != nil {
			return nil, err
		}
		out = append(out, Migration{Version: uint32(v), Name: name, Statements: splitStatements(string(body))})
	}
	return out, nil
}

// splitStatements splits SQL at semicolons that end a line and drops
// comment-only pieces.
func splitStatements(sql string) []string {
	var out []string
	var cur strings.Builder
	flush := func() {
		stmt := strings.TrimSpace(cur.String())
		cur.Reset()
		for _, line := range strings.Split(stmt, "\n") {
			if t := strings.TrimSpace(line); t != "" && !strings.HasPrefix(t, "--") {
				out = append(out, stmt)
				return
			}
		}
	}
	for _, line := range strings.SplitAfter(sql, "\n") {
		if t := strings.TrimRight(line, " \t\r\n"); strings.HasSuffix(t, ";") {
			cur.WriteString(strings.TrimSuffix(t, ";"))
			flush()
			continue
		}
		cur.WriteString(line)
	}
	flush()
	return out
}

// CallColumns are the columns of calls as the migrations leave them, in
// the order the load writes them.
var CallColumns = []string{
	"target_type", "target_id", "call_id", "conversation_id", "is_entry_leg",
	"direction", "status", "agent_id", "agent_name", "started_at", "started_ms",
	"day", "duration_ms", "total_duration_ms", "date_rang", "date_connected",
	"connected_ms", "date_ended", "state", "leg_target_type", "leg_target_id",
	"leg_target_name", "contact_id", "contact_name", "contact_phone",
	"contact_email", "contact_type", "external_number", "internal_number",
	"entry_point_call_id", "entry_point_target_type", "entry_point_target_id",
	"master_call_id", "operator_call_id", "group_id", "was_recorded",
	"is_transferred", "has_voicemail", "mos_score", "labels", "csat_score",
	"raw", "raw_hash", "loaded_at", "version", "queued_ms", "first_rang_ms", "hold_ms", "source",
	"csat_comments",
}
