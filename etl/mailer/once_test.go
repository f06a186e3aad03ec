package mailer_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/wneessen/go-mail"

	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
)

// mondayAfterDST is when the weekly report of 2 to 8 March 2026 is due:
// Monday 9 March, 07:00 in New York, the day after its clocks went
// forward.
var mondayAfterDST = time.Date(2026, 3, 9, 7, 0, 0, 0, newYork)

func date(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// A period's report is mailed once however often Send is called for it
// (the cron fires, a restart catches up); the next period's is mailed in
// its turn.
func TestSendMailsAPeriodsReportOnce(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	for _, at := range []time.Time{mondayAfterDST, mondayAfterDST.Add(time.Hour), time.Date(2026, 3, 15, 23, 0, 0, 0, newYork)} {
		if err := f.m.Send(ctx, mailer.Weekly, at); err != nil {
			t.Fatalf("Send at %s: %v", at, err)
		}
	}
	mails := f.outbox.mails()
	if len(mails) != 1 {
		t.Fatalf("%d mails; want the week of 2 to 8 March once", len(mails))
	}
	if got, want := subjectOf(mails[0]), "Dialpad weekly report, 2026-03-02 to 2026-03-08"; got != want {
		t.Errorf("subject %q; want %q", got, want)
	}
	if to := mails[0].GetToString(); len(to) != 2 || to[0] != "<manager@example.com>" || to[1] != "<lead@example.com>" {
		t.Errorf("To %q; want the manager and the lead", to)
	}
	if n := f.builds.count(); n != 1 {
		t.Errorf("the report was read %d times; want once, for the mail", n)
	}
	rows := f.sends.all()
	want := sends.ReportSend{Kind: mailer.Weekly, From: date(2026, 3, 2), To: date(2026, 3, 8), Attempt: 1, Status: "sent",
		Recipients: "manager@example.com, lead@example.com", At: time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC)}
	if len(rows) != 1 {
		t.Fatalf("report_sends has %d rows %+v; want the one sending", len(rows), rows)
	}
	got := rows[0]
	got.Host = ""
	if got != want {
		t.Errorf("report_sends row %+v; want %+v", got, want)
	}
	if n := f.leases.Held(); n != 0 {
		t.Errorf("%d leases still held after Send returned; want none", n)
	}

	// The next Monday, the next week is due.
	if err := f.m.Send(ctx, mailer.Weekly, mondayAfterDST.AddDate(0, 0, 7)); err != nil {
		t.Fatal(err)
	}
	if mails := f.outbox.mails(); len(mails) != 2 || subjectOf(mails[1]) != "Dialpad weekly report, 2026-03-09 to 2026-03-15" {
		t.Errorf("after the next Monday: %d mails; want the week of 9 to 15 March as the second", len(mails))
	}
}

// Two processes (two Mailers on one warehouse) fired together send the
// weekly report once: the second finds the first sending it and leaves
// it, and finds it sent afterwards. The daily report, under a lease of
// its own, is not held up by the weekly one.
func TestTwoProcessesMailAPeriodsReportOnce(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	first, second := f.m, f.mailer()
	entered, release := make(chan struct{}), make(chan struct{})
	first.Deliver = func(ctx context.Context, msg *mail.Msg) error {
		close(entered)
		<-release
		return f.outbox.deliver(ctx, msg)
	}
	done := make(chan error, 1)
	go func() { done <- first.Send(ctx, mailer.Weekly, mondayAfterDST) }()
	// (No timer: a hang is for go test's -timeout to report, with the
	// goroutines' stacks; drawing the report's charts under -race on a
	// busy machine takes many seconds.)
	select {
	case <-entered:
	case err := <-done:
		t.Fatalf("the first process finished without delivering: %v", err)
	}

	if err := second.Send(ctx, mailer.Weekly, mondayAfterDST); err != nil {
		t.Errorf("the second process, while the first sends: %v; want nil (nothing to do)", err)
	}
	if n := f.builds.count(); n != 1 {
		t.Errorf("the weekly report was read %d times; want once, by the first process", n)
	}
	if err := second.Send(ctx, mailer.Daily, mondayAfterDST); err != nil {
		t.Errorf("the daily report while the weekly one is being sent: %v", err)
	}
	if mails := f.outbox.mails(); len(mails) != 1 || subjectOf(mails[0]) != "Dialpad daily report, 2026-03-08" {
		t.Errorf("while the first process sends the weekly report: %d mails; want only the second's daily report", len(mails))
	}

	close(release)
	if err := <-done; err != nil {
		t.Fatalf("the first process: %v", err)
	}
	if err := second.Send(ctx, mailer.Weekly, mondayAfterDST.Add(time.Minute)); err != nil {
		t.Fatal(err)
	}
	var weekly int
	for _, msg := range f.outbox.mails() {
		if strings.HasPrefix(subjectOf(msg), "Dialpad weekly report") {
			weekly++
		}
	}
	if weekly != 1 {
		t.Errorf("the weekly report was mailed %d times by two processes; want once", weekly)
	}
}

