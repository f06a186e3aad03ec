package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/child"
)

// eventsSecret signs the benchmark's events.
const eventsSecret = "bench-webhook-secret-0123456789"

// scheduleProcess is a "dialpad-etl schedule" process that receives
// webhook events.
type scheduleProcess struct {
	bin  string
	cmd  *exec.Cmd
	addr string   // ETL_HTTP_ADDR: /metrics and /webhooks/dialpad
	env  []string // its environment, for other commands on the same database
	dir  string   // its working directory, with its log
}

// startSchedule runs "dialpad-etl schedule" with the webhook secret,
// against the Dialpad at apiURL and database, with extra environment
// (after the defaults, so it wins), and waits until its start-up load is
// done. Its loads read only the last hour (ETL_START, or on a database
// loaded before, the high-water mark less ETL_LOOKBACK) and then wait for
// schedules a year off, so that the receiver has the process to itself,
// but for the recompute of the days the final events touch.
func (b *bench) startSchedule(ctx context.Context, apiURL, database string, targets []string, env ...string) (*scheduleProcess, error) {
	port, err := child.FreePort()
	if err != nil {
		return nil, err
	}
	p := &scheduleProcess{bin: b.opt.bin, addr: fmt.Sprintf("127.0.0.1:%d", port), dir: filepath.Join(b.opt.dir, database)}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return nil, err
	}
	logf, err := os.Create(filepath.Join(p.dir, "schedule.log"))
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	p.env = append(os.Environ(), "DIALPAD_BASE_URL="+apiURL, "DIALPAD_TARGETS="+strings.Join(targets, ","),
		"DIALPAD_API_TOKEN=sim-token", "CLICKHOUSE_ADDR="+b.ch.Addr, "CLICKHOUSE_DATABASE="+database,
		"ETL_TIMEZONE=UTC", "LOG_FORMAT=json", "ETL_HTTP_ADDR="+p.addr, "DIALPAD_WEBHOOK_SECRET="+eventsSecret,
		"ETL_START=1h", "ETL_HOURLY_SCHEDULE=0 0 1 1 *", "ETL_NIGHTLY_SCHEDULE=0 0 1 1 *")
	p.env = append(p.env, env...)
	p.cmd = child.Command(false, b.opt.bin, "schedule")
	p.cmd.Dir, p.cmd.Env, p.cmd.Stdout, p.cmd.Stderr = p.dir, p.env, logf, logf
	if err := p.cmd.Start(); err != nil {
		return nil, err
	}
	if err := waitIdle(ctx, p.metricsURL()); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w (log: %s)", err, logf.Name())
	}
	return p, nil
}

func (p *scheduleProcess) hookURL() string    { return "http://" + p.addr + "/webhooks/dialpad" }
func (p *scheduleProcess) metricsURL() string { return "http://" + p.addr + "/metrics" }
func (p *scheduleProcess) stop()              { child.Stop(p.cmd) }

// command runs another dialpad-etl command (webhooks setup) with the
// process's environment.
func (p *scheduleProcess) command(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, p.bin, args...)
	cmd.Dir, cmd.Env = p.dir, p.env
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("dialpad-etl %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// waitIdle waits until the process serving metricsURL has no load under
// way and has finished one (its start-up load).
func waitIdle(ctx context.Context, metricsURL string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		resp, err := http.Get(metricsURL)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			m := string(body)
			if strings.Contains(m, "\ndialpad_etl_running 0\n") && strings.Contains(m, `dialpad_etl_runs_total{`) {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the schedule process did not finish its start-up load within 2 minutes")
}
