package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
)

// runRebuild counts the warehouse's days again in ETL_TIMEZONE, after the
// zone changed: all inside ClickHouse, nothing asked of Dialpad.
func runRebuild(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("rebuild", "rebuild [flags]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := connect(ctx, fs, stderr, config.WithoutDialpad())
	if err != nil {
		return err
	}
	defer e.store.Close()
	cfg, store := e.cfg, e.store
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	// No load may write meanwhile: hold the lease of every target, the
	// configured ones and any other whose legs are stored.
	stored, err := store.Derived().StoredTargets(ctx)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	var names []string
	for _, t := range append(append([]dialpad.Target{}, cfg.Targets...), stored...) {
		if n := lease.Target(t); !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	owner, ttl := lease.NewOwner(lease.Long), 2*time.Minute
	got, held, err := store.Leases().Acquire(ctx, owner, ttl, names...)
	if err != nil {
		return err
	}
	defer store.Leases().Release(context.WithoutCancel(ctx), owner, got...)
	for _, n := range names {
		if h := held[n]; h != nil {
			return fmt.Errorf("%v: stop the loads (schedule) and run rebuild again", h)
		}
	}
	ctx, stop := store.Leases().KeepLeases(ctx, owner, ttl, got...)
	defer stop()
	began := time.Now()
	err = store.Derived().Rebuild(ctx, func(s derive.RebuildStep) {
		fmt.Fprintf(stderr, "rebuild: %s %d/%d (%s) %s\n", s.Stage, s.Done, s.Total, s.What,
			time.Since(began).Round(time.Millisecond))
	})
	if err != nil {
		return err
	}
	if err := store.Derived().RecordKPISettings(ctx, cfg.ServiceLevelGoal); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "every day in %s is now counted in %s, the KPIs with KPI_SHORT_ABANDON=%s and "+
		"KPI_SERVICE_LEVEL_THRESHOLD=%s (%s)\n", cfg.ClickHouseDatabase, cfg.Location, cfg.ShortAbandon, cfg.ServiceLevel,
		time.Since(began).Round(time.Millisecond))
	return nil
}