// A period recorded 'sent' (by any process, before a restart) is not
// sent again; one with only a failed attempt is.
func TestPeriodRecordedSentIsNotMailedAgain(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	f.sends.rows = []sends.ReportSend{
		{Kind: mailer.Weekly, From: date(2026, 3, 2), To: date(2026, 3, 8), Attempt: 2, Status: "sent", Host: "other-host"},
		{Kind: mailer.Daily, From: date(2026, 3, 8), To: date(2026, 3, 8), Attempt: 6, Status: "failed", Error: "451 try again later", Host: "other-host"},
	}
	if err := f.m.Send(ctx, mailer.Weekly, mondayAfterDST); err != nil {
		t.Fatal(err)
	}
	if n, b, rows := len(f.outbox.mails()), f.builds.count(), len(f.sends.all()); n != 0 || b != 0 || rows != 2 {
		t.Errorf("the week sent already: %d mails, %d reports read, %d rows; want 0, 0 and the 2 there were", n, b, rows)
	}
	if err := f.m.Send(ctx, mailer.Daily, mondayAfterDST); err != nil {
		t.Fatal(err)
	}
	if mails := f.outbox.mails(); len(mails) != 1 || subjectOf(mails[0]) != "Dialpad daily report, 2026-03-08" {
		t.Errorf("the day that failed before: %d mails; want its report", len(mails))
	}
}

// While another process holds the report's lease (it is sending it), Send
// sends nothing and records nothing; once that lease is released, the
// report goes.
func TestReportLeasedElsewhereIsNotMailed(t *testing.T) {
	f := newFixture()
	ctx := context.Background()
	other := lease.Owner("other-host/4242/stamp/abcd1234")
	if got, _, _ := f.leases.Acquire(ctx, other, time.Minute, "report:weekly"); len(got) != 1 {
		t.Fatal("the other process could not take the lease")
	}
	if err := f.m.Send(ctx, mailer.Weekly, mondayAfterDST); err != nil {
		t.Errorf("Send while another process holds the lease: %v; want nil", err)
	}
	if n, b, rows := len(f.outbox.mails()), f.builds.count(), len(f.sends.all()); n != 0 || b != 0 || rows != 0 {
		t.Errorf("with the lease held elsewhere: %d mails, %d reports read, %d rows; want none", n, b, rows)
	}
	if f.leases.Held() != 1 {
		t.Error("Send released the other process's lease")
	}
	if err := f.leases.Release(ctx, other, "report:weekly"); err != nil {
		t.Fatal(err)
	}
	if err := f.m.Send(ctx, mailer.Weekly, mondayAfterDST); err != nil {
		t.Fatal(err)
	}
	if n := len(f.outbox.mails()); n != 1 {
		t.Errorf("after the other process let go: %d mails; want 1", n)
	}
}
