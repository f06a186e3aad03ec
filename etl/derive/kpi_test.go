package derive_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/transform"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/handbuilt"
)

// The customers of the KPI fixture.
const (
	n1 = "+15550000001"
	n2 = "+15550000002"
	n3 = "+15550000003"
	n4 = "+15550000004"
	n5 = "+15550000005"
)

// kpiLeg is a leg of the KPI fixture, with what only events tell.
type kpiLeg struct {
	call              wire.Call
	queued, firstRang string
	holdMs            uint64
	later             bool // read by the later loads only
}

func inbound(id int64, number, started string, total wire.Float) wire.Call {
	return wire.Call{CallID: wire.ID(id), Direction: "inbound", Target: deptParty, ExternalNumber: number,
		DateStarted: ms(started), TotalDuration: total}
}

func ringLeg(id, entry, who int64, started string) wire.Call {
	return wire.Call{CallID: wire.ID(id), Direction: "inbound", Target: handbuilt.Agent(who), EntryPointCallID: wire.ID(entry),
		EntryPointTarget: deptParty, DateStarted: ms(started)}
}

func connected(c wire.Call, at string, talk wire.Float) wire.Call {
	c.DateConnected, c.Duration = ms(at), talk
	return c
}

// kpiFixture is the department's calls in New York (UTC-5 in February),
// one conversation per letter. Each edge of the KPIs' definitions is in
// it; the expected figures in TestKPIsOnHandBuiltConversations are worked
// out by hand from the definitions of docs/counting.md.
func kpiFixture() []kpiLeg {
	h := connected(ringLeg(4102, 4101, cy, "2026-02-06T15:00:06.000Z"), "2026-02-06T15:00:10.000Z", 45000)
	h.TotalDuration = 49000
	d := connected(wire.Call{CallID: 2101, Direction: "outbound", Target: handbuilt.Agent(ana), ExternalNumber: n2,
		DateStarted: ms("2026-02-04T16:00:00.000Z")}, "2026-02-04T16:00:10.000Z", 60000)
	e := inbound(2201, n2, "2026-02-10T18:00:00.000Z", 30000)
	e.VoicemailLink = "https://example.invalid/vm/2201"
	return []kpiLeg{
		// A: answered exactly at the 60 s threshold; N1 calls again 6 d 23 h later (B): a repeat.
		{call: connected(inbound(1001, n1, "2026-02-02T15:00:00.000Z", 200000), "2026-02-02T15:01:00.000Z", 120000)},
		{call: connected(ringLeg(1002, 1001, ana, "2026-02-02T15:00:50.000Z"), "2026-02-02T15:01:00.000Z", 120000)},
		// B: answered after 61 s, passed from Ana to Ben: transferred. Read by the second load only.
		{call: connected(inbound(1101, n1, "2026-02-09T14:00:00.000Z", 150000), "2026-02-09T14:01:01.000Z", 100000), later: true},
		{call: connected(ringLeg(1102, 1101, ana, "2026-02-09T14:00:55.000Z"), "2026-02-09T14:01:01.000Z", 30000), later: true},
		{call: connected(ringLeg(1103, 1101, ben, "2026-02-09T14:01:30.000Z"), "2026-02-09T14:01:35.000Z", 40000), later: true},
		// C: N2 abandoned after 20 s; Ana reached N2 23 h later (D, outbound): recovered.
		// N2 called again 7 d 1 h later (E, to voicemail): not a repeat.
		{call: inbound(2001, n2, "2026-02-03T17:00:00.000Z", 20000)},
		{call: ringLeg(2002, 2001, ben, "2026-02-03T17:00:05.000Z")},
		{call: d, later: true},
		{call: e},
		// F: hung up after exactly 5 s: a short abandon.
		{call: inbound(3001, n3, "2026-02-05T13:00:00.000Z", 5000)},
		// G: hung up after 5.001 s: abandoned. N4 called back 25 h later (H): a repeat, not a recovery.
		{call: inbound(4001, n4, "2026-02-05T14:00:00.000Z", 5001)},
		// H: events say N4 queued at +4 s and Cy first rang at +6 s; Cy answered at +10 s and held 15 s.
		{call: connected(inbound(4101, n4, "2026-02-06T15:00:00.000Z", 70000), "2026-02-06T15:00:10.000Z", 45000),
			queued: "2026-02-06T15:00:04.000Z"},
		{call: h, firstRang: "2026-02-06T15:00:06.000Z", holdMs: 15000},
		// I: started at 23:59:59 in New York (04:59:59 UTC on the 7th); Ben answered after midnight.
		{call: connected(inbound(5001, n5, "2026-02-07T04:59:59.000Z", 40000), "2026-02-07T05:00:29.000Z", 10000)},
		{call: connected(ringLeg(5002, 5001, ben, "2026-02-07T05:00:20.000Z"), "2026-02-07T05:00:29.000Z", 10000)},
		// J and K: no number. J abandoned; K, a minute later, answered by the entry point alone.
		{call: inbound(6001, "", "2026-02-08T15:00:00.000Z", 8000)},
		{call: connected(inbound(6101, "", "2026-02-08T15:01:00.000Z", 30000), "2026-02-08T15:01:05.000Z", 20000)},
	}
}

