package main

import (
	"context"
	"fmt"
	"log"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"time"
)

// nativeRow sets the load rate of r beside the server's own: the legs r
// loaded, exported from its database in Native format and inserted by
// clickhouse-client into an empty copy of calls, the fastest way
// ClickHouse takes the same rows.
func (b *bench) nativeRow(ctx context.Context, t *table, r *loadRun) error {
	client, err := exec.LookPath("clickhouse-client")
	if err != nil {
		return fmt.Errorf("native insert: %w", err)
	}
	host, port, err := net.SplitHostPort(b.ch.Addr)
	if err != nil {
		return err
	}
	path := filepath.Join(b.opt.dir, r.database, "calls.native")
	defer os.Remove(path)
	chc := func(query string, stdin, stdout *os.File) error {
		cmd := exec.CommandContext(ctx, client, "--host", host, "--port", port, "--database", r.database, "--query", query)
		cmd.Stdin, cmd.Stdout, cmd.Stderr = stdin, stdout, os.Stderr
		return cmd.Run()
	}
	out, err := os.Create(path)
	if err != nil {
		return err
	}
	err = chc("SELECT * FROM calls FINAL FORMAT Native", nil, out)
	out.Close()
	if err != nil {
		return fmt.Errorf("native insert: export: %w", err)
	}
	if err := chc("CREATE TABLE calls_native AS calls", nil, nil); err != nil {
		return fmt.Errorf("native insert: %w", err)
	}
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	log.Printf("%s: inserting its %s legs with clickhouse-client, Native format", r.database, thousands(float64(r.runs.rows)))
	chBefore := cpuTime(b.ch.Pid())
	began := time.Now()
	if err := chc("INSERT INTO calls_native FORMAT Native", in, nil); err != nil {
		return fmt.Errorf("native insert: %w", err)
	}
	took, chCPU := time.Since(began), cpuTime(b.ch.Pid())-chBefore
	native := float64(r.runs.rows) / took.Seconds()
	load := float64(r.runs.legs) / r.wall.Seconds()
	ratio := load / native
	perLeg := func(d time.Duration, n uint64) float64 { return float64(d.Microseconds()) / float64(max(n, 1)) }
	t.add(row{what: "Load rate end to end (the backfill of the first throughput row) beside the server's own insert rate for the same rows (clickhouse-client, INSERT ... FORMAT Native of calls FINAL into an empty copy of calls)",
		measured: fmt.Sprintf("%.0f%%: %s legs/s end to end, %s legs/s inserted natively (%.1f s); ClickHouse CPU per leg: %.1f µs loading, %.1f µs inserting",
			100*ratio, thousands(load), thousands(native), took.Seconds(), perLeg(r.chCPU, r.runs.legs), perLeg(chCPU, r.runs.rows)),
		target: "≥ 60%", met: ratio >= 0.60})
	return nil
}
