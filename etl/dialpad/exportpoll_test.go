package dialpad

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// exportAPI is a Dialpad with one export, request 42, of a fixed CSV:
// its first poll says processing, the next answer with answer(w, link),
// where link is the file at /bucket/42.csv on the same server, which
// serves it as a storage would.
type exportAPI struct {
	t      *testing.T
	csv    string
	answer func(w http.ResponseWriter, r *http.Request, link string)

	posts, polls, downloads atomic.Int64
}

func (a *exportAPI) start() *httptest.Server {
	var srv *httptest.Server
	srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/bucket/42.csv":
			a.downloads.Add(1)
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, a.csv)
		case r.Header.Get("Authorization") != "Bearer "+testToken:
			writeJSON(w, http.StatusUnauthorized, `{"error":{"message":"invalid api key"}}`)
		case r.Method == http.MethodPost && r.URL.Path == "/api/v2/stats":
			a.posts.Add(1)
			writeJSON(w, http.StatusOK, `{"request_id":"42"}`)
		case r.URL.Path == "/api/v2/stats/42":
			if a.polls.Add(1) == 1 {
				writeJSON(w, http.StatusOK, `{"status":"processing"}`)
				return
			}
			a.answer(w, r, srv.URL+"/bucket/42.csv?X-Signature=s3cr3t")
		default:
			writeJSON(w, http.StatusNotFound, `{"error":{"message":"not found"}}`)
		}
	}))
	a.t.Cleanup(srv.Close)
	return srv
}

// exportClock stands on 2025-05-20, after exportReq's days.
var exportClock = time.Date(2025, 5, 20, 9, 0, 0, 0, time.UTC)

var exportReq = ExportRequest{Target: dept, Zone: time.UTC, From: day0, To: day0.AddDate(0, 0, 1)}

func (a *exportAPI) client(srv *httptest.Server, opts ...Option) *Client {
	a.t.Helper()
	base := []Option{WithClock(func() time.Time { return exportClock }), WithRateLimit(1000),
		WithBackoff(time.Millisecond, 5*time.Millisecond), WithExportPolling(time.Millisecond, 5*time.Second)}
	c, err := New(srv.URL, testToken, append(base, opts...)...)
	if err != nil {
		a.t.Fatal(err)
	}
	return c
}

// exportCSV is a records export of n legs, a minute apart from day0.
func exportCSV(n int) string {
	var b strings.Builder
	b.WriteString("call_id,date_started,date_connected,date_ended,timezone,direction,categories,talk_duration,target_id,target_type\r\n")
	for i := range n {
		at := day0.Add(time.Duration(i) * time.Minute)
		fmt.Fprintf(&b, "%d,%s,%s,%s,America/New_York,inbound,\"incoming,answered\",0.5,%d,department\r\n",
			5782764944539648+i, at.Format(time.DateTime), at.Add(10*time.Second).Format(time.DateTime),
			at.Add(40*time.Second).Format(time.DateTime), dept.ID)
	}
	return b.String()
}

// answerWithLink is Dialpad's documented poll answer: JSON with the link.
func answerWithLink(w http.ResponseWriter, _ *http.Request, link string) {
	writeJSON(w, http.StatusOK, `{"status":"complete","file_type":"csv","download_url":"`+link+`"}`)
}

// answerWithFile answers the poll with the file itself, as contentType.
func answerWithFile(contentType, csv string) func(http.ResponseWriter, *http.Request, string) {
	return func(w http.ResponseWriter, _ *http.Request, _ string) {
		w.Header().Set("Content-Type", contentType)
		io.WriteString(w, csv)
	}
}

// A poll that answers with the CSV itself is the export: it reads as the
// same file downloaded from the link does, and nothing is downloaded.
func TestExportPollAnsweredWithTheCSV(t *testing.T) {
	csv := exportCSV(30)
	linked := &exportAPI{t: t, csv: csv, answer: answerWithLink}
	want, err := linked.client(linked.start()).ExportCalls(t.Context(), exportReq)
	if err != nil {
		t.Fatal(err)
	}
	if len(want.Records.Rows) != 30 || len(want.Records.Bad) != 0 || linked.downloads.Load() != 1 {
		t.Fatalf("through the link: %d legs, %d unreadable, %d downloads; want 30, 0, 1",
			len(want.Records.Rows), len(want.Records.Bad), linked.downloads.Load())
	}
	for _, ct := range []string{"text/csv", "text/csv; charset=utf-8", "Text/CSV;Charset=UTF-8"} {
		a := &exportAPI{t: t, csv: csv, answer: answerWithFile(ct, csv)}
		c := a.client(a.start())
		got, err := c.ExportCalls(t.Context(), exportReq)
		if err != nil {
			t.Errorf("%s: %v", ct, err)
			continue
		}
		if !reflect.DeepEqual(got.Records, want.Records) || got.RequestID != "42" || !got.RequestedAt.Equal(exportClock) {
			t.Errorf("%s: %d legs of request %s at %v; want the %d legs the link gives, of request 42 at %v",
				ct, len(got.Records.Rows), got.RequestID, got.RequestedAt, len(want.Records.Rows), exportClock)
		}
		if a.downloads.Load() != 0 || a.posts.Load() != 1 || a.polls.Load() != 2 {
			t.Errorf("%s: %d downloads, %d exports, %d polls; want none, 1 and 2", ct, a.downloads.Load(), a.posts.Load(), a.polls.Load())
		}
		if b := c.Stats().Bytes; b < int64(len(csv)) {
			t.Errorf("%s: %d bytes counted; want at least the CSV's %d", ct, b, len(csv))
		}
	}
}

