// Package mailer e-mails the targets' reports (package report) on
// schedule, once per period: whichever process comes first takes the
// report's lease, finds no 'sent' row for the period in report_sends,
// sends it over SMTP (github.com/wneessen/go-mail) and records the
// attempt; a failed attempt is recorded too and tried again with
// backoff. A process that dies after the server took the message but
// before the row is written sends it again on its next start: a period
// is sent at least once, and exactly once unless that happens.
//
// It imports report (what it sends), lease (its owner), sends (the
// record of sends) and dialpad; the record and the leases it uses through
// the interfaces of contracts.go.
package mailer

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/ClickHouse/clickhouse-go/v2/lib/driver"
	"github.com/wneessen/go-mail"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/lease"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
)

// Kinds of report, and the period each covers.
const (
	Daily  = "daily"  // the day before
	Weekly = "weekly" // the Monday-to-Sunday week before
)

// periodOf is the report period of a kind.
var periodOf = map[string]string{Daily: "day", Weekly: "week"}

// SMTP is where and how the mail goes.
type SMTP struct {
	Addr     string // host:port
	Username string // empty: no login
	Password string
	TLS      string // starttls, implicit or none
	From     string
	To       []string
}

// Mailer sends reports.
type Mailer struct {
	Sends  Sends  // the record of sends: *sends.Storage
	Leases Leases // *lease.Leases
	// Conn is the warehouse the reports read (report.Options.Conn).
	Conn driver.Conn
	// Build builds a period's report (default report.Build).
	Build func(context.Context, report.Options) (*report.Report, error)
	// Deliver hands a built message to the mail server once (default:
	// over SMTP, as SMTP says). An error means it was not delivered: the
	// attempt is recorded failed and tried again, within Attempts (the
	// default also tells a refusal for good, which is not tried again).
	Deliver  func(ctx context.Context, msg *mail.Msg) error
	SMTP     SMTP
	Targets  []dialpad.Target
	Location *time.Location
	// Attempts bounds the tries of one period's report (default 6);
	// Backoff is the first wait between them, doubling (default 1m).
	Attempts int
	Backoff  time.Duration
	// Sleep waits d between attempts, or returns ctx's error if it ends
	// first (default: a timer).
	Sleep func(ctx context.Context, d time.Duration) error
	// Now is the clock of the attempts' records (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Send e-mails the report of kind due at at (the period before at's
// day), unless it was sent already or another process is sending it.
func (m *Mailer) Send(ctx context.Context, kind string, at time.Time) error {
	p, err := report.LastPeriod(periodOf[kind], at, m.Location)
	if err != nil {
		return err
	}
	log := m.Log.With("report", kind, "period", p.String())
	owner, ttl := lease.NewOwner(lease.Long), 2*time.Minute
	name := "report:" + kind
	got, held, err := m.Leases.Acquire(ctx, owner, ttl, name)
	if err != nil {
		return err
	}
	if h := held[name]; h != nil {
		log.Info("another process is sending the report", "holder", h.Owner)
		return nil
	}
	defer m.Leases.Release(context.WithoutCancel(ctx), owner, got...)
	ctx, stop := m.Leases.KeepLeases(ctx, owner, ttl, got...)
	defer stop()

	sent, err := m.Sends.ReportSent(ctx, kind, p.From)
	if err != nil || sent {
		if sent {
			log.Info("the report was sent already")
		}
		return err
	}
	host, _ := os.Hostname()
	wait := m.backoff()
	for attempt := 1; ; attempt++ {
		// Built at each attempt: a report of a period the loads have not
		// reached yet is not sent (it would be recorded sent, and stay
		// short of the dashboards).
		err := m.buildAndSend(ctx, kind, p)
		rec := sends.ReportSend{Kind: kind, From: p.From, To: p.To, Attempt: attempt, Status: "sent",
			Recipients: strings.Join(m.SMTP.To, ", "), At: m.now(), Host: host}
		if err != nil {
			rec.Status, rec.Error = "failed", m.redact(err.Error())
		}
		if rerr := m.Sends.RecordReportSend(context.WithoutCancel(ctx), rec); rerr != nil {
			log.Error("cannot record the report's sending", "err", rerr)
		}
		if err == nil {
			log.Info("report e-mailed", "to", rec.Recipients, "attempt", attempt)
			return nil
		}
		var perm *permanent
		if attempt >= m.attempts() || ctx.Err() != nil || errors.As(err, &perm) {
			return fmt.Errorf("e-mail the %s report of %s (attempt %d of %d): %s", kind, p, attempt, m.attempts(), rec.Error)
		}
		log.Warn("sending the report failed; trying again", "attempt", attempt, "wait", wait, "err", rec.Error)
		if err := m.sleep(ctx, wait); err != nil {
			return err
		}
		wait *= 2
	}
}

// buildAndSend builds the period's report and sends it once.
func (m *Mailer) buildAndSend(ctx context.Context, kind string, p report.Period) error {
	build := m.Build
	if build == nil {
		build = report.Build
	}
	r, err := build(ctx, report.Options{Conn: m.Conn, Targets: m.Targets, Location: m.Location, Period: p})
	if err != nil {
		return fmt.Errorf("build the report: %w", err)
	}
	for _, sec := range r.Sections {
		if h := sec.Health; !h.Complete && len(h.Missing) > 0 {
			return fmt.Errorf("%s is not loaded on %d of the period's %d days (the first: %s): the report waits for the loads",
				sec.Target, len(h.Missing), h.Days, h.Missing[0].Format(time.DateOnly))
		}
		if !sec.Health.Complete {
			return fmt.Errorf("%s is loaded only up to %s: the report waits for the loads", sec.Target,
				sec.Health.LoadedUpTo.In(m.Location).Format(time.DateTime))
		}
	}
	msg, err := m.message(r)
	if err != nil {
		return &permanent{err}
	}
	deliver := m.Deliver
	if deliver == nil {
		deliver = m.send
	}
	return deliver(ctx, msg)
}

// message is the report as a mail: a plain-text part and an HTML one
// whose charts are inline parts.
func (m *Mailer) message(r *report.Report) (*mail.Msg, error) {
	html, images, err := r.HTML(report.ContentID)
	if err != nil {
		return nil, err
	}
	msg := mail.NewMsg()
	if err := msg.From(m.SMTP.From); err != nil {
		return nil, fmt.Errorf("REPORT_FROM: %w", err)
	}
	if err := msg.To(m.SMTP.To...); err != nil {
		return nil, fmt.Errorf("REPORT_TO: %w", err)
	}
	msg.Subject(r.Subject())
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, r.Text())
	msg.AddAlternativeString(mail.TypeTextHTML, string(html))
	for _, img := range images {
		// The header holds the id in angle brackets; the HTML's cid: does
		// not (RFC 2392).
		if err := msg.EmbedReader(img.ContentID+".png", bytes.NewReader(img.PNG), mail.WithFileContentID("<"+img.ContentID+">"),
			mail.WithFileContentType("image/png")); err != nil {
			return nil, err
		}
	}
	return msg, nil
}

