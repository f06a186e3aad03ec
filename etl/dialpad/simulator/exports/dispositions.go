package exports

import (
	"encoding/csv"
	"fmt"
	"io"
	"sort"
	"strconv"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// The records CSV of a dispositions export (stat_type "dispositions",
// records only, a target required): a header, then one row per
// disposition an agent picked, for the target's agent legs that ended by
// the time the export was requested and started in its local days,
// oldest first, a leg's dispositions in the order it has them. The
// dispositions are traffic's (Company.Dispositions), as the dispositions
// events give them. Dialpad does not publish the columns: their names,
// meanings and order are [assume], and a setting (Config.
// DispositionColumns) so that a reader can be tested against others.
//
//	date_started        the agent leg's, naive local time like the calls CSV's
//	call_id             the agent leg's
//	timezone            the request's
//	target_type         the export's target
//	target_id
//	name                the target's name
//	agent_name          the agent's display name
//	agent_email
//	disposition         the disposition's name
//	notes               the agent's note; usually empty
//
// and, not written unless asked for: entry_point_call_id (the call's
// entry leg), date_ended, disposition_id (as the event gives it) and
// contact_name.

// DefaultDispositionColumns are the dispositions CSV's columns unless
// configured otherwise.
var DefaultDispositionColumns = []string{"date_started", "call_id", "timezone", "target_type", "target_id", "name",
	"agent_name", "agent_email", "disposition", "notes"}

// DispositionColumnNames are every column the dispositions CSV can have.
var DispositionColumnNames = append(append([]string{}, DefaultDispositionColumns...),
	"entry_point_call_id", "date_ended", "disposition_id", "contact_name")

// CheckDispositionColumns reports the first of cols that the
// dispositions CSV does not know, or that repeats one before it.
func CheckDispositionColumns(cols []string) error {
	seen := map[string]bool{}
	for _, c := range cols {
		known := false
		for _, k := range DispositionColumnNames {
			known = known || c == k
		}
		switch {
		case !known:
			return fmt.Errorf("unknown dispositions column %q (known: %v)", c, DispositionColumnNames)
		case seen[c]:
			return fmt.Errorf("dispositions column %q twice", c)
		}
		seen[c] = true
	}
	return nil
}

// dispositionNotes are the notes agents leave with a disposition, some
// of them text a reader must keep as it is.
var dispositionNotes = []string{
	"Customer will call back after 5pm",
	"Sent a copy of the invoice by email",
	`Asked about the "premium" plan, see ticket #4411`,
	"Escalated to supervisor; promised a callback tomorrow",
	"Left the case open,\nwaiting for documents",
}

// writeDispositions writes the dispositions CSV of e to w, rendering each
// row as it goes; it stops when a write fails.
func (st *Store) writeDispositions(w io.Writer, e *Export) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if cw.Write(st.dispCol) != nil {
		return
	}
	ix, _ := st.tr.Index(e.q.Target)
	legs := st.tr.List()
	first := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started < e.q.To })
	past := sort.Search(len(ix), func(i int) bool { return legs[ix[i]].Started < e.q.From })
	c := st.tr.Company()
	var tgt *traffic.Party // nil: the office, through whose line no call came
	for pi := range c.Parties {
		if c.Target(pi) == e.q.Target {
			tgt = &c.Parties[pi]
		}
	}
	if tgt == nil {
		first = past
	}
	rec := make([]string, len(st.dispCol))
	for p := past - 1; p >= first; p-- {
		l := &legs[ix[p]]
		if l.EntryID == 0 || l.Ended > e.created {
			continue
		}
		h, _ := st.tr.LegHashes(l)
		agent, cust := &c.Parties[l.Target], &c.Customers[l.Contact]
		for i, d := range c.Dispositions(l, h) {
			for k, col := range st.dispCol {
				v := ""
				switch col {
				case "date_started":
					v = naiveTime(l.Started, e.loc, true)
				case "call_id":
					v = strconv.FormatInt(l.ID, 10)
				case "timezone":
					v = e.q.TZ
				case "target_type":
					v = tgt.Type
				case "target_id":
					v = strconv.FormatInt(tgt.ID, 10)
				case "name":
					v = tgt.Name
				case "agent_name":
					v = agent.Name
				case "agent_email":
					v = agent.Email
				case "disposition":
					v = d
				case "notes":
					v = dispositionNote(h, i)
				case "entry_point_call_id":
					v = strconv.FormatInt(l.EntryID, 10)
				case "date_ended":
					v = naiveTime(l.Ended, e.loc, false)
				case "disposition_id":
					v = strconv.FormatInt(c.DispositionID(d), 10)
				case "contact_name":
					v = cust.Name
				}
				rec[k] = v
			}
			if cw.Write(rec) != nil {
				return // the client went away
			}
		}
	}
	cw.Flush()
}

// dispositionNote is the note of a leg's i-th disposition, from its hash
// h: one in eight has one.
func dispositionNote(h uint64, i int) string {
	n := traffic.Mix64(h ^ 0x2077E5 + uint64(i))
	if n&7 != 0 {
		return ""
	}
	return dispositionNotes[int(n>>3)%len(dispositionNotes)]
}
