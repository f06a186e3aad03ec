package simulator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// The stats export, Dialpad's asynchronous records of calls:
//
//	POST /api/v2/stats {export_type: "records", stat_type: "calls", target_type, target_id,
//	     timezone, days_ago_start, days_ago_end, is_today}
//	     {"already_started":false,"request_id":"..."}
//	GET  /api/v2/stats/{id}  {"status":"processing"}, {"status":"failed"} or
//	     {"download_url":"...","file_type":"csv","status":"complete"}
//	GET  /_sim/exports/{id}.csv?expires=&signature=  the CSV (export_csv.go)
//
// An export stays processing for Config.ExportDelay (plus
// Faults.ExportSlowDelay for the slow share) on the simulator's clock or
// on the wall clock, whichever passes it first: the simulator's clock may
// stand still. Then it is complete, or failed for the failed share. Its
// id answers for an hour of the simulator's clock, and an identical
// request within that hour gets the same id back, unless it failed.
// Nothing of the CSV is kept: each download renders it from the legs as
// they stood when the export was requested.

// nsExports is the id namespace of exports (see ids.go).
const nsExports = 1<<26 - 5

const (
	exportTTL  = time.Hour                         // GET /api/v2/stats/{id} answers 404 after it
	linkTTL    = time.Hour                         // a download link is valid this long after the poll that gave it
	exportKeep = exportTTL + linkTTL + time.Minute // an export is forgotten after it
	maxDaysAgo = 10_000                            // days_ago_start and days_ago_end, at most
	onlyCalls  = `the simulator exports only records of calls (export_type "records", stat_type "calls")`
)

// Draws of an export's faults.
const (
	drawExportSlow = iota
	drawExportFail
)

type exportStore struct {
	mu    sync.Mutex
	seq   int64
	byID  map[int64]*export
	posts []time.Time // wall times of the hour's POSTs, oldest first (StatsPerHour)
}

// exportQuery is what makes two requests identical.
type exportQuery struct {
	target   dialpad.Target // zero: the whole company
	tz       string         // the request's timezone, as it named it
	from, to int64          // the local days, epoch ms, half-open
}

type export struct {
	id      int64
	q       exportQuery
	loc     *time.Location
	created int64         // the simulator's clock when requested, epoch ms: the CSV's moment
	wall    time.Time     // the wall clock then
	wait    time.Duration // processing for this long (ExportDelay, plus ExportSlowDelay if slow)
	failed  bool          // then failed rather than complete
}

// age is how old e is by the simulator's clock now (epoch ms).
func (e *export) age(now int64) time.Duration {
	return time.Duration(now-e.created) * time.Millisecond
}

// status is e's state at the simulator's now and the wall clock's wall.
func (e *export) status(now int64, wall time.Time) string {
	switch {
	case e.age(now) < e.wait && wall.Sub(e.wall) < e.wait:
		return "processing"
	case e.failed:
		return "failed"
	}
	return "complete"
}

// statsRequest is the body of POST /api/v2/stats (ProcessStatsMessage);
// the fields the simulator has no use for are ignored.
type statsRequest struct {
	ExportType   *string `json:"export_type"`
	StatType     *string `json:"stat_type"`
	TargetType   *string `json:"target_type"`
	TargetID     rawID   `json:"target_id"`
	Timezone     *string `json:"timezone"`
	DaysAgoStart *int64  `json:"days_ago_start"`
	DaysAgoEnd   *int64  `json:"days_ago_end"`
	IsToday      *bool   `json:"is_today"`
}

// rawID is an id sent as a JSON number or string; null and "" are none.
type rawID []byte

func (r *rawID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) >= 2 && b[0] == '"' && b[len(b)-1] == '"' {
		b = bytes.TrimSpace(b[1 : len(b)-1])
	}
	if string(b) == "null" {
		b = nil
	}
	*r = append((*r)[:0], b...)
	return nil
}

type exportStartedJSON struct {
	AlreadyStarted bool   `json:"already_started"`
	RequestID      string `json:"request_id"`
}

type exportStatusJSON struct {
	DownloadURL string `json:"download_url,omitempty"`
	FileType    string `json:"file_type,omitempty"`
	Status      string `json:"status"`
}

