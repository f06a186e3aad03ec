// Package dialpad is the client of Dialpad's API v2. It lists the legs of
// a target's calls page by page (ListCalls), reads the operators of a
// group (Operators) and a call-center operator's current duty status
// (OperatorDutyStatus), asks for a records export of calls or of
// dispositions, waits for it and downloads it (ExportCalls,
// ExportDispositions), and keeps the company's webhooks and
// event subscriptions. Every request and every retry waits on one rate
// limiter; retries follow a policy the caller can swap; the API token
// never appears in a URL, a log line or an error.
//
// What Dialpad sends is defined and read elsewhere: legs, pages and
// webhook events in etl/dialpad/wire, the file of a records export in
// etl/dialpad/records. Those are the only packages of the project this
// one imports.
package dialpad
