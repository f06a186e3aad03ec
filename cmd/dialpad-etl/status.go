package main

import (
	"context"
	"fmt"
	"io"
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
		mark, ok, err := store.HighWater(ctx, t)
		if err != nil {
			return err
		}
		if ok {
			fmt.Fprintf(tw, "  high-water mark\t%s\t(%s ago)\n", mark.Format(time.RFC3339), time.Since(mark).Round(time.Second))
		} else {
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
