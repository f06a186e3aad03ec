// Package webhook is the webhook side of the simulated Dialpad: the
// webhooks, websockets and event subscriptions a company registers,
// kept as the API keeps them; the events of its traffic, encoded as
// Dialpad's webhooks send them (each leg as the call states it goes
// through, ending in its state in the list, then, for some legs, the
// csat, pcsat and dispositions events that follow the call, and the call
// center's agents' on-duty status as their calls connect and end); and
// the delivery of those events to a receiver or to the subscribed
// webhooks and websockets (sockets.go), signed, with retries, duplicates
// and reordering; and, read from the same timeline as the agent status
// events, each operator's duty status at an instant (what
// GET /api/v2/callcenters/operators/{id}/dutystatus answers). Like the
// traffic, the events are a pure function of the seed.
//
// The simulator's server answers the webhook, subscription and duty status
// endpoints with a Hub. This package imports etl/dialpad (Target),
// etl/dialpad/wire (to sign events) and the simulator's traffic, and no
// other package of the project.
package webhook
