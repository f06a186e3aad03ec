package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("report", "report [--period day|week|month | --from DAY --to DAY] [--target T] [--html FILE] [flags]", stderr)
	fromText := fs.String("from", "", "first day, YYYY-MM-DD in ETL_TIMEZONE (default 13 days before --to)")
	toText := fs.String("to", "", "last day, included (default today)")
	periodText := fs.String("period", "", "the last complete day, week (Monday to Sunday) or month in ETL_TIMEZONE, instead of --from and --to")
	targetText := fs.String("target", "", "only these targets (type:id, comma-separated); default DIALPAD_TARGETS")
	htmlFile := fs.String("html", "", "write the report of the targets to this file, as one HTML page with its charts, instead of printing it")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *periodText != "" && (*fromText != "" || *toText != "") {
		fmt.Fprintln(stderr, "report takes --period or --from and --to, not both")
		fs.Usage()
		return errUsage
	}
	if *periodText != "" && !slices.Contains(report.Kinds, *periodText) {
		return fmt.Errorf("--period %q: want day, week or month", *periodText)
	}
	var targets []dialpad.Target
	if *targetText != "" {
		var err error
		if targets, err = dialpad.ParseTargets(*targetText); err != nil {
			return fmt.Errorf("--target: %w", err)
		}
	}
	e, err := connect(ctx, fs, stderr, config.WithoutDialpad())
	if err != nil {
		return err
	}
	defer e.store.Close()
	cfg, store := e.cfg, e.store
	if targets == nil {
		targets = cfg.Targets
	}
	period, err := reportPeriod(*periodText, *fromText, *toText, cfg.Location, time.Now())
	if err != nil {
		return err
	}
	if *htmlFile != "" {
		return writeHTMLReport(ctx, report.Options{Conn: store.DB(), Targets: targets, Location: cfg.Location, Period: period}, *htmlFile, stdout)
	}
	from := time.Date(period.From.Year(), period.From.Month(), period.From.Day(), 0, 0, 0, 0, cfg.Location)
	to := time.Date(period.To.Year(), period.To.Month(), period.To.Day(), 0, 0, 0, 0, cfg.Location)
	for _, t := range targets {
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

// reportPeriod reads --period, or --from and --to (dates in loc; by
// default the 14 days that end today).
func reportPeriod(kind, fromText, toText string, loc *time.Location, now time.Time) (report.Period, error) {
	if kind != "" {
		return report.LastPeriod(kind, now, loc)
	}
	to := now.In(loc)
	if toText != "" {
		var err error
		if to, err = time.ParseInLocation(time.DateOnly, toText, loc); err != nil {
			return report.Period{}, fmt.Errorf("--to: %q is not a date (2026-01-31)", toText)
		}
	}
	from := to.AddDate(0, 0, -13)
	if fromText != "" {
		var err error
		if from, err = time.ParseInLocation(time.DateOnly, fromText, loc); err != nil {
			return report.Period{}, fmt.Errorf("--from: %q is not a date (2026-01-31)", fromText)
		}
	}
	return report.Custom(from, to), nil
}

// writeHTMLReport builds the report and writes it to file as one
// self-contained page, then says where it is.
func writeHTMLReport(ctx context.Context, opt report.Options, file string, stdout io.Writer) error {
	r, err := report.Build(ctx, opt)
	if err != nil {
		return err
	}
	page, _, err := r.HTML(report.DataURI)
	if err != nil {
		return err
	}
	if err := os.WriteFile(file, page, 0o600); err != nil {
		return err
	}
	if abs, err := filepath.Abs(file); err == nil {
		file = abs
	}
	fmt.Fprintf(stdout, "%s (%s, %d target(s)): %s (%d KB)\n", r.Subject(), opt.Location, len(r.Sections), file, (len(page)+1023)/1024)
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
