package wire

import "testing"

// BenchmarkDecodePage decodes a realistic page of 25 legs
// (testdata/page_25.json) as a load does: the envelope, then each leg
// with its invariants.
func BenchmarkDecodePage(b *testing.B) {
	body := readTestdata(b, "page_25.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	legs := 0
	for b.Loop() {
		page, _, err := DecodePage(body)
		if err != nil || len(page.Calls) != 25 {
			b.Fatal(err)
		}
		legs += len(page.Calls)
	}
	b.ReportMetric(float64(legs)/b.Elapsed().Seconds(), "legs/s")
}
