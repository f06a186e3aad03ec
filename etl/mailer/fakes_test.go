package mailer_test

// In-memory fakes of what a Mailer uses (mailer.Sends, mailer.Leases, its
// Build, Deliver and Sleep) and a complete report to send, for the tests
// of the once-per-period logic, which need no ClickHouse and no mail
// server. The leases are the test kit's (leasetest).

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/leasetest"
)

// memSends is report_sends in memory. It is safe for concurrent use.
type memSends struct {
	mu   sync.Mutex
	rows []sends.ReportSend
}

func (s *memSends) ReportSent(_ context.Context, kind string, from time.Time) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range s.rows {
		if r.Kind == kind && r.From.Equal(from) && r.Status == "sent" {
			return true, nil
		}
	}
	return false, nil
}

func (s *memSends) RecordReportSend(_ context.Context, r sends.ReportSend) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r)
	return nil
}

// all returns the rows recorded so far.
func (s *memSends) all() []sends.ReportSend {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]sends.ReportSend(nil), s.rows...)
}

// builds is a Build that returns fixedReport of the period asked for,
// and remembers what it was asked.
type builds struct {
	mu   sync.Mutex
	asks []report.Options
	// edit, when set, changes the report of the n-th build (from 1).
	edit func(n int, r *report.Report)
}

func (b *builds) build(_ context.Context, opt report.Options) (*report.Report, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.asks = append(b.asks, opt)
	r := fixedReport(opt.Period, opt.Location, opt.Targets)
	if b.edit != nil {
		b.edit(len(b.asks), r)
	}
	return r, nil
}

func (b *builds) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.asks)
}

// outbox is a Deliver that keeps what it is given.
type outbox struct {
	mu    sync.Mutex
	tries int
	taken []*mail.Msg
	// fail, when set, is the error of the n-th try (from 1); nil: taken.
	fail func(n int) error
}

func (o *outbox) deliver(_ context.Context, msg *mail.Msg) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.tries++
	if o.fail != nil {
		if err := o.fail(o.tries); err != nil {
			return err
		}
	}
	o.taken = append(o.taken, msg)
	return nil
}

// mails returns the messages taken so far.
func (o *outbox) mails() []*mail.Msg {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]*mail.Msg(nil), o.taken...)
}

func (o *outbox) attempts() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.tries
}

// waits is a Sleep that returns at once and remembers what it was asked
// to wait.
type waits struct {
	mu    sync.Mutex
	asked []time.Duration
}

func (w *waits) sleep(ctx context.Context, d time.Duration) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.asked = append(w.asked, d)
	return ctx.Err()
}

func (w *waits) all() []time.Duration {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]time.Duration(nil), w.asked...)
}

// newYork is the reporting zone of the tests on fakes: its clocks went
// forward on Sunday 2026-03-08 at 02:00.
var newYork = func() *time.Location {
	loc, err := time.LoadLocation("America/New_York")
	if err != nil {
		panic(err)
	}
	return loc
}()

// fakeTargets are the targets reported on: one, as each section's charts
// take a fifth of a second to draw.
var fakeTargets = []dialpad.Target{{Type: "department", ID: 101}}

// fixture is a Mailer on fresh fakes, sending to one address in New York
// time.
type fixture struct {
	m      *mailer.Mailer
	sends  *memSends
	leases *leasetest.Leases
	builds *builds
	outbox *outbox
	waits  *waits
}

func newFixture() *fixture {
	f := &fixture{sends: &memSends{}, leases: leasetest.New(), builds: &builds{}, outbox: &outbox{}, waits: &waits{}}
	f.m = f.mailer()
	return f
}

// mailer is another Mailer (another process) on f's fakes.
func (f *fixture) mailer() *mailer.Mailer {
	return &mailer.Mailer{Sends: f.sends, Leases: f.leases, Build: f.builds.build, Deliver: f.outbox.deliver, Sleep: f.waits.sleep,
		Targets: fakeTargets, Location: newYork,
		SMTP: mailer.SMTP{Addr: "mail.example.com:587", Username: "etl", Password: fakePassword, TLS: "starttls",
			From: "Dialpad ETL <etl@example.com>", To: []string{"manager@example.com", "lead@example.com"}},
		Now: func() time.Time { return time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC) },
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
}

const fakePassword = "pa55-SECRET-word"

// subjectOf is a message's Subject.
func subjectOf(msg *mail.Msg) string {
	if s := msg.GetGenHeader(mail.HeaderSubject); len(s) > 0 {
		return s[0]
	}
	return ""
}

