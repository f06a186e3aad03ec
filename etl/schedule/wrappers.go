package schedule

import (
	"log/slog"
	"sync"

	"github.com/robfig/cron/v3"
)

// oneAtATime runs one job at a time across all the jobs it wraps, which
// cron's SkipIfStillRunning and DelayIfStillRunning cannot: each of those
// guards only the job it wraps. A job that comes due while another runs
// is skipped or queued, as its wrapper says; a queued job runs in the
// goroutine of the one under way as soon as that ends, before any other
// can start, and only the latest queued is kept. The zero value is ready
// to use.
//
// The jobs should recover their own panics (cron.Recover inside the
// wrapper): a panic that reaches it ends the turn and drops the job
// queued.
type oneAtATime struct {
	mu      sync.Mutex
	running bool
	queued  cron.Job
}

// skip wraps a job that is skipped, and logged, if it comes due while
// another runs.
func (o *oneAtATime) skip(log *slog.Logger) cron.JobWrapper { return o.wrapper(log, false) }

// queue wraps a job that, if it comes due while another runs, runs as
// soon as that one ends.
func (o *oneAtATime) queue(log *slog.Logger) cron.JobWrapper { return o.wrapper(log, true) }

func (o *oneAtATime) wrapper(log *slog.Logger, queue bool) cron.JobWrapper {
	return func(j cron.Job) cron.Job {
		return cron.FuncJob(func() {
			if o.begin(j, queue, log) {
				o.runFrom(j)
			}
		})
	}
}

// begin takes the turn for j, or else skips or queues it.
func (o *oneAtATime) begin(j cron.Job, queue bool, log *slog.Logger) bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	switch {
	case !o.running:
		o.running = true
		return true
	case queue:
		o.queued = j
		log.Info("a scheduled load will run when the one under way ends")
	default:
		log.Warn("skipping a scheduled load: the previous one is still running")
	}
	return false
}

// runFrom runs j, then each job queued meanwhile, then ends the turn.
func (o *oneAtATime) runFrom(j cron.Job) {
	defer func() {
		if j != nil { // j panicked
			o.mu.Lock()
			o.running, o.queued = false, nil
			o.mu.Unlock()
		}
	}()
	for j != nil {
		j.Run()
		o.mu.Lock()
		j, o.queued = o.queued, nil
		o.running = j != nil
		o.mu.Unlock()
	}
}

// cronLogger adapts slog to cron's Logger: cron's routine messages at
// debug, its errors (the panics cron.Recover catches) at error.
type cronLogger struct{ log *slog.Logger }

func (l cronLogger) Info(msg string, kv ...any) { l.log.Debug(msg, kv...) }
func (l cronLogger) Error(err error, msg string, kv ...any) {
	l.log.Error(msg, append(kv, "err", err)...)
}
