package dialpad

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// testToken is the API key the fake accepts. It is distinctive so that a
// leak is easy to spot in logs, errors and URLs.
const testToken = "sk-TEST-9f3b2c1d-SECRET"

// day0 is the start of the test windows.
var day0 = time.Date(2025, 5, 17, 0, 0, 0, 0, time.UTC)

// fake is a minimal Dialpad: the call list with cursors, operators and
// users, Bearer auth, and a hook to inject faults per request.
type fake struct {
	t        testing.TB
	legs     []fakeLeg // newest first, as Dialpad lists them
	pageSize int

	mu     sync.Mutex
	n      int      // requests so far
	urls   []string // every request URL as received
	auths  []string // every Authorization header
	fault  func(n int, w http.ResponseWriter, r *http.Request) bool
	cursor func(next string) string // rewrites the next cursor, for loop tests
	ops    string                   // body of the operators endpoints
	user   string                   // body of /api/v2/users/{id}
}

type fakeLeg struct {
	id      int64
	started int64 // ms
}

// newFake holds n legs started one second apart from day0.
func newFake(t testing.TB, n int) *fake {
	f := &fake{t: t, pageSize: 25}
	for i := 0; i < n; i++ {
		f.legs = append(f.legs, fakeLeg{id: 5782764944539648 + int64(i), started: day0.UnixMilli() + int64(i)*1000})
	}
	sort.Slice(f.legs, func(i, j int) bool { return f.legs[i].started > f.legs[j].started })
	return f
}

func (f *fake) start() *httptest.Server {
	srv := httptest.NewServer(f)
	f.t.Cleanup(srv.Close)
	return srv
}

// client returns a client of srv with tiny backoffs and a high rate, plus opts.
func (f *fake) client(srv *httptest.Server, opts ...Option) *Client {
	f.t.Helper()
	base := []Option{WithRateLimit(1000), WithBackoff(time.Millisecond, 5*time.Millisecond), WithTimeout(5 * time.Second)}
	c, err := New(srv.URL, testToken, append(base, opts...)...)
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

func (f *fake) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func (f *fake) setFault(fn func(n int, w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.fault = fn
	f.mu.Unlock()
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.n++
	n := f.n
	f.urls = append(f.urls, r.URL.String())
	f.auths = append(f.auths, r.Header.Get("Authorization"))
	fault, rewrite, ops, user := f.fault, f.cursor, f.ops, f.user
	f.mu.Unlock()

	if r.Header.Get("Authorization") != "Bearer "+testToken {
		writeJSON(w, http.StatusUnauthorized, `{"error":{"code":401,"message":"invalid api key"}}`)
		return
	}
	if fault != nil && fault(n, w, r) {
		return
	}
	switch {
	case r.URL.Path == "/api/v2/call":
		f.serveCalls(w, r, rewrite)
	case strings.HasSuffix(r.URL.Path, "/operators") && ops != "":
		writeJSON(w, http.StatusOK, ops)
	case strings.HasPrefix(r.URL.Path, "/api/v2/users/") && user != "":
		writeJSON(w, http.StatusOK, user)
	default:
		writeJSON(w, http.StatusNotFound, `{"error":{"message":"not found"}}`)
	}
}

func (f *fake) serveCalls(w http.ResponseWriter, r *http.Request, rewrite func(string) string) {
	q := r.URL.Query()
	after, err1 := strconv.ParseInt(q.Get("started_after"), 10, 64)
	before, err2 := strconv.ParseInt(q.Get("started_before"), 10, 64)
	if err1 != nil || err2 != nil || q.Get("target_type") == "" || q.Get("target_id") == "" {
		writeJSON(w, http.StatusBadRequest, `{"error":{"message":"bad filter"}}`)
		return
	}
	var in []fakeLeg
	for _, l := range f.legs {
		if l.started > after && l.started < before { // strict, as assumed for Dialpad
			in = append(in, l)
		}
	}
	off := 0
	if c := q.Get("cursor"); c != "" {
		off, _ = strconv.Atoi(strings.TrimPrefix(c, "off:"))
	}
	end := min(off+f.pageSize, len(in))
	writeJSON(w, http.StatusOK, f.page(in[off:end], end < len(in), "off:"+strconv.Itoa(end), rewrite))
}

func (f *fake) page(legs []fakeLeg, more bool, next string, rewrite func(string) string) string {
	var b strings.Builder
	b.WriteString(`{"items":[`)
	for i, l := range legs {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"call_id":"%d","contact":{"id":"%d","name":"Customer","phone":"+15127700269","type":"local"},`+
			`"date_ended":"%d","date_started":"%d","direction":"inbound","duration":1234.5,"proxy_target":{},`+
			`"target":{"email":"agent@example.com","id":"5503393985740800","name":"Agent","type":"user"},"state":"hangup"}`,
			l.id, l.id+7, l.started+60000, l.started)
	}
	b.WriteString(`]`)
	if more {
		if rewrite != nil {
			next = rewrite(next)
		}
		fmt.Fprintf(&b, `,"cursor":%q`, next)
	}
	b.WriteString(`}`)
	return b.String()
}

func writeJSON(w http.ResponseWriter, status int, body string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	io.WriteString(w, body)
}

// truncatedBody answers 200 with a Content-Length promising more than it sends,
// then drops the connection.
func truncatedBody(w http.ResponseWriter) {
	body := `{"items":[{"call_id":"1","date_started":"1","direction":"inbound"},{"call_id":"2"`
	w.Header().Set("Content-Length", "4096")
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
	w.(http.Flusher).Flush()
	panic(http.ErrAbortHandler)
}

// drop closes the connection without answering.
func drop(w http.ResponseWriter) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

// collect lists the window and returns the call ids in order, failing on
// any duplicate.
func collect(t *testing.T, c *Client, target Target, w Window) ([]int64, []int, error) {
	t.Helper()
	var ids []int64
	var pages []int
	seen := map[int64]bool{}
	err := c.ListCalls(t.Context(), target, w, func(p *wire.Page) error {
		pages = append(pages, p.Number)
		for _, call := range p.Calls {
			id := int64(call.CallID)
			if seen[id] {
				t.Errorf("call %d delivered twice", id)
			}
			seen[id] = true
			ids = append(ids, id)
		}
		return nil
	})
	return ids, pages, err
}

// allIDs are the ids of f's legs that started in w, newest first.
func (f *fake) allIDs(w Window) []int64 {
	var ids []int64
	for _, l := range f.legs {
		if l.started >= w.From.UnixMilli() && l.started < w.To.UnixMilli() {
			ids = append(ids, l.id)
		}
	}
	return ids
}

var dept = Target{Type: "department", ID: 4869792674824192}

// dayWindow covers every leg of a fake with up to 86400 legs.
var dayWindow = Window{From: day0, To: day0.Add(24 * time.Hour)}

// logBuffer captures a client's log output at debug level.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

func (l *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(l, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// mustJSON is for building fixtures.
func mustJSON(t testing.TB, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
