package ccstatus

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Poller reads the status of every call-center target on an interval and
// stores it. Targets of other types are skipped: Dialpad keeps a live
// status of call centers only.
type Poller struct {
	Source  Source
	Store   Store
	Targets []dialpad.Target
	// Every is the interval between polls (must be positive to Run).
	Every time.Duration
	// Keep is how long polls are kept; older UTC days are dropped at the
	// start and every hour (0: never dropped).
	Keep    time.Duration
	Now     func() time.Time // nil: time.Now
	Log     *slog.Logger     // nil: discard
	Metrics *Metrics         // nil: none
}

// CallCenters are the call-center targets of targets, in order.
func CallCenters(targets []dialpad.Target) []dialpad.Target {
	var out []dialpad.Target
	for _, t := range targets {
		if t.Type == "callcenter" {
			out = append(out, t)
		}
	}
	return out
}

// Once polls every call center once, one after another through the
// Source's rate limit, and writes what it read in one insert. A call
// center whose read fails is logged, counted and left for the next poll;
// the error joins those of the reads and of the write.
func (p *Poller) Once(ctx context.Context) error {
	var polls []Poll
	var errs []error
	for _, t := range CallCenters(p.Targets) {
		at := p.now()
		st, err := p.Source.CallCenterStatus(ctx, t.ID)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			p.Metrics.polled(t, false)
			p.log().Warn("could not read the call center's status; polling it again in the next interval",
				"target", t, "err", err)
			errs = append(errs, err)
			continue
		}
		polls = append(polls, Poll{Target: t, At: at, Interval: p.Every, Status: st})
	}
	if err := p.Store.WriteStatus(ctx, polls); err != nil {
		for _, pl := range polls {
			p.Metrics.polled(pl.Target, false)
		}
		p.log().Warn("could not store the call centers' status", "err", err)
		return errors.Join(append(errs, err)...)
	}
	for _, pl := range polls {
		p.Metrics.polled(pl.Target, true)
	}
	return errors.Join(errs...)
}

// Run polls at once and then every Every until ctx ends, and drops the
// polls older than Keep at the start and every hour. A poll that takes
// longer than Every delays the next rather than overlapping it.
func (p *Poller) Run(ctx context.Context) {
	if p.Every <= 0 || len(CallCenters(p.Targets)) == 0 {
		return
	}
	tick := time.NewTicker(p.Every)
	defer tick.Stop()
	var dropped time.Time
	for {
		_ = p.Once(ctx) // logged and counted
		if p.Keep > 0 && time.Since(dropped) >= time.Hour {
			dropped = time.Now()
			if err := p.Store.DropDays(ctx, p.now().Add(-p.Keep)); err != nil && ctx.Err() == nil {
				p.log().Warn("could not drop old call-center status; trying again in an hour", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (p *Poller) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *Poller) log() *slog.Logger {
	if p.Log != nil {
		return p.Log
	}
	return slog.New(slog.DiscardHandler)
}