// Mail sends a plain-text mail from SMTP.From to SMTP.To once, as a
// report is delivered (Deliver, else over SMTP): the job's own alert
// mail (package alerting). An error names no password.
func (m *Mailer) Mail(ctx context.Context, subject, text string) error {
	msg := mail.NewMsg()
	if err := msg.From(m.SMTP.From); err != nil {
		return fmt.Errorf("the sender: %w", err)
	}
	if err := msg.To(m.SMTP.To...); err != nil {
		return fmt.Errorf("the recipients: %w", err)
	}
	msg.Subject(subject)
	msg.SetDate()
	msg.SetMessageID()
	msg.SetBodyString(mail.TypeTextPlain, text)
	deliver := m.Deliver
	if deliver == nil {
		deliver = m.send
	}
	if err := deliver(ctx, msg); err != nil {
		return errors.New(m.redact(err.Error()))
	}
	return nil
}

// send delivers msg once.
func (m *Mailer) send(ctx context.Context, msg *mail.Msg) error {
	host, portText, err := net.SplitHostPort(m.SMTP.Addr)
	if err != nil {
		return fmt.Errorf("SMTP_ADDR %q: %w", m.SMTP.Addr, err)
	}
	port, err := strconv.Atoi(portText)
	if err != nil {
		return fmt.Errorf("SMTP_ADDR %q: the port is not a number", m.SMTP.Addr)
	}
	opts := []mail.Option{mail.WithPort(port), mail.WithTimeout(30 * time.Second)}
	switch m.SMTP.TLS {
	case "implicit":
		opts = append(opts, mail.WithSSL())
	case "none":
		opts = append(opts, mail.WithTLSPolicy(mail.NoTLS))
	default:
		opts = append(opts, mail.WithTLSPolicy(mail.TLSMandatory))
	}
	if m.SMTP.Username != "" {
		auth := mail.SMTPAuthAutoDiscover // the best the server offers over TLS
		if m.SMTP.TLS == "none" {
			auth = mail.SMTPAuthPlainNoEnc // a loopback server (the settings allow no other)
		}
		opts = append(opts, mail.WithSMTPAuth(auth), mail.WithUsername(m.SMTP.Username), mail.WithPassword(m.SMTP.Password))
	}
	c, err := mail.NewClient(host, opts...)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if err := c.DialAndSendWithContext(ctx, msg); err != nil {
		if msg.IsDelivered() {
			// The server took it (250 after DATA); only the goodbye failed.
			// Sending it again would deliver it twice.
			m.Log.Warn("the report was delivered; closing the connection failed", "err", m.redact(err.Error()))
			return nil
		}
		var se *mail.SendError
		if errors.As(err, &se) && !se.IsTemp() {
			return &permanent{err}
		}
		return err
	}
	return nil
}

// permanent is a refusal that another attempt would not change (a bad
// login, a rejected recipient).
type permanent struct{ error }

func (p *permanent) Unwrap() error { return p.error }

// redact keeps the password out of a message.
func (m *Mailer) redact(s string) string {
	if m.SMTP.Password != "" {
		s = strings.ReplaceAll(s, m.SMTP.Password, "[redacted]")
	}
	return s
}

func (m *Mailer) attempts() int {
	if m.Attempts > 0 {
		return m.Attempts
	}
	return 6
}

func (m *Mailer) backoff() time.Duration {
	if m.Backoff > 0 {
		return m.Backoff
	}
	return time.Minute
}

func (m *Mailer) sleep(ctx context.Context, d time.Duration) error {
	if m.Sleep != nil {
		return m.Sleep(ctx, d)
	}
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}

func (m *Mailer) now() time.Time {
	if m.Now != nil {
		return m.Now()
	}
	return time.Now()
}
