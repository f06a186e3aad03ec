package records

import (
	"bytes"
	"fmt"
	"runtime"
	"testing"
	"time"
)

// benchExport is an export of rows legs, as Dialpad writes it.
func benchExport(rows int) *bytes.Buffer {
	var csv bytes.Buffer
	csv.WriteString("date_started,call_id,timezone,direction,categories,contact_name,date_rang,date_first_rang,date_queued," +
		"date_connected,date_ended,external_number,internal_number,target_id,target_type,name,entry_point_call_id," +
		"master_call_id,talk_duration,hold_duration,time_to_answer,csat_score,was_recorded,mos_score,transferred_to\n")
	t0 := time.Date(2026, 6, 1, 8, 0, 0, 0, time.UTC)
	for i := range rows {
		s := t0.Add(time.Duration(i) * 3 * time.Second)
		fmt.Fprintf(&csv, "%s.%06d,%d,America/New_York,inbound,\"incoming,answered\",\"Doe, Jane\",%s,%s,,%s,%s,+15550100%03d,+15550199000,%d,user,Ana Agent,%d,,2.53,0,0.25,5,true,4.3,\n",
			s.Format(time.DateTime), i%1000*1000, 4_000_000_000_000_000+int64(i), s.Add(2*time.Second).Format(time.DateTime),
			s.Add(2*time.Second).Format(time.DateTime), s.Add(15*time.Second).Format(time.DateTime),
			s.Add(167*time.Second).Format(time.DateTime), i%1000, 5_000_000+i%40, 4_000_000_000_000_000+int64(i-i%3))
	}
	return &csv
}

// BenchmarkParseRecords reads an export of 100,000 legs, as Dialpad
// writes it, and reports the rate and the memory each kept row holds.
func BenchmarkParseRecords(b *testing.B) {
	const rows = 100_000
	csv := benchExport(rows)
	b.SetBytes(int64(csv.Len()))
	b.ReportAllocs()
	var kept uint64
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		recs, err := Parse(bytes.NewReader(csv.Bytes()), time.UTC)
		if err != nil || len(recs.Rows) != rows {
			b.Fatalf("%d rows, %v", len(recs.Rows), err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		kept = after.HeapAlloc - before.HeapAlloc
		runtime.KeepAlive(recs)
	}
	b.ReportMetric(float64(kept)/rows, "B-kept/row")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}

// BenchmarkReadRecords reads the same export a row at a time, keeping
// none: the rate, and the most live heap it held at any tenth of the
// file (what a row at a time holds, whatever the export's size).
func BenchmarkReadRecords(b *testing.B) {
	const rows = 100_000
	csv := benchExport(rows)
	b.SetBytes(int64(csv.Len()))
	b.ReportAllocs()
	var peak uint64
	for b.Loop() {
		n := 0
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		err := Read(bytes.NewReader(csv.Bytes()), time.UTC, func(Record) error {
			if n++; n%10_000 == 0 {
				var m runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&m)
				if m.HeapAlloc > before.HeapAlloc {
					peak = max(peak, m.HeapAlloc-before.HeapAlloc)
				}
			}
			return nil
		}, func(BadRow) error { return nil })
		if err != nil || n != rows {
			b.Fatalf("%d rows, %v", n, err)
		}
	}
	b.ReportMetric(float64(peak), "B-live-peak")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/rows, "ns/row")
}
