// Package schema holds the warehouse's numbered SQL migrations and reads
// them in order; package warehouse applies them. It imports nothing of
// the project.
//
// Each file NNN_name.sql is applied once, in order, by "dialpad-etl
// migrate" and at the start of every run. Statements are separated by a
// semicolon at the end of a line, run in the configured database, and
// must work on ClickHouse 18.16 as well as on current releases.
package schema

import "embed"

// Files are the migrations.
//
//go:embed *.sql
var Files embed.FS
