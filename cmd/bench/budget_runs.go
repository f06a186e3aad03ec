package main

import (
	"fmt"
	"strings"
)

// departments is the first n department targets of the simulator's
// DIALPAD_TARGETS, for a load of a few departments only.
func departments(targets string, n int) (string, error) {
	var found []string
	for _, t := range strings.Split(targets, ",") {
		if strings.HasPrefix(t, "department:") && len(found) < n {
			found = append(found, t)
		}
	}
	if len(found) < n {
		return "", fmt.Errorf("simulator serves %d departments (%s), want %d", len(found), targets, n)
	}
	return strings.Join(found, ","), nil
}

// budgetRow is a load's share of a budget of rate requests/s, over the
// span of its windows, with how often it was answered 429.
func budgetRow(what string, r *loadRun, rate float64) row {
	perSec := float64(r.runs.requests) / r.span.Seconds()
	share := perSec / rate
	limited := float64(r.runs.rateLimited) / float64(max(r.runs.requests, 1))
	return row{what: what,
		measured: fmt.Sprintf("%.1f requests/s = %.1f%% of the budget: %s requests (%s pages, %s legs) in the %.1f s from the first window's start to the last's end (%.1f s for the whole process); 429s: %d = %.2f%% of requests (%d retries)",
			perSec, 100*share, thousands(float64(r.runs.requests)), thousands(float64(r.runs.pages)), thousands(float64(r.runs.legs)),
			r.span.Seconds(), r.wall.Seconds(), r.runs.rateLimited, 100*limited, r.runs.retries),
		target: "≥ 90% of the budget", met: share >= 0.90}
}