// requestError is a request the simulator refuses, and its status.
type requestError struct {
	code int
	msg  string
}

func (e *requestError) Error() string { return e.msg }

func badRequest(format string, a ...any) *requestError {
	return &requestError{http.StatusBadRequest, fmt.Sprintf(format, a...)}
}

// serveStats answers the stats endpoints; false when the path is none
// of them.
func (s *Sim) serveStats(w http.ResponseWriter, r *http.Request) bool {
	path := strings.TrimSuffix(r.URL.Path, "/")
	if path == "/api/v2/stats" {
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "POST")
			return true
		}
		s.createExport(w, r)
		return true
	}
	id, ok := strings.CutPrefix(path, "/api/v2/stats/")
	if !ok || strings.Contains(id, "/") {
		return false
	}
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return true
	}
	s.exportStatus(w, r, id)
	return true
}

// createExport answers POST /api/v2/stats. Every POST that reaches it
// counts against StatsPerHour, refused ones included.
func (s *Sim) createExport(w http.ResponseWriter, r *http.Request) {
	if limit := s.cfg.StatsPerHour; limit > 0 {
		if ok, wait := s.exports.takePost(limit, s.wall()); !ok {
			s.stats.rateLimited.Add(1)
			if s.cfg.RetryAfter {
				w.Header().Set("Retry-After", retryAfter(wait))
			}
			writeError(w, http.StatusTooManyRequests, fmt.Sprintf("rate limit exceeded: POST /api/v2/stats is limited to %d an hour", limit))
			return
		}
	}
	var req statsRequest
	if !readBody(w, r, &req) {
		return
	}
	now := s.now()
	q, loc, err := s.parseExport(&req, now)
	if err != nil {
		writeError(w, err.code, err.msg)
		return
	}
	e, reused := s.startExport(q, loc, now.UnixMilli())
	s.stats.exports.Add(1)
	writeObject(w, exportStartedJSON{AlreadyStarted: reused, RequestID: strconv.FormatInt(e.id, 10)})
}

// parseExport checks a request and resolves its days, local to its time
// zone, against the simulator's clock now.
func (s *Sim) parseExport(req *statsRequest, now time.Time) (exportQuery, *time.Location, *requestError) {
	var q exportQuery
	for _, f := range []struct {
		name, want string
		v          *string
	}{{"export_type", "records", req.ExportType}, {"stat_type", "calls", req.StatType}} {
		switch {
		case f.v == nil || *f.v == "":
			return q, nil, badRequest("%s is required: %s", f.name, onlyCalls)
		case *f.v != f.want:
			return q, nil, badRequest("%s %q: %s", f.name, *f.v, onlyCalls)
		}
	}

	typ := ""
	if req.TargetType != nil {
		typ = *req.TargetType
	}
	if (typ == "") != (len(req.TargetID) == 0) {
		return q, nil, badRequest("target_type and target_id must be given together")
	}
	if typ != "" {
		id, err := strconv.ParseInt(string(req.TargetID), 10, 64)
		if err != nil {
			return q, nil, badRequest("target_id must be an integer (a JSON number or string)")
		}
		q.target = dialpad.Target{Type: typ, ID: id}
		if _, ok := s.index[q.target]; !ok {
			return q, nil, &requestError{http.StatusNotFound, fmt.Sprintf("target %s:%d not found", typ, id)}
		}
	}

	q.tz = "UTC"
	if req.Timezone != nil && *req.Timezone != "" {
		q.tz = *req.Timezone
	}
	loc, err := time.LoadLocation(q.tz)
	if err != nil || q.tz == "Local" {
		return q, nil, badRequest("unknown timezone %q: want a tz database name such as America/New_York", q.tz)
	}

	recent, old := int64(0), int64(0) // days ago, both included
	if req.IsToday == nil || !*req.IsToday {
		start, end := int64(1), int64(30)
		for _, f := range []struct {
			name string
			v    *int64
			to   *int64
		}{{"days_ago_start", req.DaysAgoStart, &start}, {"days_ago_end", req.DaysAgoEnd, &end}} {
			if f.v == nil {
				continue
			}
			if *f.v < 0 || *f.v > maxDaysAgo {
				return q, nil, badRequest("%s %d out of range [0, %d]", f.name, *f.v, maxDaysAgo)
			}
			*f.to = *f.v
		}
		recent, old = min(start, end), max(start, end)
	}
	y, m, d := now.In(loc).Date()
	q.from = time.Date(y, m, d-int(old), 0, 0, 0, 0, loc).UnixMilli()
	q.to = time.Date(y, m, d-int(recent)+1, 0, 0, 0, 0, loc).UnixMilli()
	return q, loc, nil
}

