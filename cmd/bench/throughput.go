package main

import (
	"context"
	"fmt"
	"log"
)

// callsPerDay is the simulator's CallsPerDay that yields about legs legs
// over days days (measured: some 6.84 legs per unit of CallsPerDay per day,
// all three groups together).
func callsPerDay(legs, days int) int { return max(1, int(float64(legs)/float64(days)/6.84+0.5)) }

// throughput backfills the large and the small data set with no limit and
// no latency: legs/s end to end, and the peak RSS of the job's process.
func (b *bench) throughput(ctx context.Context, t *table) error {
	large, err := b.unlimited(ctx, "bench_1m", b.opt.legs, 1000)
	if err != nil {
		return err
	}
	b.large = large
	t.add(b.rateRow(large, "pages of 1,000 (--page-size 1000)"))
	if err := b.nativeRow(ctx, t, large); err != nil {
		return err
	}
	small, err := b.unlimited(ctx, "bench_100k", b.opt.legs/10, 1000)
	if err != nil {
		return err
	}
	if b.opt.small {
		r25, err := b.unlimited(ctx, "bench_1m_p25", b.opt.legs, 25)
		if err != nil {
			return err
		}
		t.add(b.rateRow(r25, "the default pages of 25"))
	}
	lo, hi := min(small.maxRSS, large.maxRSS), max(small.maxRSS, large.maxRSS)
	spread := float64(hi-lo) / float64(max(lo, 1))
	t.add(row{what: "Memory: peak RSS of the backfill process (VmHWM), unlimited, pages of 1,000",
		measured: fmt.Sprintf("%s legs: %.0f MB; %s legs: %.0f MB (%.0f%% apart)",
			thousands(float64(small.runs.legs)), mb(small.maxRSS), thousands(float64(large.runs.legs)), mb(large.maxRSS), 100*spread),
		target: "< 150 MB each, within 20% of each other", met: mb(hi) < 150 && spread <= 0.20})
	return nil
}

func (b *bench) rateRow(r *loadRun, pages string) row {
	perSec := float64(r.runs.legs) / r.wall.Seconds()
	return row{what: "Throughput end to end (fetch over loopback HTTP, decode, transform, load, recompute): backfill, no limit, no latency, " + pages,
		measured: fmt.Sprintf("%s legs/s (%s legs, %s requests in %.1f s of the process's wall time)",
			thousands(perSec), thousands(float64(r.runs.legs)), thousands(float64(r.runs.requests)), r.wall.Seconds()),
		target: "≥ 50,000 legs/s", met: perSec >= 50_000}
}

// unlimited runs a simulator with no rate limit and no latency, and a
// backfill of everything it serves into database.
func (b *bench) unlimited(ctx context.Context, database string, legs, pageSize int) (*loadRun, error) {
	c := simConfig{start: b.end.AddDate(0, 0, -b.opt.days), end: b.end, callsPerDay: callsPerDay(legs, b.opt.days),
		rateLimit: -1, pageSize: pageSize}
	sim, err := b.startSimulator(ctx, c)
	if err != nil {
		return nil, err
	}
	defer sim.stop()
	log.Printf("%s: backfilling %s legs, pages of %d, no limit", database, thousands(float64(sim.legs)), pageSize)
	r, err := b.backfill(ctx, sim, c, database, "DIALPAD_RATE_LIMIT=1000000")
	if err != nil {
		return nil, err
	}
	if r.runs.rows != uint64(sim.legs) {
		return r, fmt.Errorf("%s: %d legs in calls, the simulator served %d", database, r.runs.rows, sim.legs)
	}
	log.Printf("%s: %s legs in %.1f s, peak RSS %.0f MB", database, thousands(float64(r.runs.legs)), r.wall.Seconds(), mb(r.maxRSS))
	return r, nil
}

func mb(bytes int64) float64 { return float64(bytes) / 1e6 }
