package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/wire"
)

// Dialpad retries an agent-status event only for about 1.5 s, so a
// receiver that was away for a minute misses status changes, and the call
// list has no statuses to repair them. Repair reads every call-center
// operator's current duty status from Dialpad instead, and where it
// disagrees with the latest stored status, records the one Dialpad
// reports from its start and marks the time between as unknown
// ("unknown" in agent_status; never counted as a real status).
//
// The time between starts where the job last knew the stored status
// held: the latest of its start, the last read of this process that
// agreed with it, and the latest event the warehouse holds of any agent
// (the receiver was up then, and heard no change), but that only up to
// the first moment events may have been lost since the last read (the
// receiver's start, or a 503 it answered).
type Repair struct {
	Dialpad DutyStatuses
	Store   RepairStore
	// Recount counts the repaired agents' time: the Receiver (which
	// counts it in its next round, until it succeeds) or the deriver.
	Recount interface {
		RecountAgents(ctx context.Context, from map[uint64]int64, now time.Time) error
	}
	// Trouble, when set, is the earliest time since its last call at
	// which events may have been lost (Receiver.TakeTrouble): the latest
	// event stored counts as known only up to it.
	Trouble func() time.Time
	// Settle: a status Dialpad reports as started less than Settle ago
	// (default 10s) waits for the next read, since its event may be on
	// its way.
	Settle time.Duration
	Now    func() time.Time // nil: time.Now
	Log    *slog.Logger

	mu        sync.Mutex
	confirmed map[uint64]int64 // agent -> the last read that agreed (ms)
	trouble   time.Time        // from Trouble, kept until a read of every operator succeeded
}

// DutyStatuses is Dialpad's duty-status read (*dialpad.Client).
type DutyStatuses interface {
	OperatorDutyStatus(ctx context.Context, userID int64) (dialpad.DutyStatus, error)
}

// RepairStore is what Repair reads and writes (*Storage).
type RepairStore interface {
	Operators(ctx context.Context) (map[int64][]Operator, error)
	LatestStatuses(ctx context.Context, now time.Time) (latest map[uint64]LatestStatus, lastHeard int64, err error)
	WriteAgentStatus(ctx context.Context, evs []ReceivedAgent) error
}

// LatestStatus is an agent's latest stored status.
type LatestStatus struct {
	Status string
	Start  int64 // epoch ms
}

// RepairResult counts what one read found.
type RepairResult struct {
	Operators, Repaired, Failed int
}

// Once reads every call-center operator's duty status and repairs the
// stored statuses that disagree. An operator whose read fails is counted
// and left for the next time. Once is not safe for concurrent use.
func (r *Repair) Once(ctx context.Context) (RepairResult, error) {
	now := time.Now
	if r.Now != nil {
		now = r.Now
	}
	log := r.logger()
	settle := r.Settle
	if settle <= 0 {
		settle = 10 * time.Second
	}
	var res RepairResult
	ops, err := r.Store.Operators(ctx)
	if err != nil {
		return res, err
	}
	at := now()
	latest, heard, err := r.Store.LatestStatuses(ctx, at)
	if err != nil {
		return res, err
	}
	if r.Trouble != nil {
		if t := r.Trouble(); !t.IsZero() && (r.trouble.IsZero() || t.Before(r.trouble)) {
			r.trouble = t
		}
	}
	if !r.trouble.IsZero() {
		heard = min(heard, r.trouble.UnixMilli())
	}
	var repairs []ReceivedAgent
	for _, user := range sortedUsers(ops) {
		var centers []wire.ID
		name := ""
		for _, o := range ops[user] {
			if o.Target.Type == "callcenter" {
				centers = append(centers, wire.ID(o.Target.ID))
				name = o.Name
			}
		}
		if len(centers) == 0 {
			continue
		}
		res.Operators++
		ds, err := r.Dialpad.OperatorDutyStatus(ctx, user)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			var apiErr *dialpad.APIError
			if errors.As(err, &apiErr) && apiErr.Status == 404 {
				log.Debug("not a call-center operator any more; duty status not read", "agent", user)
				continue
			}
			res.Failed++
			log.Warn("could not read an operator's duty status; trying again later", "agent", user, "err", err)
			continue
		}
		stored, ok := latest[uint64(user)]
		r.mu.Lock()
		known := max(heard, r.confirmed[uint64(user)])
		r.mu.Unlock()
		evs := repairOf(user, name, centers, stored, ok, ds, known, at.Add(-settle).UnixMilli())
		if len(evs) == 0 && ok && agrees(ds, stored) {
			r.mu.Lock()
			if r.confirmed == nil {
				r.confirmed = map[uint64]int64{}
			}
			r.confirmed[uint64(user)] = at.UnixMilli()
			r.mu.Unlock()
		}
		for _, e := range evs {
			repairs = append(repairs, ReceivedAgent{Event: e, Received: time.Now()})
		}
		switch len(evs) {
		case 1:
			res.Repaired++
			log.Info("an agent's status recorded from Dialpad's duty status", "agent", user, "status", ds.Status,
				"since", ds.Started.UTC())
		case 2:
			res.Repaired++
			log.Info("an agent's missed status changes repaired from Dialpad's duty status", "agent", user,
				"stored", stored.Status, "status", ds.Status, "since", ds.Started.UTC(),
				"unknown_from", time.UnixMilli(int64(evs[0].Date)).UTC())
		}
	}
	if len(repairs) > 0 {
		if err := r.Store.WriteAgentStatus(ctx, repairs); err != nil {
			return res, fmt.Errorf("record the repaired statuses: %w", err)
		}
		if err := r.Recount.RecountAgents(ctx, Changes(repairs), at); err != nil {
			return res, fmt.Errorf("count the repaired agents' time: %w", err)
		}
	}
	if res.Failed == 0 {
		r.trouble = time.Time{}
	}
	return res, nil
}

