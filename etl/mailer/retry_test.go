package mailer_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
)

// statuses are the rows' attempt numbers and statuses, e.g. "1 failed".
func statuses(rows []sends.ReportSend) []string {
	var out []string
	for _, r := range rows {
		out = append(out, fmt.Sprintf("%d %s", r.Attempt, r.Status))
	}
	return out
}

// A refused attempt is recorded 'failed' with the server's answer, the
// password taken out of it, and tried again after 1, then 2 minutes;
// after Attempts, Send gives up with an error that names the period. The
// next Send (the next fire or start) sends it.
func TestFailedAttemptIsRecordedRedactedAndTriedAgain(t *testing.T) {
	f := newFixture()
	var logs bytes.Buffer
	f.m.Log = slog.New(slog.NewTextHandler(&logs, nil))
	f.m.Attempts, f.m.Backoff = 3, time.Minute
	answer := "454 4.7.0 temporary authentication failure for etl/" + fakePassword
	f.outbox.fail = func(int) error { return fmt.Errorf("dial failed: SMTP AUTH failed: %s", answer) }
	ctx := context.Background()

	err := f.m.Send(ctx, mailer.Daily, mondayAfterDST)
	if err == nil {
		t.Fatal("Send succeeded though every attempt failed")
	}
	if msg := err.Error(); strings.Contains(msg, fakePassword) || !strings.Contains(msg, "daily report of 2026-03-08 (attempt 3 of 3)") ||
		!strings.Contains(msg, "454 4.7.0 temporary authentication failure") {
		t.Errorf("error %q; want the period, the attempts and the server's answer, without the password", msg)
	}
	if n, tries := len(f.outbox.mails()), f.outbox.attempts(); n != 0 || tries != 3 {
		t.Errorf("%d mails in %d tries; want none in 3", n, tries)
	}
	if got, want := f.waits.all(), []time.Duration{time.Minute, 2 * time.Minute}; !slices.Equal(got, want) {
		t.Errorf("waited %v between attempts; want %v", got, want)
	}
	rows := f.sends.all()
	if got, want := statuses(rows), []string{"1 failed", "2 failed", "3 failed"}; !slices.Equal(got, want) {
		t.Fatalf("report_sends %v; want %v", got, want)
	}
	for _, r := range rows {
		if !r.From.Equal(date(2026, 3, 8)) || !strings.Contains(r.Error, "454 4.7.0 temporary authentication failure for etl/") ||
			strings.Contains(r.Error, fakePassword) {
			t.Errorf("attempt %d recorded for %s with error %q; want 2026-03-08 and the server's answer without the password",
				r.Attempt, r.From.Format(time.DateOnly), r.Error)
		}
	}
	if strings.Contains(logs.String(), fakePassword) {
		t.Errorf("the password is in the log:\n%s", logs.String())
	}

	f.outbox.fail = nil // the server is back
	if err := f.m.Send(ctx, mailer.Daily, mondayAfterDST.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	if got, want := statuses(f.sends.all()), []string{"1 failed", "2 failed", "3 failed", "1 sent"}; !slices.Equal(got, want) {
		t.Errorf("after the server is back: report_sends %v; want %v", got, want)
	}
	if n := len(f.outbox.mails()); n != 1 {
		t.Errorf("after the server is back: %d mails; want 1", n)
	}
}

// A message that cannot be built (REPORT_FROM is no address) fails the
// same way every time: it is recorded once and not tried again.
func TestMessageThatCannotBeBuiltIsNotTriedAgain(t *testing.T) {
	f := newFixture()
	f.m.SMTP.From = "the ETL"
	err := f.m.Send(context.Background(), mailer.Weekly, mondayAfterDST)
	if err == nil || !strings.Contains(err.Error(), "(attempt 1 of 6)") || !strings.Contains(err.Error(), "REPORT_FROM") {
		t.Errorf("Send: %v; want an error naming REPORT_FROM after attempt 1 of 6", err)
	}
	if tries, w := f.outbox.attempts(), f.waits.all(); tries != 0 || len(w) != 0 {
		t.Errorf("%d deliveries, waits %v; want none", tries, w)
	}
	rows := f.sends.all()
	if got, want := statuses(rows), []string{"1 failed"}; !slices.Equal(got, want) || !strings.Contains(rows[0].Error, "REPORT_FROM") {
		t.Errorf("report_sends %v (the first's error %q); want one failed attempt naming REPORT_FROM", got, rows[0].Error)
	}
}

// A report whose targets are not loaded up to its period's end is not
// sent: the attempt is recorded failed, saying which target waits and
// how far it is loaded (in the reporting zone), and tried again; once
// the loads are there it is sent. The default schedule of attempts is 6,
// 1, 2, 4, 8 and 16 minutes apart.
func TestReportWaitsForTheLoads(t *testing.T) {
	targets := []dialpad.Target{{Type: "department", ID: 101}, {Type: "callcenter", ID: 202}}
	// The day of 8 March ends at 04:00 UTC; the call center is loaded up
	// to 03:00 UTC, 23:00 in New York (EDT since 02:00 that day).
	behind := func(r *report.Report) {
		r.Sections[1].Health.Complete, r.Sections[1].Health.LoadedUpTo = false, time.Date(2026, 3, 9, 3, 0, 0, 0, time.UTC)
	}
	const waiting = "callcenter:202 is loaded only up to 2026-03-08 23:00:00: the report waits for the loads"

	t.Run("sent once loaded", func(t *testing.T) {
		f := newFixture()
		f.m.Targets = targets
		f.builds.edit = func(n int, r *report.Report) {
			if n == 1 {
				behind(r)
			}
		}
		if err := f.m.Send(context.Background(), mailer.Daily, mondayAfterDST); err != nil {
			t.Fatal(err)
		}
		rows := f.sends.all()
		if got, want := statuses(rows), []string{"1 failed", "2 sent"}; !slices.Equal(got, want) {
			t.Fatalf("report_sends %v; want %v", got, want)
		}
		if !strings.Contains(rows[0].Error, waiting) {
			t.Errorf("the first attempt's error %q; want %q", rows[0].Error, waiting)
		}
		if mails, w := f.outbox.mails(), f.waits.all(); len(mails) != 1 || !slices.Equal(w, []time.Duration{time.Minute}) {
			t.Errorf("%d mails after waits %v; want 1 after a minute", len(mails), w)
		}
	})

	t.Run("never loaded", func(t *testing.T) {
		f := newFixture()
		f.m.Targets = targets
		f.builds.edit = func(_ int, r *report.Report) { behind(r) }
		err := f.m.Send(context.Background(), mailer.Daily, mondayAfterDST)
		if err == nil || !strings.Contains(err.Error(), "(attempt 6 of 6)") || !strings.Contains(err.Error(), waiting) {
			t.Errorf("Send: %v; want the last of 6 attempts, waiting for the loads", err)
		}
		if n := f.outbox.attempts(); n != 0 {
			t.Errorf("%d deliveries of a report short of its period; want none", n)
		}
		if got, want := statuses(f.sends.all()), []string{"1 failed", "2 failed", "3 failed", "4 failed", "5 failed", "6 failed"}; !slices.Equal(got, want) {
			t.Errorf("report_sends %v; want %v", got, want)
		}
		want := []time.Duration{time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 16 * time.Minute}
		if got := f.waits.all(); !slices.Equal(got, want) {
			t.Errorf("waited %v; want %v", got, want)
		}
		if ok, _ := f.sends.ReportSent(context.Background(), mailer.Daily, date(2026, 3, 8)); ok {
			t.Error("the day is recorded as sent")
		}
	})
}
