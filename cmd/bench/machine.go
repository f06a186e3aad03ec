package main

import (
	"bufio"
	"context"
	"os"
	"runtime"
	"strconv"
	"strings"

	"github.com/dialpad-etl/dialpad-etl/internal/chserver"
)

// machine describes where the benchmark ran.
type machine struct {
	cpus       int
	cpuModel   string
	memGiB     float64
	loadBefore string // load average (1, 5, 15 min) at the start
	loadAfter  string // and at the end
	clickhouse string
	goVersion  string
}

func machineFacts(ctx context.Context, ch *chserver.Server) machine {
	m := machine{cpus: runtime.NumCPU(), loadBefore: loadAverage(), goVersion: runtime.Version(), clickhouse: "?"}
	m.cpuModel = procField("/proc/cpuinfo", "model name")
	if kb, err := strconv.ParseFloat(strings.Fields(procField("/proc/meminfo", "MemTotal") + " 0")[0], 64); err == nil {
		m.memGiB = kb / (1 << 20)
	}
	if conn, err := ch.Open("default"); err == nil {
		defer conn.Close()
		_ = conn.QueryRow(ctx, "SELECT version()").Scan(&m.clickhouse)
	}
	return m
}

// loadAverage is /proc/loadavg's first three fields.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// procField is the value of the first "name: value" line of a /proc file.
func procField(path, name string) string {
	f, err := os.Open(path)
	if err != nil {
		return "?"
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == name {
			return strings.TrimSpace(v)
		}
	}
	return "?"
}
