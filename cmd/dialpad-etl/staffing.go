package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"math"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/config"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
	"github.com/dialpad-etl/dialpad-etl/etl/staffing"
)

func runStaffing(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := configFlags("staffing", "staffing [--calls N --handle-time D --interval 15m|30m|60m] "+
		"[--threshold D --goal P --shrinkage P --max-occupancy P] [flags]", stderr)
	calls := fs.Float64("calls", 0, "a what-if: the calls offered in one interval, instead of the forecast")
	handle := fs.Duration("handle-time", 0, "the what-if's average handle time (talk, hold and wrap-up), e.g. 180s")
	interval := fs.Duration("interval", 0, "the what-if's interval: 15m, 30m or 60m")
	threshold := fs.Duration("threshold", 0, "answered within this long counts toward the service level (default KPI_SERVICE_LEVEL_THRESHOLD)")
	goal := fs.Float64("goal", 0, "the service level's goal, in percent (default KPI_SERVICE_LEVEL_GOAL)")
	shrinkage := fs.Float64("shrinkage", 0, "the share of paid time off the phones, in percent (default STAFFING_SHRINKAGE)")
	maxOcc := fs.Float64("max-occupancy", 0, "the busiest an agent may be, in percent (default STAFFING_MAX_OCCUPANCY)")
	if err := parse(fs, args); err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if !set["calls"] {
		for _, name := range []string{"handle-time", "interval"} {
			if set[name] {
				return badFlag(stderr, "--%s is for a what-if: give --calls too", name)
			}
		}
		return printForecast(ctx, fs, stdout, stderr)
	}
	switch {
	case !(*calls > 0) || math.IsInf(*calls, 0):
		return badFlag(stderr, "--calls %v: want the calls of one interval, above 0", *calls)
	case !set["handle-time"] || *handle <= 0:
		return badFlag(stderr, "--handle-time %s: want the average handle time, above 0 (e.g. 180s)", *handle)
	case !set["interval"]:
		return badFlag(stderr, "--interval: give the interval the calls arrive in: 15m, 30m or 60m")
	case *interval != 15*time.Minute && *interval != 30*time.Minute && *interval != time.Hour:
		return badFlag(stderr, "--interval %s: want 15m, 30m or 60m", *interval)
	}
	goals, err := loadGoals(ctx, fs)
	if err != nil {
		return err
	}
	m := staffing.Model{Interval: *interval, Threshold: goals.ServiceLevel, Goal: goals.ServiceLevelGoal / 100,
		MaxOccupancy: goals.StaffingMaxOccupancy / 100, Shrinkage: goals.StaffingShrinkage / 100}
	if set["threshold"] {
		if *threshold < 0 {
			return badFlag(stderr, "--threshold %s: want 0s or more", *threshold)
		}
		m.Threshold = *threshold
	}
	for _, p := range []struct {
		name   string
		value  float64
		ok     func(float64) bool
		want   string
		target *float64
	}{
		{"goal", *goal, func(v float64) bool { return v > 0 && v <= 100 }, "a percentage above 0, at most 100", &m.Goal},
		{"shrinkage", *shrinkage, func(v float64) bool { return v >= 0 && v < 100 }, "a percentage from 0, below 100", &m.Shrinkage},
		{"max-occupancy", *maxOcc, func(v float64) bool { return v > 0 && v <= 100 }, "a percentage above 0, at most 100", &m.MaxOccupancy},
	} {
		if !set[p.name] {
			continue
		}
		if !p.ok(p.value) {
			return badFlag(stderr, "--%s %v: want %s", p.name, p.value, p.want)
		}
		*p.target = p.value / 100
	}
	// Erlang C walks up one agent at a time: a load beyond any contact
	// center's is refused rather than computed for minutes.
	if a := m.Erlangs(*calls, *handle); a > maxErlangs {
		return badFlag(stderr, "--calls %v at --handle-time %s: %.0f erlangs, more than the %d this computes", *calls, *handle, a, maxErlangs)
	}
	return printWhatIf(stdout, m, *calls, *handle)
}

// maxErlangs is the largest traffic a what-if sizes (a million agents'
// work; it takes about a second).
const maxErlangs = 1_000_000

// badFlag says what is wrong with a flag and returns errUsage (exit 2).
func badFlag(stderr io.Writer, format string, args ...any) error {
	fmt.Fprintf(stderr, "dialpad-etl staffing: "+format+"\n", args...)
	fmt.Fprintln(stderr, "Run 'dialpad-etl staffing --help' for its flags.")
	return errUsage
}

// printWhatIf prints the Erlang C figures around the agents m needs for
// calls of handle in one interval, then the required and scheduled agents.
func printWhatIf(w io.Writer, m staffing.Model, calls float64, handle time.Duration) error {
	if err := m.Check(); err != nil {
		return err
	}
	fmt.Fprintf(w, "%s calls per %s at %s handle time = %.2f erlangs; goal %s %% answered within %s, occupancy at most %s %%\n",
		num(calls), num(m.Interval.Minutes())+" min", num(handle.Seconds())+" s", m.Erlangs(calls, handle),
		num(100*m.Goal), num(m.Threshold.Seconds())+" s", num(100*m.MaxOccupancy))
	fmt.Fprintln(w, "Erlang C assumes that no caller abandons: where callers hang up, real waits are a little shorter.")
	fmt.Fprintln(w)
	required := m.Required(calls, handle)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "agents\tP(wait) %\tservice level %\tASA\toccupancy %\t")
	for _, f := range m.Table(calls, handle) {
		mark := ""
		if f.Agents == required {
			mark = "  <- required"
		}
		fmt.Fprintf(tw, "%d\t%.1f\t%.1f\t%.1f s\t%.1f\t%s\n", f.Agents, 100*f.PWait, 100*f.ServiceLevel, f.ASA.Seconds(), 100*f.Occupancy, mark)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nrequired: %d agents\n", required)
	fmt.Fprintf(w, "scheduled: %d agents (shrinkage %s %%)\n", m.Scheduled(required), num(100*m.Shrinkage))
	return nil
}

// num writes v as briefly as it is: 100, 12.5.
func num(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }

// printForecast prints, for each configured target, the agents to
// schedule per hour and weekday in the next 7 days: the forecast the
// nightly run made, as the Workforce dashboard shows it.
func printForecast(ctx context.Context, fs *flag.FlagSet, stdout, stderr io.Writer) error {
	e, err := connect(ctx, fs, stderr, config.WithoutDialpad())
	if err != nil {
		return err
	}
	defer e.store.Close()
	now := time.Now().In(e.cfg.Location)
	names, tables, err := report.Staffing(ctx, e.store.DB(), e.cfg.Location, e.cfg.Targets, now)
	if err != nil {
		return err
	}
	// The 7 days after today, in the reporting zone: the panel's week.
	first := time.Date(now.Year(), now.Month(), now.Day()+1, 0, 0, 0, 0, e.cfg.Location)
	last := first.AddDate(0, 0, 6)
	for i, t := range tables {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprintf(stdout, "%s: agents to schedule in the next 7 days (%s to %s), per hour (its busiest quarter hour)\n",
			names[i], first.Format(time.DateOnly), last.Format(time.DateOnly))
		if len(t.Rows) == 0 {
			fmt.Fprintln(stdout, "  No forecast yet: the nightly run makes it from past weeks' calls, and so do a backfill and 'dialpad-etl rebuild'.")
			continue
		}
		fmt.Fprint(stdout, t.Text())
	}
	return nil
}
