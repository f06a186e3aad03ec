package db

// IntHash64 is the sharding function of a cluster.
var IntHash64 = intHash64
