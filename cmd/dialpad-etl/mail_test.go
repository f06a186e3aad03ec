package main

import (
	"context"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/smtptest"
)

const smtpPassword = "smtp-SECRET-pass"

// Two schedule processes start with last week's report not yet sent, on a
// weekly schedule that fires every 15 seconds (each fire is for last week):
// at start one sends it, the other does not; at the next fire neither
// sends it again; one restarted finds it sent. The SMTP server receives
// exactly one mail; the password is nowhere in the output or the tables.
func TestWeeklyReportIsSentOnceByTwoProcessesAndARestart(t *testing.T) {
	f := newFixture(t, 61, 2, nil, nil)
	smtp := smtptest.Start(t, "etl", smtpPassword)
	env := func(port int) []string {
		return f.with("ETL_HTTP_ADDR=127.0.0.1:"+fmt.Sprint(port), "REPORT_WEEKLY_SCHEDULE=@every 15s",
			"REPORT_TO=manager@example.com, lead@example.com", "REPORT_FROM=Dialpad ETL <etl@example.com>",
			"SMTP_ADDR="+smtp.Addr, "SMTP_TLS=none", "SMTP_USERNAME=etl", "SMTP_PASSWORD="+smtpPassword)
	}
	// How often a process has seen to the report.
	seen := func(p *proc) int {
		out := p.out.String()
		return strings.Count(out, "report e-mailed") + strings.Count(out, "the report was sent already") +
			strings.Count(out, "another process is sending the report")
	}
	a, b := f.spawn(t, env(testkit.FreePort(t)), "schedule"), f.spawn(t, env(testkit.FreePort(t)), "schedule")
	testkit.Eventually(t, 90*time.Second, "both processes have seen to the weekly report", func() bool { return seen(a) >= 1 && seen(b) >= 1 })
	testkit.Eventually(t, 150*time.Second, "the report arrived (a fire before the first load waits a minute for it)", func() bool { return len(smtp.Messages()) == 1 })
	testkit.Eventually(t, 90*time.Second, "the schedule fired again in both", func() bool { return seen(a) >= 2 && seen(b) >= 2 })

	_ = b.cmd.Process.Signal(syscall.SIGTERM)
	b.wait(t, 30*time.Second)
	c := f.spawn(t, env(testkit.FreePort(t)), "schedule")
	testkit.Eventually(t, 90*time.Second, "the restarted process found the weekly report sent", func() bool {
		return strings.Contains(c.out.String(), "the report was sent already")
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

	// A fire before a process's first load finished waits for the loads
	// (recorded as a failed attempt); no other attempt failed.
	var sent, failed uint64
	if err := f.conn(t).QueryRow(context.Background(), `SELECT countIf(status = 'sent'),
		countIf(status = 'failed' AND position(error, 'waits for the loads') = 0)
		FROM report_sends WHERE kind = 'weekly'`).Scan(&sent, &failed); err != nil || sent != 1 || failed != 0 {
		t.Errorf("report_sends: %d sent, %d failed otherwise than waiting for the loads (%v); want one sent", sent, failed, err)
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
