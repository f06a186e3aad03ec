package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("status", "status [flags]", stderr)
	runs := fs.Int("runs", 5, "how many recent runs to show per target")
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
	tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', 0)
	for _, t := range cfg.Targets {
		fmt.Fprintf(tw, "%s\n", t)
		spans, err := store.LoadedSpans(ctx, t)
		if err != nil {
			return err
		}
		writeLoaded(tw, spans)
		mark, ok, err := store.HighWater(ctx, t)
		if err != nil {
			return err
		}
		switch {
		case ok:
			fmt.Fprintf(tw, "  high-water mark\t%s\t(%s ago)\n", mark.Format(time.RFC3339), time.Since(mark).Round(time.Second))
		case len(spans) > 0:
			fmt.Fprintf(tw, "  high-water mark\tnone: the incremental load (schedule, run) has not run yet\n")
		default:
			fmt.Fprintf(tw, "  high-water mark\tnone: nothing loaded yet\n")
		}
		counts, err := store.Counts(ctx, t)
		if err != nil {
			return err
		}
		for _, table := range warehouse.Counted {
			fmt.Fprintf(tw, "  %s\t%d rows\n", table, counts[table])
		}
		runs, err := store.RecentRuns(ctx, t, *runs)
		if err != nil {
			return err
		}
		for _, r := range runs {
			fmt.Fprintf(tw, "  run %s\t%s %s\t%d legs, %d rejected, %d requests\t%s\n",
				r.Started.Format(time.RFC3339), r.Kind, r.Status, r.Legs, r.Rejected, r.Requests, r.Error)
		}
	}
	return tw.Flush()
}

// writeLoaded lists what the target's loads covered, and the gaps
// between: the calls that started in a gap were never loaded.
func writeLoaded(w io.Writer, spans []warehouse.Loaded) {
	for i, l := range spans {
		if i > 0 {
			fmt.Fprintf(w, "  not loaded\t%s to %s\t(a gap: backfill it)\n", spans[i-1].To.Format(time.RFC3339), l.From.Format(time.RFC3339))
		}
		fmt.Fprintf(w, "  loaded\t%s to %s\t(%s)\n", l.From.Format(time.RFC3339), l.To.Format(time.RFC3339), strings.Join(l.Kinds, ", "))
	}
}
