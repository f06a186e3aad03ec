package main

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/report"
)

// row is one measurement with its target.
type row struct {
	what     string // what was measured, and how
	measured string
	target   string
	met      bool
	noTarget bool   // informational: no target applies
	load     string // the load average when it was measured
}

// table is the benchmark's output.
type table struct {
	machine machine
	rows    []row
	notes   []string
	elapsed time.Duration
}

// add records r with the load average of the moment (taken when the
// measurement ends: the 1-minute figure covers it).
func (t *table) add(r row) {
	if r.load == "" {
		r.load = loadAverage()
	}
	t.rows = append(t.rows, r)
}

func (t *table) allMet() bool {
	for _, r := range t.rows {
		if !r.noTarget && !r.met {
			return false
		}
	}
	return len(t.notes) == 0
}

func (t *table) print(w io.Writer) {
	m := t.machine
	fmt.Fprintf(w, "\nMachine: %d CPUs (%s), %.1f GiB memory, load average %s at the start and %s at the end, ClickHouse %s, %s; the whole run took %s.\n\n",
		m.cpus, m.cpuModel, m.memGiB, m.loadBefore, m.loadAfter, m.clickhouse, m.goVersion, t.elapsed.Round(time.Second))
	fmt.Fprintln(w, "| # | measurement | measured | target | met | load average |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for i, r := range t.rows {
		met := "no"
		switch {
		case r.noTarget:
			met = "-"
		case r.met:
			met = "yes"
		}
		fmt.Fprintf(w, "| %d | %s | %s | %s | %s | %s |\n", i+1, cell(r.what), cell(r.measured), cell(r.target), met, r.load)
	}
	for _, n := range t.notes {
		fmt.Fprintf(w, "\n%s\n", n)
	}
}

func cell(s string) string { return strings.ReplaceAll(s, "|", `\|`) }

// thousands formats n with commas, as the reports write counts.
func thousands(n float64) string { return report.Thousands(int64(math.Round(n))) }
