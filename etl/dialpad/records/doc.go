// Package records reads the file of a records export of calls as
// Dialpad's stats export writes it (POST /api/v2/stats, export_type
// "records", stat_type "calls"): a CSV whose columns are read by name,
// whose naive local times are placed in their time zone across changes of
// the clocks, and whose durations are minutes. A row that cannot be read
// is counted, not fatal.
//
// Asking for the export, waiting for it and downloading it is the
// client's (etl/dialpad, ExportCalls). This package imports only
// etl/dialpad/wire, for the ids.
package records
