package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("migrate", "migrate [flags]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := connect(ctx, fs, stderr, config.WithoutDialpad())
	if err != nil {
		return err
	}
	defer e.store.Close()
	cfg, store := e.cfg, e.store
	applied, err := store.Migrate(ctx)
	if err != nil {
		return err
	}
	if len(applied) == 0 {
		fmt.Fprintf(stdout, "database %s is up to date\n", cfg.ClickHouseDatabase)
	}
	for _, name := range applied {
		fmt.Fprintf(stdout, "applied %s\n", name)
	}
	return nil
}

func runRun(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("run", "run [flags]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := setup(ctx, fs, stderr)
	if err != nil {
		return err
	}
	defer e.store.Close()
	return summarize(e.job().Incremental(ctx), stderr)
}

func runBackfill(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("backfill", "backfill --from X --to Y [--via list|export|auto] [--target T] [--force] [flags]", stderr)
	fromText := fs.String("from", "", "first day (YYYY-MM-DD, in ETL_TIMEZONE) or instant (RFC 3339) to load")
	toText := fs.String("to", "", "last day, included (YYYY-MM-DD), or end instant (RFC 3339, excluded); default now")
	targetText := fs.String("target", "", "load only these targets (type:id, comma-separated); default DIALPAD_TARGETS")
	force := fs.Bool("force", false, "fetch days that an earlier backfill already loaded completely")
	via := fs.String("via", "list", "read the days from the call `source`: list; export (Dialpad's records export, up to 31 days a request, "+
		"whole days before today); auto (the export for the days before the last BACKFILL_EXPORT_AFTER_DAYS, the list for those)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *via != "list" && *via != "export" && *via != "auto" {
		fmt.Fprintf(stderr, "backfill --via %q: want list, export or auto\n", *via)
		fs.Usage()
		return errUsage
	}
	if *fromText == "" {
		fmt.Fprintln(stderr, "backfill needs --from")
		fs.Usage()
		return errUsage
	}
	e, err := setup(ctx, fs, stderr)
	if err != nil {
		return err
	}
	defer e.store.Close()
	now := time.Now()
	from, err := config.ParseInstant(*fromText, e.cfg.Location, now)
	if err != nil {
		return fmt.Errorf("--from: %w", err)
	}
	to := now
	if *toText != "" {
		if to, err = parseEnd(*toText, e.cfg.Location); err != nil {
			return fmt.Errorf("--to: %w", err)
		}
	}
	if !from.Before(to) {
		return fmt.Errorf("--from %s is not before --to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	var targets []dialpad.Target
	if *targetText != "" {
		if targets, err = dialpad.ParseTargets(*targetText); err != nil {
			return fmt.Errorf("--target: %w", err)
		}
	}
	job := e.job()
	exportTo, listFrom := splitVia(*via, from, to, time.Now(), e.cfg.BackfillExportAfter, e.cfg.Location)
	var results []load.Result
	if from.Before(exportTo) {
		bar := newExportProgress(stderr, e.cfg.LogFormat == "json", e.log)
		job.ExportProgress = bar.update
		results = append(results, job.BackfillExport(ctx, from, exportTo, targets, *force)...)
	}
	if listFrom.Before(to) && ctx.Err() == nil {
		bar := newProgress(stderr, e.cfg.LogFormat == "json", e.log)
		job.Progress = bar.update
		results = append(results, job.Backfill(ctx, listFrom, to, targets, *force)...)
		bar.done()
	}
	e.planStaffing(ctx, from, time.Now())
	return summarize(results, stderr)
}

// splitVia is where a backfill of [from, to) by via changes from the
// export to the list: the export loads [from, exportTo), the list
// [listFrom, to). With auto, the export takes the days before the last
// afterDays before now's day in loc.
func splitVia(via string, from, to, now time.Time, afterDays int, loc *time.Location) (exportTo, listFrom time.Time) {
	switch via {
	case "export":
		return to, to
	case "auto":
		y, m, d := now.In(loc).Date()
		split := time.Date(y, m, d-afterDays, 0, 0, 0, 0, loc)
		return minTime(to, split), maxTime(from, split)
	}
	return from, from
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// parseEnd reads the end of a backfill: a date is included whole, so it
// ends at the next midnight in loc; an RFC 3339 instant is the end itself.
func parseEnd(s string, loc *time.Location) (time.Time, error) {
	if d, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return d.AddDate(0, 0, 1), nil
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is not a date (2026-01-31) or an RFC 3339 time", s)
	}
	return t, nil
}
