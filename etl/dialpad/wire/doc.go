// Package wire holds what Dialpad sends about calls, and reads it
// tolerantly: a leg of the call list (Call) and a page of the list
// (Page), and the webhook events (call states and agent status changes,
// each the claims of a JWT signed with the webhook's secret). Dialpad
// writes 64-bit integers as strings or numbers, omits unset fields and
// sends empty participants as {}: the types here read every form, and a
// leg that breaks an invariant is rejected with its reason.
//
// It makes no request (that is the client's, etl/dialpad) and imports no
// other package of the project.
package wire
