package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"math"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator/webhook"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
	"github.com/dialpad-etl/dialpad-etl/etl/events"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
)

// statusGroup is how many agent status changes are written at once.
const statusGroup = 100_000

// agentCopies is how many agents each of the simulated call center's
// operators stands for: its 5 to 9 operators become a call center of
// 50 or more, as big as the dashboards must serve: the operator itself
// and copies with its statuses under an id and name of their own.
const agentCopies = 10

// agentYear is what historyAgents wrote and counted.
type agentYear struct {
	statuses, agents int
	write, count     time.Duration
	intervals, days  int // rows of agent_intervals and agent_time_daily
}

// historyAgents gives the history's year its agents' time: the agent
// status events of the simulated year (the same company and calls as the
// simulator process serves, whose call center's operators change status
// as their legs connect and end), written into agent_status as the event
// receiver writes them, in large groups, then counted into the tables of
// agent time by the deriver's RebuildAgents (what dialpad-etl rebuild
// ends with), so that the dashboards are timed with a year of it. Each
// operator's statuses are written for agentCopies agents.
func (b *bench) historyAgents(ctx context.Context, c simConfig, database string) (agentYear, error) {
	var y agentYear
	sim, err := simulator.New(simulator.Config{Seed: 1, Start: c.start, End: c.end, CallsPerDay: c.callsPerDay, RateLimit: -1,
		Now: func() time.Time { return c.end }})
	if err != nil {
		return y, err
	}
	store, err := warehouse.Open(ctx, warehouse.Options{Addr: b.ch.Addr, Database: database, Location: time.UTC})
	if err != nil {
		return y, err
	}
	defer store.Close()
	storage := events.NewStorage(store.DB())
	agents := map[uint64]bool{}
	var group []events.ReceivedAgent
	flush := func() error {
		began := time.Now()
		if err := storage.WriteAgentStatus(ctx, group); err != nil {
			return fmt.Errorf("write %d agent statuses: %w", len(group), err)
		}
		y.write += time.Since(began)
		y.statuses += len(group)
		group = group[:0]
		return nil
	}
	log.Printf("history: writing the agent statuses of the year")
	for day := c.start; day.Before(c.end); day = day.AddDate(0, 0, 1) {
		for _, ev := range sim.Events(day, day.AddDate(0, 0, 1)) {
			if ev.State != webhook.AgentStatus {
				continue
			}
			var e wire.AgentStatusEvent
			if err := json.Unmarshal(ev.Claims, &e); err != nil {
				return y, fmt.Errorf("agent status event of %s: %w", ev.At, err)
			}
			if e.Target.ID <= 0 || int64(e.Target.ID) > math.MaxInt64/agentCopies {
				return y, fmt.Errorf("agent status event of %s: agent id %d", ev.At, e.Target.ID)
			}
			for k := range agentCopies {
				c := e // the first is the operator, as its legs name it (the scorecard's agent days)
				if k > 0 {
					c.Target.ID = e.Target.ID*agentCopies + wire.ID(k)
					c.Target.Name = fmt.Sprintf("%s %d", e.Target.Name, k+1)
				}
				agents[uint64(c.Target.ID)] = true
				group = append(group, events.ReceivedAgent{Event: &c, Received: ev.At})
			}
			if len(group) >= statusGroup {
				if err := flush(); err != nil {
					return y, err
				}
			}
		}
	}
	if err := flush(); err != nil {
		return y, err
	}
	y.agents = len(agents)
	log.Printf("history: counting the time of %d agents (%s statuses)", y.agents, thousands(float64(y.statuses)))
	began := time.Now()
	if err := store.Derived().RebuildAgents(ctx, c.end); err != nil {
		return y, err
	}
	y.count = time.Since(began)
	for table, n := range map[string]*int{"agent_intervals": &y.intervals, "agent_time_daily": &y.days} {
		counts, err := store.DB().Ints(ctx, "SELECT toUInt32(count()) FROM "+table+" FINAL")
		if err != nil || len(counts) != 1 {
			return y, fmt.Errorf("count %s: %v", table, err)
		}
		*n = counts[0]
	}
	return y, nil
}
