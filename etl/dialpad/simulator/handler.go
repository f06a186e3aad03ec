package simulator

import (
	"crypto/subtle"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// ServeHTTP serves the simulated API under /api/v2/ and the simulator's
// own endpoints under /_sim/. Every /api/v2/ request passes, in order:
// the rate limiter (spent on arrival), the injected latency, a 429 when
// over the limit, the drop and error faults, then authentication. Besides
// the GET endpoints it answers those of webhooks, event subscriptions and
// operators' duty status (hooks.go), of a call center's live status
// (callcenter.go) and of the stats export (export.go).
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/") {
		s.serveControl(w, r)
		return
	}
	s.stats.requests.Add(1)
	f := s.faults.Load()
	d := s.newDraws()
	allowed, wait := true, time.Duration(0)
	if s.limiter != nil {
		ok, t := s.limiter.take()
		allowed, wait = ok, t
	}
	if !sleep(r.Context(), f.delay(d)) {
		return
	}
	if !allowed {
		s.stats.rateLimited.Add(1)
		if s.cfg.RetryAfter {
			w.Header().Set("Retry-After", retryAfter(wait))
		}
		writeError(w, http.StatusTooManyRequests, "rate limit exceeded")
		return
	}
	if d.U(drawDrop) < f.DropRate {
		s.stats.drops.Add(1)
		dropConnection(w)
		return
	}
	if d.U(drawError) < f.ErrorRate {
		s.stats.serverErrors.Add(1)
		code := [3]int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable}[s.errSeq.Add(1)%3]
		writeError(w, code, strings.ToLower(http.StatusText(code))+" (simulated)")
		return
	}
	key := s.authorize(w, r)
	if key == "" {
		return
	}
	if s.serveHooks(w, r) || s.serveDutyStatus(w, r) || s.serveCallCenterStatus(w, r) || s.serveStats(w, r) {
		return
	}
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "the simulator serves GET only, POST/DELETE of webhooks and subscriptions, and POST /api/v2/stats")
		return
	}
	if r.URL.Path == "/api/v2/call" {
		if key == s.cfg.LimitedToken {
			writeError(w, http.StatusForbidden, "this API key lacks the calls:list scope (a company admin key is required)")
			return
		}
		s.serveCalls(w, r, f, d)
		return
	}
	if body, ok := s.tr.Directory(strings.TrimSuffix(r.URL.Path, "/")); ok {
		writeJSON(w, http.StatusOK, body)
		return
	}
	writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
}

// authorize returns the request's valid API key, or answers 401 and
// returns "". The key is never echoed.
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request) string {
	key := ""
	if h := r.Header.Get("Authorization"); len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		key = strings.TrimSpace(h[7:])
	} else if k := r.URL.Query().Get("apikey"); k != "" {
		key = k
	}
	switch {
	case key == "":
		writeError(w, http.StatusUnauthorized, "missing API key: send Authorization: Bearer <key>")
		return ""
	case subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.Token)) == 1:
		return s.cfg.Token
	case subtle.ConstantTimeCompare([]byte(key), []byte(s.cfg.LimitedToken)) == 1:
		return s.cfg.LimitedToken
	}
	writeError(w, http.StatusUnauthorized, "invalid API key")
	return ""
}

// serveCalls answers GET /api/v2/call: one page of legs, newest first.
// A cursor carries the query it continues, so with a cursor the other
// parameters are ignored.
func (s *Sim) serveCalls(w http.ResponseWriter, r *http.Request, f *Faults, d traffic.Draws) {
	q := r.URL.Query()
	in := q.Get("cursor")
	var c cursor
	var err error
	if in != "" {
		if c, err = decodeCursor(in); err != nil {
			writeError(w, http.StatusBadRequest, "invalid cursor")
			return
		}
	} else if c, err = parseCallQuery(q); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	ix := s.tr.IndexAll()
	if c.typ != "" {
		var ok bool
		if ix, ok = s.tr.Index(dialpad.Target{Type: c.typ, ID: c.id}); !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("target %s:%d not found", c.typ, c.id))
			return
		}
	}

	bp := s.bufs.Get().(*[]byte)
	defer func() {
		if cap(*bp) <= 4<<20 {
			s.bufs.Put(bp)
		}
	}()
	b := append((*bp)[:0], `{"items":[`...)
	size := s.cfg.PageSize
	malformed, malAt := d.U(drawMalformed) < f.MalformedRate, int(d.U(drawMalformedAt)*float64(size))
	n, more := 0, false
	var last *traffic.Leg
	s.tr.Scan(ix, c.w, s.now().UnixMilli(), func(l *traffic.Leg) bool {
		if n == size {
			more = true
			return false
		}
		if n > 0 {
			b = append(b, ',')
		}
		if malformed && n == malAt {
			b = append(s.appendMalformed(b, d, l.Started), ',')
			malformed = false
		}
		b = s.tr.AppendLeg(b, l)
		n++
		last = l
		return true
	})
	if malformed {
		if n > 0 {
			b = append(b, ',')
		}
		b = s.appendMalformed(b, d, s.now().UnixMilli())
	}
	b = append(b, ']')
	if more {
		next := c
		next.page++
		next.w.HasLast, next.w.LastStarted, next.w.LastID = true, last.Started, last.ID
		token := next.encode()
		if f.RepeatCursor && c.page == 1 {
			token = in // the second page hands back the first page's cursor
		}
		b = append(b, `,"cursor":"`...)
		b = append(b, token...)
		b = append(b, '"')
	}
	b = append(b, '}')
	*bp = b

	s.stats.pages.Add(1)
	s.stats.legs.Add(int64(n))
	if d.U(drawTruncate) < f.TruncateRate {
		s.stats.truncated.Add(1)
		writeTruncated(w, b, 1+int(d.U(drawTruncateAt)*float64(len(b)-2)))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

// parseCallQuery reads the filters of a first page; unknown parameters
// are ignored, as Dialpad does.
func parseCallQuery(q url.Values) (cursor, error) {
	var c cursor
	c.typ = q.Get("target_type")
	id := q.Get("target_id")
	if (c.typ == "") != (id == "") {
		return c, fmt.Errorf("target_type and target_id must be given together")
	}
	if id != "" {
		var err error
		if c.id, err = strconv.ParseInt(id, 10, 64); err != nil {
			return c, fmt.Errorf("target_id %q is not an integer", id)
		}
	}
	for _, p := range []struct {
		name string
		v    *int64
		ok   *bool
	}{{"started_after", &c.w.After, &c.w.HasAfter}, {"started_before", &c.w.Before, &c.w.HasBefore}} {
		v := q.Get(p.name)
		if v == "" {
			continue
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return c, fmt.Errorf("%s %q is not a UTC timestamp in milliseconds", p.name, v)
		}
		*p.v, *p.ok = n, true
	}
	return c, nil
}

func writeJSON(w http.ResponseWriter, code int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	w.Write(body)
}

// writeError answers {"error":{"code":...,"message":...}}.
func writeError(w http.ResponseWriter, code int, msg string) {
	b := fmt.Appendf(nil, `{"error":{"code":%d,"message":`, code)
	b = traffic.AppendString(b, msg)
	writeJSON(w, code, append(b, "}}"...))
}
