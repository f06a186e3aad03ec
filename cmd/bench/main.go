// Command bench measures dialpad-etl against a simulated Dialpad (a
// separate "dialpad-etl simulate" process on loopback) and a private
// ClickHouse server, and prints one markdown table: the machine, then API
// budget use, throughput, memory, dashboard query times, the event
// receiver's answers and its recompute for a big call center, a year of
// history by the records export beside the call list, each with
// its target and whether it was met. Run it with "make bench" from the
// repository's root.
//
// It imports the parts it measures (dialpad, the simulator and its
// webhooks, wire, load, warehouse, report, grafana/expand) and
// internal/chserver, chcluster and child; never the test kit.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

// options are the benchmark's flags.
type options struct {
	bin         string // the dialpad-etl binary
	dir         string // scratch directory, removed afterwards
	dashboards  string // grafana/dashboards
	legs        int    // legs of the large runs (about)
	days        int    // days of simulated traffic of the large runs
	small       bool   // also the 25-item page end to end
	keep        bool
	only        string // run only these steps
	historyLegs int    // legs of the year of the history step (about)
	exportLegs  int    // legs of the export step's year of one target (about)
	reuse       bool   // time the dashboards of a history kept before

	recomputeLegs int     // legs of the recompute step's month (about)
	recomputeRate float64 // final events a second of the recompute step
}

func main() {
	var o options
	flag.StringVar(&o.bin, "bin", "bin/dialpad-etl", "the dialpad-etl binary (make build)")
	flag.StringVar(&o.dir, "dir", ".bench", "scratch directory for ClickHouse's data and the logs; removed afterwards")
	flag.StringVar(&o.dashboards, "dashboards", "grafana/dashboards", "the dashboards whose panel queries are timed")
	flag.IntVar(&o.legs, "legs", 1_000_000, "legs of the large runs (approximately)")
	flag.IntVar(&o.days, "days", 28, "days of traffic of the large runs")
	flag.BoolVar(&o.small, "page-25", true, "also run the large backfill with the simulator's default 25-item pages")
	flag.BoolVar(&o.keep, "keep", false, "keep the scratch directory")
	flag.BoolVar(&o.reuse, "reuse", false, "history: if --dir holds the year of an earlier run with --keep, only time its dashboards")
	flag.IntVar(&o.historyLegs, "history-legs", 5_200_000, "legs of the history step's year (approximately)")
	flag.IntVar(&o.exportLegs, "export-legs", 1_000_000, "export: legs of the busiest target's year, loaded by the records export and by the call list (approximately)")
	flag.IntVar(&o.recomputeLegs, "recompute-legs", 1_500_000, "recompute: legs of the call center's month (approximately)")
	flag.Float64Var(&o.recomputeRate, "recompute-rate", 200, "recompute: final events a second of the call center's day")
	flag.StringVar(&o.only, "only", "", "run only these steps (comma list of budget, throughput, pipeline, dashboards, events, recompute, history, export, cluster)")
	flag.Parse()
	log.SetFlags(log.Ltime)
	log.SetPrefix("bench: ")

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	code := 0
	if err := run(ctx, o); err != nil {
		log.Print(err)
		code = 1
	}
	os.Exit(code)
}

func run(ctx context.Context, o options) error {
	var err error
	if o.bin, err = filepath.Abs(o.bin); err != nil {
		return err
	}
	if _, err := os.Stat(o.bin); err != nil {
		return fmt.Errorf("%s: %w (run make build)", o.bin, err)
	}
	if o.dir, err = filepath.Abs(o.dir); err != nil {
		return err
	}
	if err := os.MkdirAll(o.dir, 0o755); err != nil {
		return err
	}
	if !o.keep {
		defer os.RemoveAll(o.dir)
	}
	var chPid int
	defer func() { waitGone(chPid) }() // before the removal: a killed server may still be writing
	began := time.Now()
	log.Printf("starting a private ClickHouse in %s", o.dir)
	ch, err := chserver.Start(chserver.Options{Dir: filepath.Join(o.dir, "clickhouse")})
	if err != nil {
		return err
	}
	chPid = ch.Pid()
	defer ch.Stop()

	b := &bench{opt: o, ch: ch, end: time.Now().UTC().Truncate(24 * time.Hour)}
	t := &table{machine: machineFacts(ctx, ch)}
	steps := []struct {
		name string
		run  func(context.Context, *table) error
	}{{"budget", b.budget}, {"throughput", b.throughput}, {"pipeline", b.pipeline}, {"dashboards", b.dashboards}, {"events", b.events}, {"recompute", b.recompute}, {"history", b.history}, {"export", b.export}, {"cluster", b.cluster}}
	for _, step := range steps {
		if o.only != "" && !slices.Contains(strings.Split(o.only, ","), step.name) {
			continue
		}
		if err := step.run(ctx, t); err != nil {
			t.notes = append(t.notes, "error: "+err.Error())
			log.Print(err)
		}
		if ctx.Err() != nil {
			break
		}
	}
	t.machine.loadAfter = loadAverage()
	t.elapsed = time.Since(began)
	t.print(os.Stdout)
	if !t.allMet() {
		return fmt.Errorf("some targets were missed")
	}
	return nil
}

// bench is what the steps share.
type bench struct {
	opt options
	ch  *chserver.Server
	end time.Time // the simulated traffic ends at this UTC midnight (today's)

	large *loadRun // the 1M-leg backfill, whose database the dashboards read

	elsewhere map[string]*chserver.Server // databases not on ch: a cluster's, by a node
}

// server is the server that holds database.
func (b *bench) server(database string) *chserver.Server {
	if s, ok := b.elsewhere[database]; ok {
		return s
	}
	return b.ch
}

// waitGone waits up to 10 s for process pid to be gone.
func waitGone(pid int) {
	for i := 0; pid > 0 && i < 100 && syscall.Kill(pid, 0) == nil; i++ {
		time.Sleep(100 * time.Millisecond)
	}
}
