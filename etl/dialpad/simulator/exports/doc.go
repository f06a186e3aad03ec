// Package exports is the simulated stats export, Dialpad's asynchronous
// records of calls and of dispositions: the exports requested, and their
// life (processing, then complete or failed; an identical request within
// the hour gets the same export back; POSTs are limited per hour), the
// signed links their files are downloaded from, and the files
// themselves: a CSV with one row per leg, consistent with the call list
// (csv.go), or one row per disposition an agent picked, consistent with
// the dispositions events (dispositions.go, its columns [assume]).
//
// An export stays processing for its delay on the simulator's clock or on
// the wall clock, whichever passes it first: the simulator's clock may
// stand still. Then it is complete, or failed for the failed share. Its
// id answers for an hour of the simulator's clock. Nothing of the CSV is
// kept: each download renders it from the legs as they stood when the
// export was requested.
//
// The simulator's server answers the stats endpoints with a Store. This
// package imports etl/dialpad (Target) and the simulator's traffic, and
// no other package of the project.
package exports
