package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"

	"github.com/dialpad-etl/dialpad-etl/etl/load"
)

// progress shows how a backfill advances: a bar redrawn in place on a
// terminal, else a log line at most every few seconds.
type progress struct {
	w        io.Writer
	tty      bool
	log      *slog.Logger
	mu       sync.Mutex
	last     load.Progress
	lastLine time.Time
}

func newProgress(w io.Writer, jsonLogs bool, log *slog.Logger) *progress {
	return &progress{w: w, tty: !jsonLogs && isTerminal(w), log: log}
}

// isTerminal reports whether w is a terminal (a character device such as
// /dev/null is not).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

func (p *progress) update(pr load.Progress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.last = pr
	if p.tty {
		fmt.Fprintf(p.w, "\r%s", bar(pr))
		return
	}
	if pr.WindowsDone == pr.WindowsTotal || time.Since(p.lastLine) >= 5*time.Second {
		p.lastLine = time.Now()
		p.log.Info("backfill progress", "days_done", pr.WindowsDone, "days", pr.WindowsTotal, "legs", pr.Legs,
			"legs_per_s", int(legsPerSecond(pr.Legs, pr.Elapsed)), "eta", eta(pr.WindowsDone, pr.WindowsTotal, pr.Elapsed).String())
	}
}

func (p *progress) done() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintln(p.w)
	}
}

func bar(pr load.Progress) string {
	return fmt.Sprintf("%s   ", daysBar(pr.WindowsDone, pr.WindowsTotal, pr.Legs, pr.Elapsed))
}

// daysBar is a bar of done days of total, with the legs, their rate and
// the time the days left take at the pace of those done.
func daysBar(done, total int, legs int64, elapsed time.Duration) string {
	const width = 30
	filled := 0
	if total > 0 {
		filled = width * done / total
	}
	return fmt.Sprintf("[%s%s] %d/%d days  %d legs  %d legs/s  ETA %s",
		strings.Repeat("#", filled), strings.Repeat(".", width-filled),
		done, total, legs, int(legsPerSecond(legs, elapsed)), eta(done, total, elapsed))
}

func legsPerSecond(legs int64, elapsed time.Duration) float64 {
	if elapsed <= 0 {
		return 0
	}
	return float64(legs) / elapsed.Seconds()
}

// eta is the time the days left take at the pace of those done.
func eta(done, total int, elapsed time.Duration) time.Duration {
	if done == 0 || done >= total {
		return 0
	}
	per := elapsed / time.Duration(done)
	return (per * time.Duration(total-done)).Round(time.Second)
}

// exportProgress shows how a backfill from exports advances, a line per
// target: redrawn in place on a terminal, else logged at most every few
// seconds per target and when it ends.
type exportProgress struct {
	w       io.Writer
	tty     bool
	log     *slog.Logger
	mu      sync.Mutex
	order   []string // targets, in the order first seen
	last    map[string]load.ExportProgress
	logged  map[string]time.Time
	printed int // lines drawn on the terminal
}

func newExportProgress(w io.Writer, jsonLogs bool, log *slog.Logger) *exportProgress {
	return &exportProgress{w: w, tty: !jsonLogs && isTerminal(w), log: log,
		last: map[string]load.ExportProgress{}, logged: map[string]time.Time{}}
}

func (p *exportProgress) update(pr load.ExportProgress) {
	p.mu.Lock()
	defer p.mu.Unlock()
	key := pr.Target.String()
	if _, ok := p.last[key]; !ok {
		p.order = append(p.order, key)
	}
	p.last[key] = pr
	if p.tty {
		if p.printed > 0 {
			fmt.Fprintf(p.w, "\x1b[%dA", p.printed) // back to the first line
		}
		for _, k := range p.order {
			fmt.Fprintf(p.w, "\r\x1b[K%s\n", exportBar(p.last[k]))
		}
		p.printed = len(p.order)
		return
	}
	if pr.Done || time.Since(p.logged[key]) >= 5*time.Second {
		p.logged[key] = time.Now()
		p.log.Info("backfill progress", "target", key, "days_done", pr.DaysDone, "days", pr.Days, "legs", pr.Legs,
			"legs_per_s", int(legsPerSecond(pr.Legs, pr.Elapsed)), "eta", eta(pr.DaysDone, pr.Days, pr.Elapsed).String(),
			"exports_pending", pr.ExportsPending,
			"exports_failed", pr.Failed)
	}
}

func exportBar(pr load.ExportProgress) string {
	s := fmt.Sprintf("%-18s %s  %d exports pending", pr.Target, daysBar(pr.DaysDone, pr.Days, pr.Legs, pr.Elapsed), pr.ExportsPending)
	if pr.Failed > 0 {
		s += fmt.Sprintf("  %d failed", pr.Failed)
	}
	return s
}
