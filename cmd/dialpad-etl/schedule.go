package main

import (
	"context"
	"io"
	"net/http"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/schedule"
)

func runSchedule(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("schedule", "schedule [flags]", stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	metrics := schedule.NewMetrics(nil)
	api := &http.Client{Transport: metrics.InstrumentAPI(http.DefaultTransport.(*http.Transport).Clone())}
	e, err := setup(ctx, fs, stderr, dialpad.WithHTTPClient(api))
	if err != nil {
		return err
	}
	defer e.store.Close()
	for _, t := range e.cfg.Targets {
		metrics.Known(t.String())
	}
	s := &schedule.Scheduler{
		Loads:           e.job(),
		Hourly:          e.cfg.HourlySchedule,
		Nightly:         e.cfg.NightlySchedule,
		NightlyLookback: e.cfg.NightlyLookback,
		Location:        e.cfg.Location,
		Metrics:         metrics,
		Health:          func(ctx context.Context) error { return e.store.Conn().Ping(ctx) },
		MaxAge:          e.cfg.HealthMaxAge,
		Log:             e.log,
	}
	return s.Run(ctx, e.cfg.HTTPAddr)
}
