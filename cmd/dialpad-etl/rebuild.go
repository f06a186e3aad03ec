package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// runRebuild counts the warehouse's days again in ETL_TIMEZONE, after the
// zone changed: all inside ClickHouse, nothing asked of Dialpad.
func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("rebuild", "rebuild [flags]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := connect(ctx, fs, stderr)
	if err != nil {
		return err
	}
	defer e.store.Close()
	cfg, store := e.cfg, e.store
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	began := time.Now()
	err = store.Rebuild(ctx, func(s warehouse.RebuildStep) {
		fmt.Fprintf(stderr, "rebuild: %s %d/%d (%s) %s\n", s.Stage, s.Done, s.Total, s.What,
			time.Since(began).Round(time.Millisecond))
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "every day in %s is now counted in %s (%s)\n", cfg.ClickHouseDatabase, cfg.Location,
		time.Since(began).Round(time.Millisecond))
	return nil
}
