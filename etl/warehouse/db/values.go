package db

import (
	"context"
	"hash/fnv"
	"sort"
	"time"
)

// How Go values are written to the warehouse's columns.

// Flag is a UInt8 column's 0 or 1.
func Flag(b bool) uint8 {
	if b {
		return 1
	}
	return 0
}

// OptTime is a Nullable(DateTime) of Unix milliseconds: NULL for none.
func OptTime(ms int64) *time.Time {
	if ms <= 0 {
		return nil
	}
	t := time.UnixMilli(ms).UTC()
	return &t
}

// Hash identifies raw JSON (FNV-1a, 64 bits): a leg's raw_hash, an
// event's payload_hash.
func Hash(raw []byte) uint64 {
	h := fnv.New64a()
	h.Write(raw)
	return h.Sum64()
}

// Ints runs q, whose rows are one UInt32, and returns them sorted.
func (d *DB) Ints(ctx context.Context, q string) ([]int, error) {
	rows, err := d.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []int
	for rows.Next() {
		var v uint32
		if err := rows.Scan(&v); err != nil {
			return nil, err
		}
		out = append(out, int(v))
	}
	sort.Ints(out)
	return out, rows.Err()
}
