package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/events"
)

// runDispositions loads Dialpad's dispositions exports of a range of
// days: what `schedule` does each night for the days it read again, for
// any days (a history the events never told of).
func runDispositions(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("dispositions", "dispositions [--from D --to D] [--target T] [flags]", stderr)
	days := exportDayFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := setup(ctx, fs, stderr)
	if err != nil {
		return err
	}
	defer e.store.Close()
	d := e.dispositionLoad(nil)
	first, last, err := days.resolve(e, &d.Targets)
	if err != nil {
		return err
	}
	return printDispositions(d.Run(ctx, first, last), first, last, stdout)
}

// printDispositions prints a line per target asked for, and returns an
// error when any failed.
func printDispositions(results []events.DispositionResult, first, last time.Time, w io.Writer) error {
	failed := 0
	for _, r := range results {
		line := fmt.Sprintf("%-22s %s to %s  ", r.Target, first.Format(time.DateOnly), last.Format(time.DateOnly))
		switch {
		case r.Refused:
			line += fmt.Sprintf("Dialpad has no dispositions export for it: %v", r.Err)
		case r.Err != nil:
			failed++
			line += fmt.Sprintf("failed: %v", r.Err)
		default:
			line += fmt.Sprintf("%d legs with dispositions, %d unreadable rows, %d days derived again", r.Legs, r.Bad, len(r.Days))
		}
		fmt.Fprintln(w, line)
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d targets' dispositions exports failed", failed, len(results))
	}
	return nil
}
