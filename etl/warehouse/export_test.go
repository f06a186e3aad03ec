package warehouse

// MigrateUpTo applies the migrations up to version last: a warehouse of
// an older release, for the tests of upgrades.
var MigrateUpTo = (*Store).migrateUpTo

// IntHash64 is the sharding function of a cluster.
var IntHash64 = intHash64

// ClusterMigrations are the migrations as they are applied on a cluster.
var ClusterMigrations = clusterMigrations
