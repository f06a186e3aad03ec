package webhook

import (
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/traffic"
)

// Hub is the webhook side of the simulated company: the webhooks,
// websockets and event subscriptions registered through the API, the events of the
// traffic, and their delivery. It is safe for concurrent use.
type Hub struct {
	tr        *traffic.Traffic
	now       func() time.Time // the simulator's clock
	maxSpan   int64            // the longest leg, date_ended - date_started, ms
	operators []int            // party indexes of the call center's operators (agent status events)
	store     hookStore
	delivery  deliveryCounters // every Deliver's, for DeliveryStats

	sockMu   sync.Mutex
	sockLife time.Duration          // of websocket URLs and connections (0: DefaultSocketLifetime)
	tokens   map[string]socketToken // the websocket URLs' tokens handed out
}

// New returns the hub of tr's company, whose events happen on the
// clock now; it has no webhooks yet.
func New(tr *traffic.Traffic, now func() time.Time) *Hub {
	hb := &Hub{tr: tr, now: now}
	hb.prepareEvents()
	return hb
}