// startExport returns the export of q: an identical one less than an
// hour old that has not failed, or a new one.
func (s *Sim) startExport(q exportQuery, loc *time.Location, now int64) (e *export, reused bool) {
	f := s.faults.Load()
	wall := s.wall()
	st := &s.exports
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.byID == nil {
		st.byID = map[int64]*export{}
	}
	for id, old := range st.byID {
		switch {
		case old.age(now) >= exportKeep:
			delete(st.byID, id)
		case old.q == q && old.age(now) < exportTTL && old.status(now, wall) != "failed" && (e == nil || old.created > e.created):
			e = old
		}
	}
	if e != nil {
		return e, true
	}
	st.seq++
	d := draws(mix64(s.salt ^ 0xE4B0 ^ uint64(st.seq)*0x9E3779B97F4A7C15))
	e = &export{id: makeID(s.salt, nsExports, st.seq), q: q, loc: loc, created: now, wall: wall,
		wait: max(s.cfg.ExportDelay, 0), failed: d.u(drawExportFail) < f.ExportFailRate}
	if d.u(drawExportSlow) < f.ExportSlowRate {
		e.wait += f.ExportSlowDelay
	}
	st.byID[e.id] = e
	return e, false
}

// takePost counts a POST at wall time now against limit an hour; when
// the hour's are spent it reports how long until one is free.
func (st *exportStore) takePost(limit int, now time.Time) (ok bool, wait time.Duration) {
	st.mu.Lock()
	defer st.mu.Unlock()
	n := 0
	for n < len(st.posts) && now.Sub(st.posts[n]) >= time.Hour {
		n++
	}
	st.posts = append(st.posts[:0], st.posts[n:]...)
	if len(st.posts) >= limit {
		return false, st.posts[0].Add(time.Hour).Sub(now)
	}
	st.posts = append(st.posts, now)
	return true, 0
}

// lookup returns the export with id, nil when there is none.
func (st *exportStore) lookup(id int64) *export {
	st.mu.Lock()
	defer st.mu.Unlock()
	return st.byID[id]
}

// exportStatus answers GET /api/v2/stats/{id}. A complete export's
// download_url points at this server, by the Host the client used.
func (s *Sim) exportStatus(w http.ResponseWriter, r *http.Request, raw string) {
	now := s.now()
	id, err := strconv.ParseInt(raw, 10, 64)
	var e *export
	if err == nil {
		e = s.exports.lookup(id)
	}
	if e == nil || e.age(now.UnixMilli()) >= exportTTL {
		writeError(w, http.StatusNotFound, "stats request not found (a request id answers for an hour)")
		return
	}
	out := exportStatusJSON{Status: e.status(now.UnixMilli(), s.wall())}
	if out.Status == "complete" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		expires := now.Add(linkTTL).Unix()
		out.DownloadURL = fmt.Sprintf("%s://%s/_sim/exports/%d.csv?expires=%d&signature=%x",
			scheme, r.Host, e.id, expires, s.linkMAC(e.id, expires))
		out.FileType = "csv"
	}
	writeObject(w, out)
}

// exportLinkKey derives the key that signs download links from the seed.
func exportLinkKey(seed int64) []byte {
	k := sha256.Sum256(fmt.Appendf(nil, "dialpad simulator: export links of seed %d", seed))
	return k[:]
}

// linkMAC is the signature of a download link: HMAC-SHA256 over
// "<id>:<expires>".
func (s *Sim) linkMAC(id, expires int64) []byte {
	m := hmac.New(sha256.New, s.linkKey)
	fmt.Fprintf(m, "%d:%d", id, expires)
	return m.Sum(nil)
}
