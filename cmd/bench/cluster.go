package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"strings"

	"github.com/dialpad-etl/dialpad-etl/internal/chcluster"
	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

// cluster loads the same week of traffic into one server and into a
// cluster of 2 shards × 2 replicas on this machine (ClickHouse 18.16 and
// ZooKeeper, see chcluster), and reports each load's time and each
// dashboard's slowest panel on both. Every node shares this machine's
// two cores with the others, so the cluster shows what sharding costs
// here, not what it gains on machines of its own.
func (b *bench) cluster(ctx context.Context, t *table) error {
	if err := chcluster.Available(); err != nil {
		t.notes = append(t.notes, fmt.Sprintf("cluster step skipped: %v; %s", err, chcluster.InstallHint))
		return nil
	}
	log.Printf("cluster: starting ZooKeeper and 2 shards x 2 replicas")
	c, err := chcluster.Start(chcluster.Options{Dir: filepath.Join(b.opt.dir, "cluster")})
	if err != nil {
		return fmt.Errorf("cluster: %w", err)
	}
	defer c.Stop()
	cfg := simConfig{start: b.end.AddDate(0, 0, -7), end: b.end, callsPerDay: 3000, rateLimit: -1, pageSize: 1000}
	sim, err := b.startSimulator(ctx, cfg)
	if err != nil {
		return err
	}
	defer sim.stop()
	if b.elsewhere == nil {
		b.elsewhere = map[string]*chserver.Server{}
	}
	b.elsewhere["bench_cluster"] = c.Nodes[0].Server
	log.Printf("cluster: backfilling %d legs into one server, then into the cluster", sim.legs)
	one, err := b.backfill(ctx, sim, cfg, "bench_cluster_one")
	if err != nil {
		return err
	}
	on, err := b.backfill(ctx, sim, cfg, "bench_cluster",
		"CLICKHOUSE_ADDR="+strings.Join(c.Addrs(), ","), "CLICKHOUSE_CLUSTER="+c.Name)
	if err != nil {
		return err
	}
	if on.runs.rows != one.runs.rows {
		return fmt.Errorf("cluster: %d legs stored, one server %d", on.runs.rows, one.runs.rows)
	}
	legs := thousands(float64(one.runs.rows))
	t.add(row{what: fmt.Sprintf("Backfill of a week, %s legs, into one server (18.16)", legs),
		measured: fmt.Sprintf("%.1f s", one.wall.Seconds()), noTarget: true})
	t.add(row{what: fmt.Sprintf("The same into a cluster of 2 shards × 2 replicas (18.16 and ZooKeeper, all on this machine)"),
		measured: fmt.Sprintf("%.1f s (migrations on the cluster included)", on.wall.Seconds()), noTarget: true})
	for _, db := range []string{"bench_cluster_one", "bench_cluster"} {
		timings, err := b.timeDashboards(ctx, db, cfg.start, cfg.end, true)
		if err != nil {
			return err
		}
		where := "one server"
		if db == "bench_cluster" {
			where = "the cluster"
		}
		for _, d := range timings {
			t.add(row{what: fmt.Sprintf("Dashboard %q on %s: slowest panel or variable query, median of %d runs, the week, variables at All", d.title, where, panelRuns),
				measured: fmt.Sprintf("%.0f ms (%q; %d queries)", ms(d.slowest.took), d.slowest.title, d.queries), noTarget: true})
		}
	}
	return nil
}
