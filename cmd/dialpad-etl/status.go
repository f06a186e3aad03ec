package main

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"
)

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("status", "status [flags]", stderr)
	runs := fs.Int("runs", 5, "how many recent runs to show per target")
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
	conn := store.Conn()
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
		for _, table := range []string{"calls", "conversations", "agent_daily", "rejected_calls"} {
			var n uint64
			q := "SELECT count() FROM " + table + " FINAL WHERE target_type = ? AND target_id = ?"
			if err := conn.QueryRow(ctx, q, t.Type, uint64(t.ID)).Scan(&n); err != nil {
				return fmt.Errorf("count %s: %w", table, err)
			}
			fmt.Fprintf(tw, "  %s\t%d rows\n", table, n)
		}
		rows, err := conn.Query(ctx, `SELECT started_at, toString(kind), toString(status), legs, rejected, requests, error
			FROM etl_runs WHERE target_type = ? AND target_id = ? ORDER BY started_at DESC LIMIT ?`, t.Type, uint64(t.ID), *runs)
		if err != nil {
			return err
		}
		for rows.Next() {
			var at time.Time
			var kind, status, errText string
			var legs uint64
			var rejected, requests uint32
			if err := rows.Scan(&at, &kind, &status, &legs, &rejected, &requests, &errText); err != nil {
				rows.Close()
				return err
			}
			fmt.Fprintf(tw, "  run %s\t%s %s\t%d legs, %d rejected, %d requests\t%s\n", at.Format(time.RFC3339), kind, status, legs, rejected, requests, errText)
		}
		rows.Close()
	}
	return tw.Flush()
}
