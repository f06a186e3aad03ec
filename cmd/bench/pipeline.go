package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"runtime/pprof"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/load"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// pipeline times decode, transform and load without HTTP: the job itself
// (load.Job, its windows, batches and recompute) reading pages that were
// encoded by the simulator beforehand.
func (b *bench) pipeline(ctx context.Context, t *table) error {
	start, end := b.end.AddDate(0, 0, -b.opt.days), b.end
	log.Printf("pipeline: encoding pages in memory")
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: start, End: end, CallsPerDay: callsPerDay(b.opt.legs, b.opt.days),
		Now: func() time.Time { return end }})
	if err != nil {
		return err
	}
	src := &memSource{pages: map[dialpad.Target]map[time.Time][][]byte{}, legs: map[dialpad.Target]map[time.Time][]memLeg{}}
	legs := 0
	for _, target := range sim.Targets() {
		src.pages[target], src.legs[target] = map[time.Time][][]byte{}, map[time.Time][]memLeg{}
		for _, w := range load.SplitDays(dialpad.Window{From: start, To: end}, time.UTC) {
			items := sim.Legs(target, w.From, w.To)
			legs += len(items)
			src.pages[target][w.From] = encodePages(items, 25)
			for _, it := range items {
				c, err := wire.DecodeCall(it)
				if err != nil {
					return err
				}
				src.legs[target][w.From] = append(src.legs[target][w.From], memLeg{item: it, startedMs: int64(c.DateStarted)})
			}
		}
	}
	sim = nil

	store, err := warehouse.Open(ctx, warehouse.Options{Addr: b.ch.Addr, Database: "bench_pipeline", Location: time.UTC})
	if err != nil {
		return err
	}
	defer store.Close()
	if _, err := store.Migrate(ctx); err != nil {
		return err
	}
	job := &load.Job{Source: src, Store: store, Derived: store.Derived(), Leases: store.Leases(), Targets: targetsOf(src), Location: time.UTC, Start: start}
	log.Printf("pipeline: loading %s legs in process", thousands(float64(legs)))
	if path := os.Getenv("BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		defer f.Close()
		_ = pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	chBefore, selfBefore := cpuTime(b.ch.Pid()), cpuTime(os.Getpid())
	began := time.Now()
	results := job.Backfill(ctx, start, end, nil, true)
	took := time.Since(began)
	chCPU, selfCPU := cpuTime(b.ch.Pid())-chBefore, cpuTime(os.Getpid())-selfBefore
	var loaded int64
	for _, r := range results {
		if r.Err != nil {
			return fmt.Errorf("pipeline: %s: %w", r.Run.Target, r.Err)
		}
		loaded += r.Run.Legs
	}
	if loaded != int64(legs) {
		return fmt.Errorf("pipeline: loaded %d legs of %d", loaded, legs)
	}
	perSec := float64(loaded) / took.Seconds()
	t.add(row{what: "Throughput without HTTP: in process, the job (load.Job, 8 slices at once) over pages of 25 encoded beforehand by the simulator: wire.DecodePage, transform.NewLeg, Store.WriteLegs, Recompute of each month once its windows are written, fresh database",
		measured: fmt.Sprintf("%s legs/s (%s legs in %.1f s; CPU: job %.1f s, ClickHouse %.1f s)",
			thousands(perSec), thousands(float64(loaded)), took.Seconds(), selfCPU.Seconds(), chCPU.Seconds()),
		target: "≥ 200,000 legs/s", met: perSec >= 200_000})
	return nil
}

// encodePages joins items into call-list pages of size, each but the last
// with a cursor.
func encodePages(items []json.RawMessage, size int) [][]byte {
	var pages [][]byte
	for i := 0; i < len(items) || i == 0; i += size {
		page := []byte(`{"items":[`)
		for k, it := range items[i:min(i+size, len(items))] {
			if k > 0 {
				page = append(page, ',')
			}
			page = append(page, it...)
		}
		page = append(page, ']')
		if i+size < len(items) {
			page = append(page, `,"cursor":"next"`...)
		}
		pages = append(pages, append(page, '}'))
	}
	return pages
}

// memSource serves pages held in memory, decoding each as the client does:
// a whole day's, encoded beforehand, or, for a slice of a day, pages of
// the day's legs in the slice, encoded when asked for.
type memSource struct {
	pages map[dialpad.Target]map[time.Time][][]byte // by target and UTC day
	legs  map[dialpad.Target]map[time.Time][]memLeg // the same, newest first
}

// memLeg is a leg as the simulator lists it, and when it started.
type memLeg struct {
	item      json.RawMessage
	startedMs int64
}

func (s *memSource) ListCalls(ctx context.Context, target dialpad.Target, w dialpad.Window, fn func(*wire.Page) error) error {
	day := w.From.UTC().Truncate(24 * time.Hour)
	pages := s.pages[target][day]
	if !w.From.Equal(day) || !w.To.Equal(day.Add(24*time.Hour)) {
		var items []json.RawMessage
		for _, l := range s.legs[target][day] {
			if l.startedMs >= w.From.UnixMilli() && l.startedMs < w.To.UnixMilli() {
				items = append(items, l.item)
			}
		}
		pages = encodePages(items, 25)
	}
	for n, body := range pages {
		page, _, err := wire.DecodePage(body)
		if err != nil {
			return err
		}
		page.Number = n + 1
		if err := fn(page); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (s *memSource) Operators(context.Context, dialpad.Target) ([]dialpad.Operator, error) {
	return nil, nil
}

func targetsOf(s *memSource) []dialpad.Target {
	var out []dialpad.Target
	for t := range s.pages {
		out = append(out, t)
	}
	return out
}
