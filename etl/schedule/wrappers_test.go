package schedule

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"

	"github.com/robfig/cron/v3"
)

// record is a log of the jobs that ran, in order.
type record struct {
	mu  sync.Mutex
	ran []string
}

func (r *record) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.ran, " ")
}

// job records name when it runs; if hold is set, it then signals started
// and waits for hold to close.
func (r *record) job(name string, started chan<- struct{}, hold <-chan struct{}) cron.Job {
	return cron.FuncJob(func() {
		r.mu.Lock()
		r.ran = append(r.ran, name)
		r.mu.Unlock()
		if hold != nil {
			started <- struct{}{}
			<-hold
		}
	})
}

var quiet = slog.New(slog.DiscardHandler)

// A job wrapped to skip does not run while another job of the same
// oneAtATime runs, whichever wrapper that one has, and runs once it ends.
func TestOneAtATimeSkipsAJobDueWhileAnotherRuns(t *testing.T) {
	var o oneAtATime
	var r record
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() { o.queue(quiet)(r.job("nightly", started, hold)).Run(); close(done) }()
	<-started
	o.skip(quiet)(r.job("hourly", nil, nil)).Run() // returns at once: skipped
	close(hold)
	<-done
	o.skip(quiet)(r.job("hourly", nil, nil)).Run()
	if got := r.String(); got != "nightly hourly" {
		t.Fatalf("jobs ran: %q; want the nightly, then only the hourly that came due after it", got)
	}
}

// A job wrapped to queue that comes due while another runs runs right
// after it, in its goroutine; of two queued meanwhile only the latest
// runs; and a job due while the queued one runs is skipped.
func TestOneAtATimeRunsTheLatestQueuedJobNext(t *testing.T) {
	var o oneAtATime
	var r record
	started, hold := make(chan struct{}), make(chan struct{})
	done := make(chan struct{})
	go func() { o.skip(quiet)(r.job("hourly", started, hold)).Run(); close(done) }()
	<-started
	o.queue(quiet)(r.job("nightly 1", started, hold)).Run() // returns at once: queued
	o.queue(quiet)(r.job("nightly 2", started, hold)).Run() // replaces it
	hold <- struct{}{}                                      // the hourly ends
	<-started                                               // nightly 2 runs
	o.skip(quiet)(r.job("hourly again", nil, nil)).Run()    // skipped
	hold <- struct{}{}
	<-done
	if got := r.String(); got != "hourly nightly 2" {
		t.Fatalf("jobs ran: %q; want the hourly, then the nightly queued last", got)
	}
	o.skip(quiet)(r.job("hourly", nil, nil)).Run()
	if got := r.String(); got != "hourly nightly 2 hourly" {
		t.Fatalf("jobs ran: %q; want a job due after the queue emptied to run", got)
	}
}

// A panic that reaches the wrapper ends the turn, so later jobs still
// run; with cron.Recover inside it, the job queued meanwhile runs too.
func TestOneAtATimeOutlivesAPanic(t *testing.T) {
	var o oneAtATime
	var r record
	panicking := cron.FuncJob(func() { panic("boom") })
	func() {
		defer func() { recover() }()
		o.skip(quiet)(panicking).Run()
	}()
	o.skip(quiet)(r.job("after a bare panic", nil, nil)).Run()

	recovered := cron.NewChain(o.skip(quiet), cron.Recover(cronLogger{quiet}))
	queued := cron.FuncJob(func() {
		o.queue(quiet)(r.job("queued during a recovered panic", nil, nil)).Run()
		panic("boom")
	})
	recovered.Then(queued).Run()
	if got := r.String(); got != "after a bare panic queued during a recovered panic" {
		t.Fatalf("jobs ran: %q; want both", got)
	}
}

// cron.Recover's report of a panic reaches slog at error level, with the
// panic's value and the logger's attributes.
func TestCronLoggerReportsPanicsAtError(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	cronLogger{log.With("load", "nightly")}.Info("wake") // cron's routine: debug, not shown
	cron.Recover(cronLogger{log.With("load", "nightly")})(cron.FuncJob(func() { panic("boom") })).Run()
	out := buf.String()
	if strings.Contains(out, "wake") || !strings.Contains(out, "level=ERROR") || !strings.Contains(out, "load=nightly") ||
		!strings.Contains(out, "err=boom") {
		t.Errorf("logged %q; want one error naming the load and the panic", out)
	}
}
