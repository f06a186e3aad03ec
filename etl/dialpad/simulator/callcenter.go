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
	rest, ok := strings.CutPrefix(strings.TrimSuffix(r.URL.Path, "/"), "/api/v2/callcenters/")
	id, ok2 := strings.CutSuffix(rest, "/status")
	if !ok || !ok2 || id == "" || strings.Contains(id, "/") {
		return false
	}
	if r.Method != http.MethodGet {
		methodNotAllowed(w, "GET")
		return true
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		writeError(w, http.StatusNotFound, "call center not found")
		return true
	}
	st, found := s.hub.CallCenterStatus(n, s.now())
	if !found {
		writeError(w, http.StatusNotFound, fmt.Sprintf("call center %d not found", n))
		return true
	}
	writeObject(w, st)
	return true
}

// CallCenterStatus is the ground truth of GET
// /api/v2/callcenters/{id}/status at the simulator's clock now; false
// for an id that is not the company's call center.
func (s *Sim) CallCenterStatus(id int64, now time.Time) (webhook.CallCenterStatusJSON, bool) {
	return s.hub.CallCenterStatus(id, now)
}