func loadKPILegs(t *testing.T, s *warehouse.Store, legs []kpiLeg) {
	t.Helper()
	calls := make([]wire.Call, len(legs))
	for i := range legs {
		calls[i] = legs[i].call
	}
	loadWith(t, s, calls, func(i int, l *transform.Leg) {
		if legs[i].queued != "" {
			l.QueuedMs = int64(ms(legs[i].queued))
		}
		if legs[i].firstRang != "" {
			l.FirstRangMs = int64(ms(legs[i].firstRang))
		}
		l.HoldMs = legs[i].holdMs
	})
}

type kpiConversation struct {
	ID                                 uint64
	Day                                string
	Number                             string
	Short, Abandoned, InThreshold      uint8
	WaitMs, HandleMs                   uint64
	Transferred, Repeat, Recovered     uint8
	RecoveryMs                         uint64
	ShortThresholdMs, LevelThresholdMs uint32
}

type targetDay struct {
	Day                                                        string
	Inbound, Outbound, Answered, Abandoned, Short, InThreshold uint32
	WaitMs, HandleMs                                           uint64
	Transferred, Repeats, Recovered                            uint32
	RecoveryMs                                                 uint64
	ShortThresholdMs, LevelThresholdMs                         uint32
}

func kpiConversations(t *testing.T, s *warehouse.Store) []kpiConversation {
	t.Helper()
	rows, err := s.DB().Query(context.Background(), `SELECT conversation_id, toString(day), external_number,
		short_abandoned, abandoned, answered_in_threshold, wait_ms, handle_ms, transferred, repeat_contact, recovered,
		recovery_ms, short_abandon_ms, service_level_ms
		FROM conversations FINAL ORDER BY conversation_id`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []kpiConversation
	for rows.Next() {
		var r kpiConversation
		if err := rows.Scan(&r.ID, &r.Day, &r.Number, &r.Short, &r.Abandoned, &r.InThreshold, &r.WaitMs, &r.HandleMs,
			&r.Transferred, &r.Repeat, &r.Recovered, &r.RecoveryMs, &r.ShortThresholdMs, &r.LevelThresholdMs); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

// targetDayQuery reads target_daily's columns in targetDay's order.
const targetDayQuery = `SELECT toString(day), inbound, outbound, answered, abandoned,
	short_abandoned, answered_in_threshold, total_wait_ms, total_handle_ms, transferred, repeat_contacts, recovered,
	total_recovery_ms, short_abandon_ms, service_level_ms
	FROM target_daily FINAL ORDER BY target_type, target_id, day`

// fromScratch sums conversations per target and day the way docs/counting.md
// defines target_daily's columns, in targetDay's order.
const fromScratch = `SELECT toString(day), toUInt32(countIf(direction = 'inbound')),
	toUInt32(countIf(direction = 'outbound')),
	toUInt32(countIf(direction = 'inbound' AND answered = 1)),
	toUInt32(sum(abandoned)), toUInt32(sum(short_abandoned)),
	toUInt32(sum(answered_in_threshold)),
	sumIf(wait_ms, direction = 'inbound' AND answered = 1),
	sumIf(handle_ms, direction = 'inbound' AND answered = 1),
	toUInt32(countIf(direction = 'inbound' AND transferred = 1)),
	toUInt32(sum(repeat_contact)), toUInt32(sum(recovered)),
	sum(recovery_ms), max(short_abandon_ms), max(service_level_ms)
	FROM conversations FINAL GROUP BY target_type, target_id, day ORDER BY target_type, target_id, day`

// targetDays runs query, targetDayQuery or fromScratch.
func targetDays(t *testing.T, conn driver.Conn, query string) []targetDay {
	t.Helper()
	rows, err := conn.Query(context.Background(), query)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []targetDay
	for rows.Next() {
		var r targetDay
		if err := rows.Scan(&r.Day, &r.Inbound, &r.Outbound, &r.Answered, &r.Abandoned, &r.Short, &r.InThreshold,
			&r.WaitMs, &r.HandleMs, &r.Transferred, &r.Repeats, &r.Recovered, &r.RecoveryMs,
			&r.ShortThresholdMs, &r.LevelThresholdMs); err != nil {
			t.Fatal(err)
		}
		out = append(out, r)
	}
	return out
}

func TestKPIsOnHandBuiltConversations(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		t.Fatal(err)
	}
	s := chtest.Migrated(t, warehouse.Options{Location: ny})
	// First the legs but those of B and D, which a later load reads: B
	// makes A a repeat seven days back, D makes C recovered a day back.
	var first, all []kpiLeg
	for _, l := range kpiFixture() {
		all = append(all, l)
		if !l.later {
			first = append(first, l)
		}
	}
	loadKPILegs(t, s, first)
	before := map[uint64]kpiConversation{}
	for _, c := range kpiConversations(t, s) {
		before[c.ID] = c
	}
	if a, c := before[1001], before[2001]; a.Repeat != 0 || c.Recovered != 0 {
		t.Errorf("before B and D are read: A repeat %d, C recovered %d; want 0 and 0", a.Repeat, c.Recovered)
	}
	loadKPILegs(t, s, all[2:5]) // B alone: its load touches 2026-02-09 only
	if a := kpiConversation1(t, s, 1001); a.Repeat != 1 {
		t.Errorf("after B's load alone, A (7 days before it) repeat %d, want 1", a.Repeat)
	}
	loadKPILegs(t, s, []kpiLeg{all[7]}) // D alone
	if c := kpiConversation1(t, s, 2001); c.Recovered != 1 || c.RecoveryMs != 23*3600*1000 {
		t.Errorf("after D's load alone, C (the day before) recovered %d after %d ms, want 1 after 23 h", c.Recovered, c.RecoveryMs)
	}
	loadKPILegs(t, s, all) // and everything again

	const sh, sl = 5000, 60000
	want := []kpiConversation{
		{1001, "2026-02-02", n1, 0, 0, 1, 60000, 120000, 0, 1, 0, 0, sh, sl},
		{1101, "2026-02-09", n1, 0, 0, 0, 61000, 70000, 1, 0, 0, 0, sh, sl},
		{2001, "2026-02-03", n2, 0, 1, 0, 0, 0, 0, 0, 1, 23 * 3600 * 1000, sh, sl},
		{2101, "2026-02-04", n2, 0, 0, 0, 10000, 60000, 0, 0, 0, 0, sh, sl},
		{2201, "2026-02-10", n2, 0, 1, 0, 0, 0, 0, 0, 0, 0, sh, sl},
		{3001, "2026-02-05", n3, 1, 0, 0, 0, 0, 0, 0, 0, 0, sh, sl},
		{4001, "2026-02-05", n4, 0, 1, 0, 0, 0, 0, 1, 0, 0, sh, sl},
		{4101, "2026-02-06", n4, 0, 0, 1, 6000, 60000, 0, 0, 0, 0, sh, sl},
		{5001, "2026-02-06", n5, 0, 0, 1, 30000, 10000, 0, 0, 0, 0, sh, sl},
		{6001, "2026-02-08", "", 0, 1, 0, 0, 0, 0, 0, 0, 0, sh, sl},
		{6101, "2026-02-08", "", 0, 0, 1, 5000, 20000, 0, 0, 0, 0, sh, sl},
	}
	if got := kpiConversations(t, s); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("conversations' KPI columns:\n got %+v\nwant %+v", got, want)
	}
	wantDays := []targetDay{
		{"2026-02-02", 1, 0, 1, 0, 0, 1, 60000, 120000, 0, 1, 0, 0, sh, sl},
		{"2026-02-03", 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 23 * 3600 * 1000, sh, sl},
		{"2026-02-04", 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, sh, sl},
		{"2026-02-05", 2, 0, 0, 1, 1, 0, 0, 0, 0, 1, 0, 0, sh, sl},
		{"2026-02-06", 2, 0, 2, 0, 0, 2, 36000, 70000, 0, 0, 0, 0, sh, sl},
		{"2026-02-08", 2, 0, 1, 1, 0, 1, 5000, 20000, 0, 0, 0, 0, sh, sl},
		{"2026-02-09", 1, 0, 1, 0, 0, 0, 61000, 70000, 1, 0, 0, 0, sh, sl},
		{"2026-02-10", 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, sh, sl},
	}
	if got := targetDays(t, s.DB(), targetDayQuery); fmt.Sprint(got) != fmt.Sprint(wantDays) {
		t.Errorf("target_daily:\n got %+v\nwant %+v", got, wantDays)
	}
	if got, scratch := targetDays(t, s.DB(), targetDayQuery), targetDays(t, s.DB(), fromScratch); fmt.Sprint(got) != fmt.Sprint(scratch) {
		t.Errorf("target_daily is not the sum of conversations:\n got %+v\nwant %+v", got, scratch)
	}

	// The KPIs over the fixture, as docs/counting.md defines them: 10 of the 11
	// conversations are inbound, one of them a short abandon.
	var level, abandonment, asa float64
	if err := s.DB().QueryRow(context.Background(), `SELECT sum(answered_in_threshold) / (sum(inbound) - sum(short_abandoned)),
		sum(abandoned) / (sum(inbound) - sum(short_abandoned)), sum(total_wait_ms) / sum(answered) / 1000
		FROM target_daily FINAL`).Scan(&level, &abandonment, &asa); err != nil {
		t.Fatal(err)
	}
	if level != 4.0/9 || abandonment != 4.0/9 || asa != 162.0/5 {
		t.Errorf("service level %v, abandonment %v, speed of answer %v s; want 4/9, 4/9 and 162/5", level, abandonment, asa)
	}

	// Repeats that reach back into the month before, and across the
	// change to daylight time (2026-03-08): L and N abandoned, then M
	// (6 d 23 h after L, in March) and O (6 d 22 h 30 min after N, 09:30
	// EDT), each loaded alone.
	n6, n7 := "+15550000006", "+15550000007"
	loadKPILegs(t, s, []kpiLeg{{call: inbound(7001, n6, "2026-02-27T17:00:00.000Z", 20000)},
		{call: inbound(7201, n7, "2026-03-02T15:00:00.000Z", 20000)}})
	loadKPILegs(t, s, []kpiLeg{{call: inbound(7101, n6, "2026-03-06T16:00:00.000Z", 20000)}})
	loadKPILegs(t, s, []kpiLeg{{call: inbound(7301, n7, "2026-03-09T13:30:00.000Z", 20000)}})
	for id, day := range map[uint64]string{7001: "2026-02-27", 7201: "2026-03-02"} {
		if c := kpiConversation1(t, s, id); c.Repeat != 1 || c.Day != day {
			t.Errorf("conversation %d: day %s, repeat %d; want %s and a repeat (called again within 7 days)", id, c.Day, c.Repeat, day)
		}
	}
	for _, d := range targetDays(t, s.DB(), targetDayQuery) {
		if want := map[string]uint32{"2026-02-27": 1, "2026-03-02": 1}[d.Day]; d.Day >= "2026-02-27" && d.Repeats != want {
			t.Errorf("target_daily %s: %d repeat contacts, want %d", d.Day, d.Repeats, want)
		}
	}
	if got, scratch := targetDays(t, s.DB(), targetDayQuery), targetDays(t, s.DB(), fromScratch); fmt.Sprint(got) != fmt.Sprint(scratch) {
		t.Errorf("target_daily is not the sum of conversations:\n got %+v\nwant %+v", got, scratch)
	}
}

// kpiConversation1 is conversation id's KPI columns.
func kpiConversation1(t *testing.T, s *warehouse.Store, id uint64) kpiConversation {
	t.Helper()
	for _, c := range kpiConversations(t, s) {
		if c.ID == id {
			return c
		}
	}
	t.Fatalf("no conversation %d", id)
	return kpiConversation{}
}