// An export's CSV is bounded alike whether the poll answers with it or
// the link serves it: past the limit it is an error saying so, not a
// file silently cut short.
func TestExportCSVLargerThanTheLimitFails(t *testing.T) {
	small, large := exportCSV(3), exportCSV(100)
	limit := int64(len(small) + 100)
	for _, tc := range []struct {
		name   string
		answer func(http.ResponseWriter, *http.Request, string)
	}{
		{"the poll", answerWithFile("text/csv", large)},
		{"the link", answerWithLink},
	} {
		a := &exportAPI{t: t, csv: large, answer: tc.answer}
		exp, err := a.client(a.start(), withExportLimit(limit)).ExportCalls(t.Context(), exportReq)
		if !errors.Is(err, ErrResponseTooLarge) || exp != nil ||
			!strings.Contains(err.Error(), fmt.Sprintf("larger than %d bytes", limit)) || !strings.Contains(err.Error(), dept.String()) {
			t.Errorf("%s: %d bytes over a limit of %d: %v; want ErrResponseTooLarge naming the target and the limit", tc.name, len(large), limit, err)
		}
		if a.posts.Load() != 1 {
			t.Errorf("%s: %d exports asked for; want 1 (a file too large is not asked for again)", tc.name, a.posts.Load())
		}
	}
	a := &exportAPI{t: t, csv: small, answer: answerWithFile("text/csv", small)}
	if exp, err := a.client(a.start(), withExportLimit(limit)).ExportCalls(t.Context(), exportReq); err != nil || len(exp.Records.Rows) != 3 {
		t.Errorf("a file within the limit: %v; want its 3 legs", err)
	}
}

// A poll answered with a content type that is neither JSON nor CSV is a
// bad response, as before: not an export, never asked for again, and the
// error shows neither the body nor the token.
func TestExportPollOtherContentTypeIsBadResponse(t *testing.T) {
	page := "<html><body>Maintenance " + testToken + "</body></html>"
	a := &exportAPI{t: t, csv: exportCSV(3), answer: answerWithFile("text/html; charset=utf-8", page)}
	exp, err := a.client(a.start(), WithMaxAttempts(2)).ExportCalls(t.Context(), exportReq)
	if !errors.Is(err, ErrBadResponse) || exp != nil || strings.Contains(err.Error(), testToken) || strings.Contains(err.Error(), "Maintenance") {
		t.Errorf("a poll answered with HTML: %v; want ErrBadResponse without the body", err)
	}
	if a.posts.Load() != 1 || a.downloads.Load() != 0 || a.polls.Load() != 3 {
		t.Errorf("%d exports, %d downloads, %d polls; want 1, none, and 3 (processing, then the HTML tried twice)",
			a.posts.Load(), a.downloads.Load(), a.polls.Load())
	}
}

// The CSV a poll answers with is read within the download's time
// (WithDownloadTimeout), not one request's (WithTimeout): a large file
// takes longer than a page of JSON. A file that stalls past it fails
// saying so.
func TestExportPollCSVHasTheDownloadsTime(t *testing.T) {
	csv := exportCSV(20)
	slowly := func(pause time.Duration) func(http.ResponseWriter, *http.Request, string) {
		return func(w http.ResponseWriter, r *http.Request, _ string) {
			w.Header().Set("Content-Type", "text/csv")
			io.WriteString(w, csv[:len(csv)/2])
			w.(http.Flusher).Flush()
			select {
			case <-time.After(pause):
			case <-r.Context().Done():
				return
			}
			io.WriteString(w, csv[len(csv)/2:])
		}
	}
	a := &exportAPI{t: t, csv: csv, answer: slowly(400 * time.Millisecond)}
	exp, err := a.client(a.start(), WithTimeout(150*time.Millisecond), WithDownloadTimeout(5*time.Second)).ExportCalls(t.Context(), exportReq)
	if err != nil || len(exp.Records.Rows) != 20 {
		t.Errorf("a CSV that takes 400ms, with requests of 150ms and downloads of 5s: %v; want its 20 legs", err)
	}
	a = &exportAPI{t: t, csv: csv, answer: slowly(time.Minute)}
	_, err = a.client(a.start(), WithTimeout(5*time.Second), WithDownloadTimeout(300*time.Millisecond)).ExportCalls(t.Context(), exportReq)
	if err == nil || !strings.Contains(err.Error(), "timed out after 300ms") {
		t.Errorf("a CSV that stalls past the download's 300ms: %v; want a timeout naming it", err)
	}
}
