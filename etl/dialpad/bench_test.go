package dialpad

import (
	"bytes"
	"encoding/json"
	"testing"
)

// BenchmarkDecodePage decodes a realistic page of 25 legs (testdata/page_25.json).
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

// BenchmarkDecodePageStd is the same page through encoding/json, for comparison.
func BenchmarkDecodePageStd(b *testing.B) {
	body := readTestdata(b, "page_25.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	legs := 0
	for b.Loop() {
		var env struct {
			Items  []json.RawMessage `json:"items"`
			Cursor *string           `json:"cursor"`
		}
		if err := json.Unmarshal(body, &env); err != nil {
			b.Fatal(err)
		}
		calls := make([]Call, len(env.Items))
		for i, item := range env.Items {
			if err := json.Unmarshal(item, &calls[i]); err != nil {
				b.Fatal(err)
			}
			calls[i].Raw = bytes.Clone(item)
		}
		legs += len(calls)
	}
	b.ReportMetric(float64(legs)/b.Elapsed().Seconds(), "legs/s")
}

func BenchmarkDecodeCall(b *testing.B) {
	raw := readTestdata(b, "call_record.json")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeCall(raw); err != nil {
			b.Fatal(err)
		}
	}
}
