package simulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// serveControl answers the simulator's own endpoints, for processes that
// run it separately. They bypass the rate limit and the faults, and are
// not counted in Stats.Requests.
//
//	GET /_sim/healthz  {"status":"ok","legs":N}, no key needed
//	GET /_sim/legs?target_type=&target_id=&from=&to=  the ground truth of
//	    Legs as {"items":[...]}; from and to in ms, half-open, optional;
//	    no target means every leg
//	GET /_sim/exports/{id}.csv?expires=&signature=  a stats export's CSV,
//	    the download_url of GET /api/v2/stats/{id}: signed, so no key (a
//	    request that sends one is refused, 400)
//	GET /_sim/websocket?token=  a websocket's connection, the websocket_url
//	    of /api/v2/websockets: the token is the credential (403 unknown,
//	    401 expired, before the upgrade)
func (s *Sim) serveControl(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_sim/exports/") {
		s.serveExportDownload(w, r)
		return
	}
	switch r.URL.Path {
	case "/_sim/websocket":
		s.hub.ServeSocket(w, r, r.URL.Query().Get("token"))
	case "/_sim/healthz":
		writeJSON(w, http.StatusOK, fmt.Appendf(nil, `{"status":"ok","legs":%d}`, s.NumLegs()))
	case "/_sim/legs":
		if s.authorize(w, r) == "" {
			return
		}
		s.serveTruth(w, r)
	default:
		writeError(w, http.StatusNotFound, "not found: "+r.URL.Path)
	}
}

func (s *Sim) serveTruth(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ix := s.tr.IndexAll()
	if typ, id := q.Get("target_type"), q.Get("target_id"); typ != "" || id != "" {
		n, err := strconv.ParseInt(id, 10, 64)
		if err != nil || typ == "" {
			writeError(w, http.StatusBadRequest, "target_type and target_id (an integer) must be given together")
			return
		}
		var ok bool
		if ix, ok = s.tr.Index(dialpad.Target{Type: typ, ID: n}); !ok {
			writeError(w, http.StatusNotFound, fmt.Sprintf("target %s:%d not found", typ, n))
			return
		}
	}
	var win traffic.Window
	for _, p := range []struct {
		name string
		v    *int64
		ok   *bool
	}{{"from", &win.After, &win.HasAfter}, {"to", &win.Before, &win.HasBefore}} {
		if v := q.Get(p.name); v != "" {
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil {
				writeError(w, http.StatusBadRequest, p.name+" must be a UTC timestamp in milliseconds")
				return
			}
			*p.v, *p.ok = n, true
		}
	}
	win.After-- // from is inclusive; the window's bound is strict
	b := []byte(`{"items":[`)
	first := true
	s.tr.Scan(ix, win, s.now().UnixMilli(), func(l *traffic.Leg) bool {
		if !first {
			b = append(b, ',')
		}
		first = false
		b = s.tr.AppendLeg(b, l)
		return true
	})
	writeJSON(w, http.StatusOK, append(b, "]}"...))
}
