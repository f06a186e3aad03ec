package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

func runReport(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("report", "report [--from DAY] [--to DAY] [flags]", stderr)
	fromText := fs.String("from", "", "first day, YYYY-MM-DD in ETL_TIMEZONE (default 13 days before --to)")
	toText := fs.String("to", "", "last day, included (default today)")
	if err := parse(fs, args); err != nil {
		return err
	}
	e, err := connect(ctx, fs, stderr)
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
	first, last := from.Format(time.DateOnly), to.Format(time.DateOnly)
	conn := store.Conn()
	for _, t := range cfg.Targets {
		fmt.Fprintf(stdout, "\n%s, %s to %s (%s)\n\n", t, first, last, cfg.Location)
		var in, out, missed, total uint64
		err := conn.QueryRow(ctx, `SELECT countIf(direction = 'inbound'), countIf(direction = 'outbound'),
			countIf(direction = 'inbound' AND outcome IN ('missed', 'voicemail')), count()
			FROM conversations FINAL
			WHERE target_type = ? AND target_id = ? AND day >= toDate(?) AND day <= toDate(?)`,
			t.Type, uint64(t.ID), first, last).Scan(&in, &out, &missed, &total)
		if err != nil {
			return fmt.Errorf("read the cards of %s: %w", t, err)
		}
		fmt.Fprintf(stdout, "  Inbound %d   Outbound %d   Missed %d   Total %d   (customer calls)\n\n", in, out, missed, total)

		rows, err := conn.Query(ctx, `SELECT argMax(agent_name, day), sum(total_calls) AS n, sum(completed_calls),
			sum(inbound_calls), sum(outbound_calls), sum(total_duration_ms)
			FROM agent_daily FINAL
			WHERE target_type = ? AND target_id = ? AND day >= toDate(?) AND day <= toDate(?)
			GROUP BY agent_id ORDER BY n DESC, agent_id`, t.Type, uint64(t.ID), first, last)
		if err != nil {
			return fmt.Errorf("read agent activity of %s: %w", t, err)
		}
		tw := tabwriter.NewWriter(stdout, 2, 4, 2, ' ', tabwriter.AlignRight)
		fmt.Fprintln(tw, "  Agent\tTotal\tEfficiency\tInbound\tOutbound\tAvg duration\t")
		for rows.Next() {
			var name string
			var n, completed, inbound, outbound, ms uint64
			if err := rows.Scan(&name, &n, &completed, &inbound, &outbound, &ms); err != nil {
				rows.Close()
				return err
			}
			eff, avg := 0.0, time.Duration(0)
			if n > 0 {
				eff = 100 * float64(completed) / float64(n)
			}
			if completed > 0 {
				avg = time.Duration(ms/completed) * time.Millisecond
			}
			fmt.Fprintf(tw, "  %s\t%d\t%.0f%%\t%d\t%d\t%s\t\n", name, n, eff, inbound, outbound, clock(avg))
		}
		rows.Close()
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
