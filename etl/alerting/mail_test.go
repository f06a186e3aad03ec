package alerting_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/alerting"
	"github.com/dialpad-etl/dialpad-etl/etl/derive"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/smtptest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

// The job's own alert mail, over hand-built conversations on both
// engines and a real SMTP server, every provisioned rule evaluated at a
// fixed clock: callcenter:101's service level drops to 70 % (one mail,
// once the rule's 5 minutes have passed), stays low (none within the
// hour, a restart included), recovers (one recovery mail); callcenter:103,
// at 0 % but with 9 offered calls, below the minimum of 10, never mails.
func TestAlertMailOverClickHouse(t *testing.T) {
	ctx := context.Background()
	twin := chtest.NewTwin(t)
	store := twin.Migrated(warehouse.Options{Location: time.UTC})
	if err := store.Derived().RecordKPISettings(ctx, 80); err != nil {
		t.Fatal(err)
	}
	if err := store.Derived().RecordAlertSettings(ctx, derive.AlertSettings{MinOffered: 10, AbandonmentMax: 10,
		LongestWait: 120 * time.Second, MaxAge: 3 * time.Hour}); err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	id := 0
	conversation := func(cc int, at time.Time, inThreshold bool) {
		t.Helper()
		id++
		in := map[bool]int{true: 1}[inThreshold]
		// A row at a time, INSERT ... SELECT: 18.16 does not answer the
		// driver's Exec of INSERT ... VALUES.
		if err := twin.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO conversations (target_type, target_id, conversation_id, direction,
			started_at, day, answered, answered_in_threshold, short_abandoned, abandoned, version)
			SELECT 'callcenter', %d, %d, 'inbound', '%s', '%s', %d, %d, 0, %d, 1`,
			cc, id, at.Format(time.DateTime), at.Format(time.DateOnly), in, in, 1-in)); err != nil {
			t.Fatal(err)
		}
	}
	// 101: 7 of 10 answered within the threshold (3 abandoned: the
	// abandonment rule fires too, and its mail is counted apart); 103: 9
	// offered, none answered.
	for i := 1; i <= 10; i++ {
		conversation(101, start.Add(-time.Duration(i)*time.Minute), i <= 7)
	}
	for i := 1; i <= 9; i++ {
		conversation(103, start.Add(-time.Duration(i)*time.Minute), false)
	}
	// Both receive call events (the rules leave out a target without).
	for _, cc := range []int{101, 103} {
		ended := start.Add(-5 * time.Minute)
		if err := twin.Conn().Exec(ctx, fmt.Sprintf(`INSERT INTO live_calls (target_type, target_id, call_id, conversation_id,
			is_entry_leg, direction, state, ended, started_at, waiting_since, event_at, expires_at, version)
			SELECT 'callcenter', %d, %d, %d, 1, 'inbound', 'hangup', 1, '%s', '%s', '%s', '%s', 1`,
			cc, cc*10, cc*100, ended.Format(time.DateTime), ended.Format(time.DateTime), ended.Format(time.DateTime),
			start.Add(24*time.Hour).Format(time.DateTime))); err != nil {
			t.Fatal(err)
		}
	}

	srv := smtptest.Start(t, "etl", "pw-SECRET")
	rules, err := alerting.Rules()
	if err != nil {
		t.Fatal(err)
	}
	now := start
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	newAlerter := func() *alerting.Alerter {
		return &alerting.Alerter{Rules: rules, Store: alerting.NewStorage(store.DB()), Leases: store.Leases(),
			Mail: &mailer.Mailer{SMTP: mailer.SMTP{Addr: srv.Addr, Username: "etl", Password: "pw-SECRET", TLS: "none",
				From: "etl@example.com", To: []string{"lead@example.com"}}, Log: log},
			Now: func() time.Time { return now }, Log: log}
	}
	a := newAlerter()
	at := func(d time.Duration) {
		t.Helper()
		now = start.Add(d)
		if err := a.Evaluate(ctx); err != nil {
			t.Fatalf("at %s: %v", now.Format(time.TimeOnly), err)
		}
	}
	serviceLevel := func() []message {
		var out []message
		for _, m := range messages(t, srv) {
			if strings.Contains(m.subject, "Service level") {
				out = append(out, m)
			}
		}
		return out
	}

	at(0)
	at(4 * time.Minute)
	if got := serviceLevel(); len(got) != 0 {
		t.Fatalf("mailed before the rule's 5 minutes: %v", got)
	}
	at(5 * time.Minute)
	got := serviceLevel()
	if len(got) != 1 {
		t.Fatalf("%d service-level mails when it dropped, want 1: %v", len(got), got)
	}
	if got[0].subject != "[Dialpad alert] Service level below goal: callcenter:101" ||
		!strings.Contains(got[0].text, "Service level of callcenter:101 is 70.0 % over the last 30 minutes, below the goal of 80 %") ||
		got[0].to != "lead@example.com" {
		t.Errorf("mail to %s: %q\n%s", got[0].to, got[0].subject, got[0].text)
	}

	// Still low, within the hour, across a restart.
	at(6 * time.Minute)
	a = newAlerter()
	at(7 * time.Minute)
	at(20 * time.Minute)
	if got := serviceLevel(); len(got) != 1 {
		t.Fatalf("%d service-level mails while it stays low within the hour, want 1: %v", len(got), got)
	}

	// 40 calls answered within the threshold: 47 of 50.
	for i := range 40 {
		conversation(101, start.Add(15*time.Minute+time.Duration(i)*5*time.Second), true)
	}
	at(21 * time.Minute)
	at(22 * time.Minute)
	got = serviceLevel()
	if len(got) != 2 || got[1].subject != "[Dialpad alert resolved] Service level below goal: callcenter:101" {
		t.Fatalf("after it recovered: %v, want one recovery mail", got)
	}

	for _, m := range messages(t, srv) {
		if strings.Contains(m.subject, "callcenter:103") {
			t.Errorf("a mail for 103, below the minimum of offered calls: %q", m.subject)
		}
		if strings.Contains(m.text, "pw-SECRET") {
			t.Errorf("the password in a mail: %q", m.subject)
		}
	}
}

// message is a mail the server took, decoded.
type message struct{ to, subject, text string }

func (m message) String() string { return m.subject }

func messages(t *testing.T, srv *smtptest.Server) []message {
	t.Helper()
	var out []message
	for _, raw := range srv.Messages() {
		msg, err := mail.ReadMessage(strings.NewReader(string(raw.Data)))
		if err != nil {
			t.Fatal(err)
		}
		body := io.Reader(msg.Body)
		if strings.EqualFold(msg.Header.Get("Content-Transfer-Encoding"), "quoted-printable") {
			body = quotedprintable.NewReader(body)
		}
		text, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		subject, _ := new(mime.WordDecoder).DecodeHeader(msg.Header.Get("Subject"))
		out = append(out, message{to: strings.Join(raw.To, ","), subject: subject, text: string(text)})
	}
	return out
}
