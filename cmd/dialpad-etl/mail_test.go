package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/mailer/smtptest"
)

const smtpPassword = "smtp-SECRET-pass"

// Two schedule processes start after the weekly report's time (Mondays at
// 06:00) with the report not yet sent: one sends it, the other does not.
// One is restarted: it finds the report sent. The SMTP server receives
// exactly one mail; the password is nowhere in the output or the tables.
func TestWeeklyReportIsSentOnceByTwoProcessesAndARestart(t *testing.T) {
	f := newFixture(t, 61, 2, nil, nil)
	smtp := smtptest.Start(t, "etl", smtpPassword)
	env := func(port int) []string {
		return f.with("ETL_HTTP_ADDR=127.0.0.1:"+fmt.Sprint(port), "REPORT_WEEKLY_SCHEDULE=0 6 * * 1",
			"REPORT_TO=manager@example.com, lead@example.com", "REPORT_FROM=Dialpad ETL <etl@example.com>",
			"SMTP_ADDR="+smtp.Addr, "SMTP_TLS=none", "SMTP_USERNAME=etl", "SMTP_PASSWORD="+smtpPassword)
	}
	done := func(p *proc) bool {
		out := p.out.String()
		return strings.Contains(out, "report e-mailed") || strings.Contains(out, "the report was sent already") ||
			strings.Contains(out, "another process is sending the report")
	}
	a, b := f.spawn(t, env(freePort(t)), "schedule"), f.spawn(t, env(freePort(t)), "schedule")
	eventually(t, 90*time.Second, "both processes have seen to the weekly report", func() bool { return done(a) && done(b) })
	eventually(t, 30*time.Second, "the report arrived", func() bool { return len(smtp.Messages()) == 1 })

	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	b.wait(t, 30*time.Second)
	c := f.spawn(t, env(freePort(t)), "schedule")
	eventually(t, 90*time.Second, "the restarted process has seen to the weekly report", func() bool {
		return strings.Contains(c.out.String(), "the report was sent already") ||
			strings.Contains(c.out.String(), "another process is sending the report")
	})
	time.Sleep(time.Second)
	msgs := smtp.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails received; want the weekly report once", len(msgs))
	}
	if got := strings.Join(msgs[0].To, ","); got != "manager@example.com,lead@example.com" {
		t.Errorf("the report went to %s", got)
	}
	for _, p := range []*proc{a, c} {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		p.wait(t, 30*time.Second)
	}

	var sent, failed uint64
	if err := f.conn(t).QueryRow(context.Background(), `SELECT countIf(status = 'sent'), countIf(status = 'failed')
		FROM report_sends WHERE kind = 'weekly'`).Scan(&sent, &failed); err != nil || sent != 1 || failed != 0 {
		t.Errorf("report_sends: %d sent, %d failed (%v); want one sent", sent, failed, err)
	}
	var leaked uint64
	if err := f.conn(t).QueryRow(context.Background(), "SELECT count() FROM report_sends WHERE position(error, ?) > 0 OR position(recipients, ?) > 0",
		smtpPassword, smtpPassword).Scan(&leaked); err != nil || leaked != 0 {
		t.Errorf("the SMTP password is in %d rows of report_sends (%v)", leaked, err)
	}
	if strings.Contains(f.printed(), smtpPassword) {
		t.Error("the SMTP password appears in the job's output")
	}
}
