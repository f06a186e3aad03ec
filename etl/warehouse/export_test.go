package warehouse

// MigrateUpTo applies the migrations up to version last: a warehouse of
// an older release, for the tests of upgrades.
var MigrateUpTo = (*Store).migrateUpTo