// fixedReport is a complete report of p for targets, as report.Build
// would read it: every card, KPI, trend and table filled, loaded up to
// the period's end.
func fixedReport(p report.Period, loc *time.Location, targets []dialpad.Target) *report.Report {
	from, to := p.Range(loc)
	end := to.Add(time.Second)
	r := &report.Report{Period: p, Location: loc, Built: end.Add(6 * time.Hour)}
	num := func(name string, v float64, text string) report.Value {
		return report.Value{Name: name, Raw: v, Text: text}
	}
	for i, t := range targets {
		s := report.Section{Target: t, Name: fmt.Sprintf("Team %d (%s)", i+1, t)}
		for k, title := range []string{"Inbound calls", "Outbound calls", "Missed calls", "Total calls"} {
			n := float64(100*(i+1) + k)
			s.Cards = append(s.Cards, report.Stat{Title: title, Fields: []report.Value{num(title, n, fmt.Sprint(n))}})
		}
		s.KPIs = []report.Stat{
			{Title: "Answered rate", Fields: []report.Value{num("Answered rate", 0.91, "91.0%")}},
			{Title: "Average wait", Fields: []report.Value{num("Average wait", 42, "42 s")}},
			{Title: "Average talk time", Fields: []report.Value{num("Average talk time", 185, "3 min")}},
			{Title: "Service level", Fields: []report.Value{num("Service level", 0.83, "83.0%"), num("Goal", 0.8, "80.0%")}},
			{Title: "Abandonment rate", Fields: []report.Value{num("Abandonment rate", 0.06, "6.00%")}},
			{Title: "Average speed of answer", Fields: []report.Value{num("Average speed of answer", 21, "21 s")}},
			{Title: "Average handle time", Fields: []report.Value{num("Average handle time", 240, "4 min")}},
			{Title: "Repeat-contact rate", Fields: []report.Value{num("Repeat-contact rate", 0.12, "12.0%")}},
			{Title: "Abandoned callers recovered", Fields: []report.Value{num("Abandoned callers recovered", 0.5, "50.0%"),
				num("Median time to recovery", 1800, "30 min")}},
		}
		// A point per day, per hour over a day (23 of them on 8 March).
		step, next := 24*time.Hour, func(t time.Time) time.Time { return t.AddDate(0, 0, 1) }
		if p.Days() <= 4 {
			step, next = time.Hour, func(t time.Time) time.Time { return t.Add(time.Hour) }
		}
		calls := report.Series{Title: "Calls by direction", Unit: "short", Step: step,
			Lines: []report.Line{{Name: "inbound"}, {Name: "outbound"}}}
		rates := report.Series{Title: "Service level and abandonment", Unit: "percentunit", Step: step,
			Lines: []report.Line{{Name: "Service level"}, {Name: "Abandonment rate"}, {Name: "Goal"}}}
		for at, b := from, 0; at.Before(end); at, b = next(at), b+1 {
			calls.Times, rates.Times = append(calls.Times, at), append(rates.Times, at)
			calls.Lines[0].Points = append(calls.Lines[0].Points, num("inbound", float64(10+b%5), fmt.Sprint(10+b%5)))
			calls.Lines[1].Points = append(calls.Lines[1].Points, num("outbound", float64(4+b%3), fmt.Sprint(4+b%3)))
			rates.Lines[0].Points = append(rates.Lines[0].Points, num("Service level", 0.8, "80.0%"))
			rates.Lines[1].Points = append(rates.Lines[1].Points, num("Abandonment rate", 0.05, "5.00%"))
			rates.Lines[2].Points = append(rates.Lines[2].Points, num("Goal", 0.8, "80.0%"))
		}
		s.Trends = []report.Series{calls, rates}
		s.Busiest = report.Table{Title: "Busiest hours (calls per weekday and hour)", Columns: []string{"Weekday"}}
		for h := range 24 {
			s.Busiest.Columns = append(s.Busiest.Columns, fmt.Sprintf("%02d", h))
		}
		for d, day := range []string{"Mon", "Tue", "Wed", "Thu", "Fri"} {
			row := []report.Value{{Name: "Weekday", Raw: day, Text: day}}
			for h := range 24 {
				n := 0
				if h >= 9 && h < 17 {
					n = 1 + (d+h)%4
				}
				row = append(row, num(fmt.Sprintf("%02d", h), float64(n), fmt.Sprint(n)))
			}
			s.Busiest.Rows = append(s.Busiest.Rows, row)
		}
		s.Agents = report.Table{Title: "Agent leaderboard", Columns: []string{"Agent", "Calls", "Talk time"},
			Rows: [][]report.Value{
				{{Name: "Agent", Raw: "Ada Lovelace", Text: "Ada Lovelace"}, num("Calls", 61, "61"), num("Talk time", 9000, "2.50 hour")},
				{{Name: "Agent", Raw: "Alan Turing", Text: "Alan Turing"}, num("Calls", 48, "48"), num("Talk time", 7200, "2 hour")},
			}}
		s.CallBacks = report.Table{Title: "Callers to call back", Columns: []string{"Caller", "Last call", "Wait"},
			Rows: [][]report.Value{{{Name: "Caller", Raw: "+15550100", Text: "+15550100"},
				{Name: "Last call", Raw: to.Add(-3 * time.Hour), Text: to.Add(-3 * time.Hour).Format(time.DateTime)}, num("Wait", 95, "2 min")}}}
		s.Health = report.Health{
			Load: report.Table{Title: "Last successful load per target", Columns: []string{"Target", "Last success", "Age"},
				Rows: [][]report.Value{{{Name: "Target", Raw: t.String(), Text: t.String()},
					{Name: "Last success", Raw: end.Add(time.Hour), Text: end.Add(time.Hour).Format(time.DateTime)}, num("Age", 300, "5 min")}}},
			LoadedUpTo: end, Complete: true, Days: p.Days(), Reconciled: p.Days(),
			NotMatching: report.Table{Title: "Ours vs Dialpad's, per day", Columns: []string{"Target", "Day", "Ours", "Dialpad's"}},
		}
		r.Sections = append(r.Sections, s)
	}
	return r
}
