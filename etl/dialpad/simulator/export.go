package simulator

import (
	"bytes"
	"crypto/hmac"
	"encoding/hex"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/exports"
)

// The endpoints of the stats export, Dialpad's asynchronous records of
// calls and of dispositions, whose exports the export store keeps:
//
//	POST /api/v2/stats {export_type: "records", stat_type: "calls" or "dispositions", target_type,
//	     target_id, timezone, days_ago_start, days_ago_end, is_today}
//	     {"already_started":false,"request_id":"..."}
//	GET  /api/v2/stats/{id}  {"status":"processing"}, {"status":"failed"} or
//	     {"download_url":"...","file_type":"csv","status":"complete"}
//	     (with ExportPollCSV, a complete export's CSV itself, text/csv)
//	GET  /_sim/exports/{id}.csv?expires=&signature=  the CSV

const (
	maxDaysAgo = 10_000 // days_ago_start and days_ago_end, at most
	onlyCalls  = `the simulator exports only records of calls and of dispositions (export_type "records", stat_type "calls" or "dispositions")`
)

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
		if ok, wait := s.exports.TakePost(limit, s.wall()); !ok {
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
	f := s.faults.Load()
	e, reused := s.exports.Start(q, loc, now.UnixMilli(), s.wall(), s.cfg.ExportDelay,
		exports.Faults{FailRate: f.ExportFailRate, SlowRate: f.ExportSlowRate, SlowDelay: f.ExportSlowDelay})
	s.stats.exports.Add(1)
	writeObject(w, exportStartedJSON{AlreadyStarted: reused, RequestID: strconv.FormatInt(e.ID(), 10)})
}

// parseExport checks a request and resolves its days, local to its time
// zone, against the simulator's clock now.
func (s *Sim) parseExport(req *statsRequest, now time.Time) (exports.Query, *time.Location, *requestError) {
	var q exports.Query
	if req.StatType != nil && *req.StatType == exports.StatDispositions && req.ExportType != nil && *req.ExportType == "stats" {
		return q, nil, badRequest(`export_type "stats": stat_type dispositions has records only (export_type "records")`)
	}
	for _, f := range []struct {
		name string
		want []string
		v    *string
	}{{"export_type", []string{"records"}, req.ExportType}, {"stat_type", []string{exports.StatCalls, exports.StatDispositions}, req.StatType}} {
		switch {
		case f.v == nil || *f.v == "":
			return q, nil, badRequest("%s is required: %s", f.name, onlyCalls)
		case !slices.Contains(f.want, *f.v):
			return q, nil, badRequest("%s %q: %s", f.name, *f.v, onlyCalls)
		}
	}
	q.Stat = *req.StatType

	typ := ""
	if req.TargetType != nil {
		typ = *req.TargetType
	}
	if (typ == "") != (len(req.TargetID) == 0) {
		return q, nil, badRequest("target_type and target_id must be given together")
	}
	if typ == "" && q.Stat == exports.StatDispositions {
		return q, nil, badRequest("stat_type dispositions needs a target: target_type and target_id are required")
	}
	if typ != "" {
		id, err := strconv.ParseInt(string(req.TargetID), 10, 64)
		if err != nil {
			return q, nil, badRequest("target_id must be an integer (a JSON number or string)")
		}
		q.Target = dialpad.Target{Type: typ, ID: id}
		if _, ok := s.tr.Index(q.Target); !ok {
			return q, nil, &requestError{http.StatusNotFound, fmt.Sprintf("target %s:%d not found", typ, id)}
		}
	}

	q.TZ = "UTC"
	if req.Timezone != nil && *req.Timezone != "" {
		q.TZ = *req.Timezone
	}
	loc, err := time.LoadLocation(q.TZ)
	if err != nil || q.TZ == "Local" {
		return q, nil, badRequest("unknown timezone %q: want a tz database name such as America/New_York", q.TZ)
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
	q.From = time.Date(y, m, d-int(old), 0, 0, 0, 0, loc).UnixMilli()
	q.To = time.Date(y, m, d-int(recent)+1, 0, 0, 0, 0, loc).UnixMilli()
	return q, loc, nil
}

// exportStatus answers GET /api/v2/stats/{id}. A complete export's
// download_url points at this server, by the Host the client used; with
// ExportPollCSV a complete export is answered with its CSV instead.
func (s *Sim) exportStatus(w http.ResponseWriter, r *http.Request, raw string) {
	now := s.now()
	id, err := strconv.ParseInt(raw, 10, 64)
	var e *exports.Export
	if err == nil {
		e = s.exports.Lookup(id)
	}
	if e == nil || e.Age(now.UnixMilli()) >= exports.RequestTTL {
		writeError(w, http.StatusNotFound, "stats request not found (a request id answers for an hour)")
		return
	}
	out := exportStatusJSON{Status: e.Status(now.UnixMilli(), s.wall())}
	if out.Status == "complete" && s.cfg.ExportPollCSV {
		// The charset parameter is there so that a client must read the
		// media type, not compare the whole header.
		s.stats.exportPollCSVs.Add(1)
		s.writeExportCSV(w, e, "text/csv; charset=utf-8")
		return
	}
	if out.Status == "complete" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		expires := now.Add(exports.LinkTTL).Unix()
		out.DownloadURL = fmt.Sprintf("%s://%s/_sim/exports/%d.csv?expires=%d&signature=%x",
			scheme, r.Host, e.ID(), expires, s.exports.LinkMAC(e.ID(), expires))
		out.FileType = "csv"
	}
	writeObject(w, out)
}

// serveExportDownload answers GET /_sim/exports/{id}.csv: a signed link,
// so a request that also carries credentials is refused, as a storage
// bucket's signed URL refuses a second auth mechanism.
func (s *Sim) serveExportDownload(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return
	}
	q := r.URL.Query()
	refused := ""
	switch {
	case len(r.Header.Values("Authorization")) > 0:
		refused = "Only one auth mechanism allowed; the link is signed, send no Authorization header"
	case q.Has("apikey"):
		refused = "Only one auth mechanism allowed; the link is signed, send no apikey parameter"
	}
	if refused != "" {
		s.stats.exportRefused.Add(1)
		writeError(w, http.StatusBadRequest, refused)
		return
	}
	name, _ := strings.CutPrefix(r.URL.Path, "/_sim/exports/")
	name, ok := strings.CutSuffix(name, ".csv")
	id, err := strconv.ParseInt(name, 10, 64)
	if !ok || err != nil {
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
		return
	}
	expires, err := strconv.ParseInt(q.Get("expires"), 10, 64)
	sig, sigErr := hex.DecodeString(q.Get("signature"))
	if err != nil || sigErr != nil || !hmac.Equal(sig, s.exports.LinkMAC(id, expires)) {
		writeError(w, http.StatusForbidden, "the link's signature does not match")
		return
	}
	if s.now().Unix() > expires {
		writeError(w, http.StatusForbidden, "the link has expired: poll the stats request again for a new one")
		return
	}
	e := s.exports.Lookup(id)
	if e == nil {
		writeError(w, http.StatusNotFound, "export not found")
		return
	}
	s.stats.exportDownloads.Add(1)
	s.writeExportCSV(w, e, "text/csv")
}

// writeExportCSV answers 200 with e's CSV, as a file, rendered as it is
// written.
func (s *Sim) writeExportCSV(w http.ResponseWriter, e *exports.Export, contentType string) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Disposition", fmt.Sprintf(`attachment; filename="%d.csv"`, e.ID()))
	w.WriteHeader(http.StatusOK)
	s.exports.WriteCSV(w, e)
}
