// Package records reads the files of records exports as Dialpad's stats
// export writes them (POST /api/v2/stats, export_type "records"): the
// calls export (stat_type "calls", Parse), a CSV whose columns are read
// by name, whose naive local times are placed in their time zone across
// changes of the clocks, and whose durations are minutes; and the
// dispositions export (stat_type "dispositions", ParseDispositions),
// whose rows of one leg make one leg with its dispositions, the columns
// it does not read kept by name. A row that cannot be read is counted,
// not fatal.
//
// Asking for an export, waiting for it and downloading it is the
// client's (etl/dialpad, ExportCalls and ExportDispositions). This
// package imports only etl/dialpad/wire, for the ids.
package records
