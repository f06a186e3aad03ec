package ccstatus

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Storage keeps the polls in callcenter_status. It is safe for concurrent
// use.
type Storage struct {
	db *db.DB
}

// NewStorage is the storage of the polls in the warehouse d.
func NewStorage(d *db.DB) *Storage { return &Storage{db: d} }

// WriteStatus writes polls in one insert.
func (s *Storage) WriteStatus(ctx context.Context, polls []Poll) error {
	if len(polls) == 0 {
		return nil
	}
	return s.db.Send(ctx, "callcenter_status", `INSERT INTO callcenter_status (target_type, target_id, polled_at,
		polled_ms, interval_s, availability, availability_name, is_open, on_duty_operators, capacity, pending,
		longest_call_wait_s, version)`, func(b driver.Batch) error {
		for _, p := range polls {
			st := p.Status
			if err := b.Append(p.Target.Type, uint64(p.Target.ID), p.At.UTC(), p.At.UnixMilli(),
				uint32(p.Interval/time.Second), st.Availability, st.AvailabilityName, db.Flag(st.Open()),
				count32(st.OnDutyOperators), count32(st.Capacity), count32(st.Pending), count32(st.LongestWaitS),
				db.Version(p.At)); err != nil {
				return fmt.Errorf("status of %s: %w", p.Target, err)
			}
		}
		return nil
	})
}

// count32 is a count as a UInt32 column holds it.
func count32(n int64) uint32 { return uint32(min(max(n, 0), 1<<32-1)) }

// DropDays drops the polls of the UTC days before before's. On a
// cluster, every shard drops its own.
func (s *Storage) DropDays(ctx context.Context, before time.Time) error {
	return s.db.EachShard(ctx, func(sh *db.DB) error { return (&Storage{sh}).dropDays(ctx, before) })
}

func (s *Storage) dropDays(ctx context.Context, before time.Time) error {
	days, err := s.db.Ints(ctx, "SELECT DISTINCT toYYYYMMDD(polled_at) FROM callcenter_status")
	if err != nil {
		return fmt.Errorf("read the days of call-center status: %w", err)
	}
	b := before.UTC()
	limit := b.Year()*10000 + int(b.Month())*100 + b.Day()
	for _, d := range days {
		if d < limit {
			if err := s.db.Exec(ctx, "ALTER TABLE callcenter_status DROP PARTITION "+strconv.Itoa(d)); err != nil {
				return fmt.Errorf("drop the call-center status of %d: %w", d, err)
			}
		}
	}
	return nil
}