// startTolerance is how far apart Dialpad's duty-status start and an
// event's date of the same change may be.
const startTolerance = 1000 // ms

// agrees reports whether Dialpad's duty status is the stored status.
func agrees(ds dialpad.DutyStatus, stored LatestStatus) bool {
	d := ds.Started.UnixMilli() - stored.Start
	return d >= -startTolerance && d <= startTolerance
}

// Run reads the duty statuses at once and then every every, until ctx
// ends.
func (r *Repair) Run(ctx context.Context, every time.Duration) {
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		res, err := r.Once(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.logger().Warn("could not read the operators' duty statuses; trying again later", "err", err)
		case res.Repaired > 0 || res.Failed > 0:
			r.logger().Info("operators' duty statuses read", "operators", res.Operators, "repaired", res.Repaired, "failed", res.Failed)
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (r *Repair) logger() *slog.Logger {
	if r.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Log
}

// repairOf are the statuses to record for agent (an operator of centers)
// when Dialpad reports ds and the latest stored status is stored (ok
// false: none): none when they agree (within startTolerance), when the
// store is as new, or when
// Dialpad's status started after settled; else an unknown status from
// where the stored one was last known to hold (known, at least a ms after
// its start) and Dialpad's from its start. Dialpad's read does not name
// the call centers; on duty is for every call center of the operator
// (Dialpad sets duty for all of them at once).
func repairOf(agent int64, name string, centers []wire.ID, stored LatestStatus, ok bool, ds dialpad.DutyStatus,
	known, settled int64) []*wire.AgentStatusEvent {
	started := ds.Started.UnixMilli()
	if ds.Started.IsZero() || ds.Status == "" || started > settled || ok && started <= stored.Start+startTolerance {
		return nil
	}
	target := wire.Party{ID: wire.ID(agent), Type: "user", Name: name}
	reported := &wire.AgentStatusEvent{Target: target, OnDutyStatus: ds.Status, OnDutyStatusReason: ds.Reason,
		Date: wire.Millis(started)}
	if ds.OnDuty {
		reported.CallCenterIDs = centers
	}
	if !ok {
		return []*wire.AgentStatusEvent{reported}
	}
	from := min(max(known, stored.Start+1), started)
	if from == started {
		return []*wire.AgentStatusEvent{reported}
	}
	unknown := &wire.AgentStatusEvent{Target: target, OnDutyStatus: "unknown", Date: wire.Millis(from)}
	return []*wire.AgentStatusEvent{unknown, reported}
}

// sortedUsers are the user ids of ops, ascending.
func sortedUsers(ops map[int64][]Operator) []int64 {
	out := make([]int64, 0, len(ops))
	for u := range ops {
		out = append(out, u)
	}
	slices.Sort(out)
	return out
}
