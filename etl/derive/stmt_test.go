package derive

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// bind writes s's arguments into its placeholders, as a reader would see
// the statement the server runs.
func bind(t *testing.T, s stmt) string {
	t.Helper()
	if n := strings.Count(s.sql, "?"); n != len(s.args) {
		t.Fatalf("%d placeholders, %d arguments in %q", n, len(s.args), s.sql)
	}
	var b strings.Builder
	args := s.args
	for _, r := range s.sql {
		if r == '?' {
			v := args[0]
			args = args[1:]
			if str, ok := v.(string); ok {
				v = "'" + str + "'"
			}
			fmt.Fprint(&b, v)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// Every statement of a recompute, its arguments written in: each lands
// in the placeholder of what it is (the target, the month, the version,
// the thresholds, the zone), whatever pieces of SQL with placeholders of
// their own stand before it.
func TestRecomputeStatementsPlaceEachArgumentWhereItBelongs(t *testing.T) {
	q := recomputeSQL{target: dialpad.Target{Type: "callcenter", ID: 77}, month: 202603, version: 999,
		days: newDaySet([]time.Time{time.Date(2026, 3, 8, 0, 0, 0, 0, time.UTC)})}
	kpi := Thresholds{ShortAbandon: 5 * time.Second, ServiceLevel: 20 * time.Second}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	target := "target_type = 'callcenter' AND target_id = 77"
	for _, c := range []struct {
		name string
		s    stmt
		want []string
	}{
		{"keepAgentDays", q.keepAgentDays(), []string{target + " AND toYYYYMM(day) = 202603 AND day NOT IN (toDate('2026-03-08'))"}},
		{"computeAgentDays", q.computeAgentDays(), []string{"toUInt64(999),", target + " AND agent_id != 0 AND started_at >= toDateTime(1772841600)"}},
		{"keepDaily", q.keepDaily(), []string{target + " AND toYYYYMM(day) = 202603"}},
		{"computeDaily", q.computeDaily(ny), []string{"' 00:00:00'), 'America/New_York')", "toUInt64(999)", target + " AND started_at"}},
		{"nameTarget", q.nameTarget(), []string{"toUInt64(999))", target + " AND started_at"}},
		{"keepConversations", q.keepConversations(), []string{
			target + " AND toYYYYMM(day) = 202603",
			"SELECT conversation_id FROM calls\n\t\tWHERE " + target + " AND started_at",
			"OR day IN (toDate('2026-03-07'), toDate('2026-03-08'), toDate('2026-03-09'))"}},
		{"computeConversations", q.computeConversations(kpi), []string{
			"toUInt64(999),\n\tminIf(queued_ms",
			"toUInt32(5000) AS c_short_ms, toUInt32(20000) AS c_level_ms",
			"WHERE " + target + " AND started_at >= toDateTime(1772755200)",
			"(conversation_id IN (SELECT conversation_id FROM calls\n\tWHERE " + target + " AND started_at >= toDateTime(1772841600)",
			"FROM conversations\n\tWHERE " + target + " AND day IN (toDate('2026-03-07')",
			"HAVING toYYYYMM(c_day) = 202603"}},
	} {
		got := bind(t, c.s)
		for _, w := range c.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: no %q in\n%s", c.name, w, got)
			}
		}
	}
}

// A template whose placeholders or slots do not match what it is given
// is refused when it is built, before any statement runs.
func TestSQLOfRefusesWhatDoesNotMatch(t *testing.T) {
	for _, c := range []struct {
		name     string
		template string
		parts    map[string]stmt
		args     []any
	}{
		{"an argument short", "a = ? AND b = ?", nil, []any{1}},
		{"an argument over", "a = ?", nil, []any{1, 2}},
		{"a slot without a piece", "a IN ({days})", nil, nil},
		{"a piece without a slot", "a = ?", map[string]stmt{"days": text("1")}, []any{1}},
	} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: built without complaint", c.name)
				}
			}()
			sqlOf(c.template, c.parts, c.args...)
		}()
	}
	got := sqlOf("x = ? AND {p} AND y = ?", map[string]stmt{"p": sqlOf("z IN (?, ?)", nil, "z1", "z2")}, "x", "y")
	if want := []any{"x", "z1", "z2", "y"}; fmt.Sprint(got.args) != fmt.Sprint(want) {
		t.Errorf("arguments %v, want %v: a piece's own in its place", got.args, want)
	}
}
