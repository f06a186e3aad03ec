package events

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// The times without a websocket connection (events_gaps), by host: a
// process closes the gaps its host left open.

// host names the process's machine in events_gaps.
func host() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// OpenGap records that this host's connection was lost at from.
func (s *Storage) OpenGap(ctx context.Context, from time.Time) error {
	return s.writeGaps(ctx, []gap{{from: from.UnixMilli()}})
}

// CloseGaps records that every gap this host left open ended at to.
func (s *Storage) CloseGaps(ctx context.Context, to time.Time) error {
	rows, err := s.db.Query(ctx, `SELECT from_ms FROM events_gaps FINAL WHERE host = ? AND to_ms = 0`, host())
	if err != nil {
		return fmt.Errorf("read the open gaps: %w", err)
	}
	var open []gap
	for rows.Next() {
		var g gap
		if err := rows.Scan(&g.from); err != nil {
			rows.Close()
			return err
		}
		g.to = max(to.UnixMilli(), g.from)
		open = append(open, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	return s.writeGaps(ctx, open)
}

// gap is a row of events_gaps (to 0: open).
type gap struct{ from, to int64 }

func (s *Storage) writeGaps(ctx context.Context, gaps []gap) error {
	if len(gaps) == 0 {
		return nil
	}
	h, version := host(), db.Version(time.Now())
	return s.db.Send(ctx, "events_gaps", `INSERT INTO events_gaps (host, from_ms, from_at, to_ms, to_at, version)`,
		func(b driver.Batch) error {
			for _, g := range gaps {
				if err := b.Append(h, g.from, time.UnixMilli(g.from).UTC(), g.to, time.UnixMilli(g.to).UTC(), version); err != nil {
					return err
				}
			}
			return nil
		})
}
