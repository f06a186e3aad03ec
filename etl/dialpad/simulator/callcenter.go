package simulator

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
)

// serveCallCenterStatus answers GET /api/v2/callcenters/{id}/status with
// the call center's live status at the simulator's clock (see
// webhook.Hub.CallCenterStatus), and 404 for an id that is not the
// company's call center; false when path is not that endpoint.
func (s *Sim) serveCallCenterStatus(w http.ResponseWriter, r *http.Request) bool {
	return serveAtClock(w, r, "/api/v2/callcenters/", "/status", "call center not found",
		func(n int64) string { return fmt.Sprintf("call center %d not found", n) },
		func(n int64) (webhook.CallCenterStatusJSON, bool) { return s.hub.CallCenterStatus(n, s.now()) })
}

// serveAtClock answers GET prefix{id}suffix with what get gives for the
// id (at the simulator's clock), 404 with notFound for an id it does not
// know or badID for one that is not a number; false when path is not
// that endpoint.
func serveAtClock[T any](w http.ResponseWriter, r *http.Request, prefix, suffix, badID string,
	notFound func(int64) string, get func(int64) (T, bool)) bool {
	rest, ok := strings.CutPrefix(strings.TrimSuffix(r.URL.Path, "/"), prefix)
	id, ok2 := strings.CutSuffix(rest, suffix)
	if !ok || !ok2 || id == "" || strings.Contains(id, "/") {
		return false
	}
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return true
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, badID)
		return true
	}
	v, found := get(n)
	if !found {
		writeError(w, http.StatusNotFound, notFound(n))
		return true
	}
	writeObject(w, v)
	return true
}

// CallCenterStatus is the ground truth of GET
// /api/v2/callcenters/{id}/status at the simulator's clock now; false
// for an id that is not the company's call center.
func (s *Sim) CallCenterStatus(id int64, now time.Time) (webhook.CallCenterStatusJSON, bool) {
	return s.hub.CallCenterStatus(id, now)
}
