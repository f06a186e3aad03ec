package simulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/internal/simtest"
)

// millionLegs is a config that generates about a million legs: two weeks
// of three busy groups.
var millionLegs = Config{Start: simtest.End.Add(-14 * 24 * time.Hour), End: simtest.End, CallsPerDay: 10_500,
	Now: func() time.Time { return simtest.End }, RateLimit: -1}

var bigSim = sync.OnceValues(func() (*Sim, error) { return New(millionLegs) })

func benchSim(b *testing.B) *Sim {
	s, err := bigSim()
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// discard is a ResponseWriter that keeps the last body, for the cursor.
type discard struct {
	h    http.Header
	body []byte
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(p []byte) (int, error) { d.body = append(d.body[:0], p...); return len(p), nil }

var cursorKey = []byte(`"cursor":"`)

// nextQuery continues from body's cursor, or starts over after the last page.
func nextQuery(first string, body []byte) string {
	i := bytes.LastIndex(body, cursorKey)
	if i < 0 {
		return first
	}
	c := body[i+len(cursorKey):]
	return "cursor=" + string(c[:bytes.IndexByte(c, '"')])
}

// BenchmarkServeCallsPage pages through a department's million-leg
// history by calling the handler directly: the simulator's own cost.
func BenchmarkServeCallsPage(b *testing.B) {
	s := benchSim(b)
	tg := s.Targets()[0]
	first := fmt.Sprintf("target_type=%s&target_id=%d", tg.Type, tg.ID)
	req := httptest.NewRequest(http.MethodGet, "/api/v2/call?"+first, nil)
	req.Header.Set("Authorization", "Bearer sim-token")
	w := &discard{h: http.Header{}}
	before := s.Stats().Legs
	b.ReportAllocs()
	for b.Loop() {
		s.ServeHTTP(w, req)
		req.URL.RawQuery = nextQuery(first, w.body)
	}
	b.ReportMetric(float64(s.Stats().Legs-before)/b.Elapsed().Seconds(), "legs/s")
}

// BenchmarkServeCallsHTTP pages through the same history over loopback
// HTTP with one client reading every body: what the ETL can get at most.
func BenchmarkServeCallsHTTP(b *testing.B) {
	s := benchSim(b)
	srv := httptest.NewServer(s)
	defer srv.Close()
	tg := s.Targets()[0]
	first := fmt.Sprintf("target_type=%s&target_id=%d", tg.Type, tg.ID)
	query := first
	before := s.Stats().Legs
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/api/v2/call?"+query, nil)
		req.Header.Set("Authorization", "Bearer sim-token")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		io.Copy(&buf, resp.Body)
		resp.Body.Close()
		query = nextQuery(first, buf.Bytes())
	}
	b.ReportMetric(float64(s.Stats().Legs-before)/b.Elapsed().Seconds(), "legs/s")
}

// BenchmarkGenerate builds the million-leg simulator and reports the heap
// it keeps.
func BenchmarkGenerate(b *testing.B) {
	var ms runtime.MemStats
	for b.Loop() {
		runtime.GC()
		runtime.ReadMemStats(&ms)
		base := ms.HeapAlloc
		s, err := New(millionLegs)
		if err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&ms)
		b.ReportMetric(float64(len(s.tr.List())), "legs")
		b.ReportMetric(float64(ms.HeapAlloc-base)/(1<<20), "MB-kept")
		runtime.KeepAlive(s)
	}
}
