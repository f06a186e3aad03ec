package mailer_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/smtptest"
)

// Through a real SMTP server on loopback (in process) with a login: a
// message the server refuses for now (451) is recorded with its answer
// and tried again, and the one it takes goes to every recipient once.
func TestSMTPRefusalForNowIsTriedAgain(t *testing.T) {
	server := smtptest.Start(t, "etl", fakePassword)
	server.RefuseNext(2)
	f := newFixture()
	f.m.Deliver = nil // the SMTP sending
	f.m.SMTP.Addr, f.m.SMTP.TLS = server.Addr, "none"
	f.m.Attempts = 3
	if err := f.m.Send(context.Background(), mailer.Daily, mondayAfterDST); err != nil {
		t.Fatal(err)
	}
	msgs := server.Messages()
	if len(msgs) != 1 {
		t.Fatalf("the server took %d mails; want 1", len(msgs))
	}
	if got, want := msgs[0].To, []string{"manager@example.com", "lead@example.com"}; msgs[0].From != "etl@example.com" || !slices.Equal(got, want) {
		t.Errorf("mail from %q to %q; want etl@example.com to %q", msgs[0].From, got, want)
	}
	if !strings.Contains(string(msgs[0].Data), "Subject: Dialpad daily report, 2026-03-08") {
		t.Error("the mail is not titled with the day it reports")
	}
	rows := f.sends.all()
	if got, want := statuses(rows), []string{"1 failed", "2 failed", "3 sent"}; !slices.Equal(got, want) {
		t.Fatalf("report_sends %v; want %v", got, want)
	}
	for _, r := range rows[:2] {
		if !strings.Contains(r.Error, "451") || !strings.Contains(r.Error, "try again later") {
			t.Errorf("attempt %d recorded with %q; want the server's answer", r.Attempt, r.Error)
		}
	}
	if got, want := f.waits.all(), []time.Duration{time.Minute, 2 * time.Minute}; !slices.Equal(got, want) {
		t.Errorf("waited %v; want %v", got, want)
	}
}

// An alert's plain-text mail goes through the same server and login; a
// refusal is an error, without the password.
func TestMailSendsPlainText(t *testing.T) {
	server := smtptest.Start(t, "etl", fakePassword)
	m := &mailer.Mailer{SMTP: mailer.SMTP{Addr: server.Addr, Username: "etl", Password: fakePassword, TLS: "none",
		From: "etl@example.com", To: []string{"lead@example.com"}}}
	if err := m.Mail(context.Background(), "[Dialpad alert] Service level below goal: callcenter:101", "Service level is 70 %."); err != nil {
		t.Fatal(err)
	}
	msgs := server.Messages()
	if len(msgs) != 1 || !slices.Equal(msgs[0].To, []string{"lead@example.com"}) ||
		!strings.Contains(string(msgs[0].Data), "Subject: [Dialpad alert] Service level below goal: callcenter:101") ||
		!strings.Contains(string(msgs[0].Data), "Service level is 70 %.") {
		t.Fatalf("mails %q", msgs)
	}
	m.SMTP.Username = "somebody"
	err := m.Mail(context.Background(), "x", "y")
	if err == nil || strings.Contains(err.Error(), fakePassword) {
		t.Errorf("a refused login: %v", err)
	}
}
