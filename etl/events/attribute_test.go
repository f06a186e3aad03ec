package events

import (
	"slices"
	"strings"
	"testing"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// A leg goes to the configured targets whose call list would list it
// (docs/events.md): the target that is its own, its entry point, or the
// group it was placed as; an agent's own call, with neither an entry
// point nor a group, to the targets the agent is an operator of.
func TestALegIsAttributedToTheTargetsThatWouldListIt(t *testing.T) {
	support := dialpad.Target{Type: "department", ID: 700}
	sales := dialpad.Target{Type: "callcenter", ID: 900}
	office := dialpad.Target{Type: "office", ID: 50}
	configured := []dialpad.Target{support, sales, office}
	party := func(typ string, id int64) wire.Party { return wire.Party{Type: typ, ID: wire.ID(id)} }
	ana, bo := party("user", 11), party("user", 12)
	none := wire.Party{}
	// Ana is an operator of Support; Bo of Support, Sales and a
	// department that is not configured.
	ops := map[int64][]Operator{
		11: {{Target: support, Name: "Ana"}},
		12: {{Target: support, Name: "Bo"}, {Target: dialpad.Target{Type: "department", ID: 800}, Name: "Bo"}, {Target: sales, Name: "Bo"}},
	}
	cases := []struct {
		name                    string
		target, entry, placedAs wire.Party
		want                    []dialpad.Target
	}{
		{"the entry leg of a call into Support", party("department", 700), party("department", 700), none, []dialpad.Target{support}},
		{"Ana's leg of a call into Support", ana, party("department", 700), none, []dialpad.Target{support}},
		{"Bo's leg of a call into Sales: not his other targets", bo, party("callcenter", 900), none, []dialpad.Target{sales}},
		{"a leg with both an entry point and a group", ana, party("department", 700), party("callcenter", 900),
			[]dialpad.Target{support, sales}},
		{"Bo's call placed as Sales", bo, none, party("callcenter", 900), []dialpad.Target{sales}},
		{"Bo's own call: his configured targets", bo, none, none, []dialpad.Target{support, sales}},
		{"Ana's own call", ana, none, none, []dialpad.Target{support}},
		{"the own call of a user who is no operator", party("user", 13), none, none, nil},
		{"a call of the office's main line", party("office", 50), none, none, []dialpad.Target{office}},
		{"a call into a department not configured", party("department", 999), party("department", 999), none, nil},
		{"Ana's leg of a call into a department not configured", ana, party("department", 999), none, nil},
		{"a user whose id is Support's", party("user", 700), none, none, nil},
		{"an office whose id is Sales'", party("office", 900), party("office", 900), none, nil},
	}
	for _, c := range cases {
		e := &wire.CallEvent{Call: wire.Call{CallID: 1, Target: c.target, EntryPointTarget: c.entry, ProxyTarget: c.placedAs}}
		got := attribute(e, configured, ops)
		if !sameTargets(got, c.want) {
			t.Errorf("%s: attributed to %v, want %v", c.name, got, c.want)
		}
	}
}

// sameTargets reports whether a and b hold the same targets, each once.
func sameTargets(a, b []dialpad.Target) bool {
	key := func(ts []dialpad.Target) []string {
		var out []string
		for _, t := range ts {
			out = append(out, t.String())
		}
		slices.Sort(out)
		return out
	}
	return strings.Join(key(a), ",") == strings.Join(key(b), ",")
}
