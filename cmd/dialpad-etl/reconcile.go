package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/reconcile"
)

// runReconcile compares a range of days with Dialpad's records exports.
func runReconcile(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("reconcile", "reconcile [--from D --to D] [--target T] [flags]", stderr)
	days := exportDayFlags(fs)
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := setup(ctx, fs, stderr)
	if err != nil {
		return err
	}
	defer e.store.Close()
	r := e.reconciler(nil)
	first, last, err := days.resolve(e, &r.Targets)
	if err != nil {
		return err
	}
	return printReconciliation(r.Run(ctx, first, last), stdout)
}

// exportDays are the flags of a command that reads Dialpad's exports of
// whole days: --from, --to and --target.
type exportDays struct{ from, to, target *string }

func exportDayFlags(fs *flag.FlagSet) exportDays {
	return exportDays{
		from:   fs.String("from", "", "first day (YYYY-MM-DD, in ETL_TIMEZONE); default the RECONCILE_DAYS days that end with --to"),
		to:     fs.String("to", "", "last day, included (YYYY-MM-DD), before today; default yesterday"),
		target: fs.String("target", "", "only these targets (type:id, comma-separated); default DIALPAD_TARGETS"),
	}
}

// resolve reads the days (reconcileRange) and, with --target, sets
// *targets to those targets.
func (d exportDays) resolve(e *env, targets *[]dialpad.Target) (first, last time.Time, err error) {
	first, last, err = reconcileRange(*d.from, *d.to, e.cfg.ReconcileDays, e.cfg.Location, time.Now())
	if err != nil || *d.target == "" {
		return first, last, err
	}
	if *targets, err = dialpad.ParseTargets(*d.target); err != nil {
		return first, last, fmt.Errorf("--target: %w", err)
	}
	return first, last, nil
}

// reconcileRange reads --from and --to: dates in loc, the last before
// today; by default the days days before today.
func reconcileRange(fromText, toText string, days int, loc *time.Location, now time.Time) (first, last time.Time, err error) {
	y, m, d := now.In(loc).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	last = today.AddDate(0, 0, -1)
	if toText != "" {
		if last, err = time.Parse(time.DateOnly, toText); err != nil {
			return first, last, fmt.Errorf("--to %q is not a date (2026-01-31)", toText)
		}
		if !last.Before(today) {
			return first, last, fmt.Errorf("--to %s is not over yet in %s: Dialpad exports whole days before today", toText, loc)
		}
	}
	first = last.AddDate(0, 0, -max(days, 1)+1)
	if fromText != "" {
		if first, err = time.Parse(time.DateOnly, fromText); err != nil {
			return first, last, fmt.Errorf("--from %q is not a date (2026-01-31)", fromText)
		}
	}
	if first.After(last) {
		return first, last, fmt.Errorf("--from %s is after --to %s", first.Format(time.DateOnly), last.Format(time.DateOnly))
	}
	return first, last, nil
}

// printReconciliation prints a line per target and day, and returns an
// error when any day is not a match. A differing day's line has each
// side's inbound entry legs by class (Dialpad's categories and ours).
func printReconciliation(results []reconcile.Result, w io.Writer) error {
	total, off, failed := 0, 0, 0
	for _, res := range results {
		for _, d := range res.Days {
			total++
			line := fmt.Sprintf("%-22s %s  %-7s ours %d legs, %d conversations; Dialpad's %d legs, %d conversations",
				res.Target, d.Day.Format(time.DateOnly), d.Status, d.OurLegs, d.OurConvs, d.DialpadLegs, d.DialpadConvs)
			switch d.Status {
			case reconcile.StatusMatch:
			case reconcile.StatusDiffer:
				off++
				line += fmt.Sprintf(": %d only in Dialpad's, %d only in ours, %d disagreeing, %d unreadable; "+
					"entry legs ours: %s; Dialpad's: %s", d.OnlyDialpad, d.OnlyOurs, d.Disagreeing, d.Unreadable,
					d.OurCategories, d.DialpadCategories)
			default:
				off++
				line = fmt.Sprintf("%-22s %s  %-7s ours %d legs; not compared: %s", res.Target, d.Day.Format(time.DateOnly),
					d.Status, d.OurLegs, d.Error)
			}
			if d.Reloaded > 0 {
				line += fmt.Sprintf(" (%d legs found by loading the day again)", d.Reloaded)
			}
			fmt.Fprintln(w, line)
		}
		if res.Err != nil {
			failed++
			fmt.Fprintf(w, "%-22s not wholly reconciled: %v\n", res.Target, res.Err)
		}
	}
	switch {
	case failed > 0:
		return fmt.Errorf("%d of %d targets not wholly reconciled, and %d of %d days do not agree with Dialpad's export",
			failed, len(results), off, total)
	case off > 0:
		return fmt.Errorf("%d of %d days do not agree with Dialpad's export (see reconciliation and reconciliation_diffs)", off, total)
	}
	return nil
}
