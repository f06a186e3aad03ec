package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/child"
)

// simProcess is a "dialpad-etl simulate" process.
type simProcess struct {
	url     string
	targets string // DIALPAD_TARGETS
	legs    int
	cmd     *exec.Cmd
}

// simConfig is how a simulator is started.
type simConfig struct {
	start, end  time.Time
	callsPerDay int
	rateLimit   float64 // <0 = unlimited
	latency     time.Duration
	pageSize    int
	seed        int64 // 0: the simulate command's default (1)
}

var simBanner = regexp.MustCompile(`on (http://\S+) token=\S+ targets=(\S+) legs=(\d+)`)

// startSimulator runs the simulator on a free loopback port and waits for
// its banner, printed once its traffic is generated and it listens.
func (b *bench) startSimulator(ctx context.Context, c simConfig) (*simProcess, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	args := []string{"simulate", "--addr", fmt.Sprintf("127.0.0.1:%d", port),
		"--start", c.start.Format(time.RFC3339), "--end", c.end.Format(time.RFC3339),
		"--calls-per-day", strconv.Itoa(c.callsPerDay), "--rate-limit", strconv.FormatFloat(c.rateLimit, 'f', -1, 64),
		"--latency", c.latency.String(), "--page-size", strconv.Itoa(max(c.pageSize, 25))}
	if c.seed != 0 {
		args = append(args, "--seed", strconv.FormatInt(c.seed, 10))
	}
	cmd := child.Command(false, b.opt.bin, args...)
	cmd.Stderr = os.Stderr
	for _, kv := range os.Environ() { // profiles are the job's, not the simulator's
		if !strings.HasPrefix(kv, "DIALPAD_ETL_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		if sc.Scan() {
			line <- sc.Text()
		}
		close(line)
		for sc.Scan() {
		}
	}()
	select {
	case l := <-line:
		m := simBanner.FindStringSubmatch(l)
		if m == nil {
			child.Stop(cmd)
			return nil, fmt.Errorf("simulator: unexpected banner %q", l)
		}
		n, _ := strconv.Atoi(m[3])
		return &simProcess{url: m[1], targets: m[2], legs: n, cmd: cmd}, nil
	case <-time.After(2 * time.Minute):
		child.Stop(cmd)
		return nil, fmt.Errorf("simulator did not start within 2 minutes")
	}
}

func (s *simProcess) stop() { child.Stop(s.cmd) }

// loadRun is one backfill process and what it did.
type loadRun struct {
	database string
	wall     time.Duration
	span     time.Duration // from the first window's start to the last's end
	maxRSS   int64         // bytes: the peak resident set (VmHWM)
	chCPU    time.Duration // ClickHouse's CPU time meanwhile
	runs     runTotals
	err      error
}

// backfill runs "dialpad-etl backfill" over the simulator's whole range
// into a fresh database, with extra environment, and measures it.
func (b *bench) backfill(ctx context.Context, sim *simProcess, c simConfig, database string, env ...string) (*loadRun, error) {
	env = append([]string{"ETL_START=" + c.start.Format(time.RFC3339)}, env...)
	return b.job(ctx, sim, database, []string{"backfill", "--from", c.start.Format(time.RFC3339), "--to", c.end.Format(time.RFC3339)}, env...)
}

// job runs dialpad-etl with args against the simulator and database,
// with extra environment (after the defaults, so it wins), and measures
// it: its log is the database's backfill.log, or args[0]+".log".
func (b *bench) job(ctx context.Context, sim *simProcess, database string, args []string, env ...string) (*loadRun, error) {
	work := filepath.Join(b.opt.dir, database)
	if err := os.MkdirAll(work, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(work, args[0]+".log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := child.Command(false, b.opt.bin, args...)
	cmd.Dir = work // no .env of the developer's
	cmd.Env = append(os.Environ(),
		"DIALPAD_BASE_URL="+sim.url, "DIALPAD_TARGETS="+sim.targets, "DIALPAD_API_TOKEN=sim-token",
		"CLICKHOUSE_ADDR="+b.ch.Addr, "CLICKHOUSE_DATABASE="+database,
		"ETL_TIMEZONE=UTC", "LOG_FORMAT=json")
	cmd.Env = append(cmd.Env, env...)
	cmd.Stdout, cmd.Stderr = logf, logf
	chBefore := cpuTime(b.ch.Pid())
	began := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", args[0], err)
	}
	peak := watchPeakRSS(cmd.Process.Pid)
	err = cmd.Wait()
	r := &loadRun{database: database, wall: time.Since(began), chCPU: cpuTime(b.ch.Pid()) - chBefore, maxRSS: peak()}
	if err != nil {
		return r, fmt.Errorf("%s into %s: %w (log: %s)", args[0], database, err, logf.Name())
	}
	if args[0] == "rebuild" { // it loads no window and records no run
		return r, nil
	}
	if r.span, err = windowSpan(logf.Name()); err != nil {
		return r, err
	}
	r.runs, err = b.runTotalsSince(ctx, database, began.Add(-time.Second))
	return r, err
}

// watchPeakRSS samples the peak resident set (VmHWM) of process pid every
// 100 ms until the returned function is called, which returns the last
// value read, in bytes. (The rusage of a child is no measure: a child
// started by vfork, as Go starts them, inherits its parent's peak.)
func watchPeakRSS(pid int) func() int64 {
	var mu sync.Mutex
	var peak int64
	read := func() {
		b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
		if err != nil {
			return
		}
		for _, line := range strings.Split(string(b), "\n") {
			if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
				kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
				mu.Lock()
				peak = max(peak, kb*1024)
				mu.Unlock()
			}
		}
	}
	stop := make(chan struct{})
	go func() {
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			read()
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	}()
	return func() int64 {
		close(stop)
		mu.Lock()
		defer mu.Unlock()
		return peak
	}
}
