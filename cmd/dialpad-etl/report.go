package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("report", "report [--from DAY] [--to DAY] [flags]", stderr)
	fromText := fs.String("from", "", "first day, YYYY-MM-DD in ETL_TIMEZONE (default 13 days before --to)")
	toText := fs.String("to", "", "last day, included (default today)")
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := connect(ctx, fs, stderr, config.WithoutDialpad())
	if err != nil {
		return err
	}
	defer e.store.Close()
	cfg, store := e.cfg, e.store
	to := time.Now().In(cfg.Location)
	if *toText != "" {
		if to, err = time.ParseInLocation(time.DateOnly, *toText, cfg.Location); err != nil {
			return fmt.Errorf("--to: %q is not a date (2026-01-31)", *toText)
		}
	}
	from := to.AddDate(0, 0, -13)
	if *fromText != "" {
		if from, err = time.ParseInLocation(time.DateOnly, *fromText, cfg.Location); err != nil {
			return fmt.Errorf("--from: %q is not a date (2026-01-31)", *fromText)
		}
	}
	for _, t := range cfg.Targets {
		fmt.Fprintf(stdout, "\n%s, %s to %s (%s)\n\n", t, from.Format(time.DateOnly), to.Format(time.DateOnly), cfg.Location)
		c, err := store.Cards(ctx, t, from, to)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "  Inbound %d   Outbound %d   Missed %d   Total %d   (customer calls)\n\n", c.Inbound, c.Outbound, c.Missed, c.Total)
		agents, err := store.AgentActivity(ctx, t, from, to)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  Agent\tTotal\tEfficiency\tInbound\tOutbound\tAvg duration\t")
		for _, a := range agents {
			eff, avg := 0.0, time.Duration(0)
			if a.Total > 0 {
				eff = 100 * float64(a.Completed) / float64(a.Total)
			}
			if a.Completed > 0 {
				avg = time.Duration(a.DurationMs/a.Completed) * time.Millisecond
			}
			fmt.Fprintf(tw, "  %s\t%d\t%.0f%%\t%d\t%d\t%s\t\n", a.Name, a.Total, eff, a.Inbound, a.Outbound, clock(avg))
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	return nil
}

// clock formats d as m:ss, or h:mm:ss from an hour on.
func clock(d time.Duration) string {
	s := int(d.Round(time.Second).Seconds())
	if s >= 3600 {
		return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
	}
	return fmt.Sprintf("%d:%02d", s/60, s%60)
}
