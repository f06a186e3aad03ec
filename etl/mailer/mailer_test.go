package mailer_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/png"
	"io"
	"log/slog"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
	"github.com/dialpad-etl/dialpad-etl/etl/dialpad/simulator"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer"
	"github.com/dialpad-etl/dialpad-etl/etl/mailer/sends"
	"github.com/dialpad-etl/dialpad-etl/etl/report"
	"github.com/dialpad-etl/dialpad-etl/etl/warehouse"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
	"github.com/dialpad-etl/dialpad-etl/internal/testkit/smtptest"
)

func TestMain(m *testing.M) { chtest.Main(m) }

const password = "smtp-SECRET-in-test"

// loaded is a warehouse on both engines with a simulated week of
// traffic, Monday 2026-11-23 to Sunday 2026-11-29, loaded the job's way.
func loaded(t *testing.T) (*warehouse.Store, []dialpad.Target) {
	t.Helper()
	start, end := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	w := testkit.NewWorld(t, testkit.Options{Sim: simulator.Config{Seed: 5, Start: start, End: end, CallsPerDay: 15},
		Now: end.Add(6 * time.Hour), ServiceLevelGoal: 80})
	return w.Store, w.Targets
}

// part is one leaf of a MIME message.
type part struct {
	contentType string
	contentID   string
	body        []byte
}

// leaves walks a MIME entity into its leaf parts, decoded.
func leaves(t *testing.T, header map[string][]string, body io.Reader) []part {
	t.Helper()
	get := func(k string) string {
		if v := header[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	mediaType, params, err := mime.ParseMediaType(get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type %q: %v", get("Content-Type"), err)
	}
	if strings.HasPrefix(mediaType, "multipart/") {
		var out []part
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, leaves(t, p.Header, p)...)
		}
	}
	raw, err := io.ReadAll(body)
	if err != nil {
		t.Fatal(err)
	}
	switch strings.ToLower(get("Content-Transfer-Encoding")) {
	case "base64":
		raw, err = io.ReadAll(base64Reader(raw))
	case "quoted-printable":
		raw, err = io.ReadAll(qpReader(raw))
	}
	if err != nil {
		t.Fatal(err)
	}
	id := get("Content-Id")
	if id != "" && !(strings.HasPrefix(id, "<") && strings.HasSuffix(id, ">")) {
		t.Errorf("Content-ID %q is not in angle brackets (RFC 2392): mail clients would not match its cid:", id)
	}
	return []part{{contentType: mediaType, contentID: strings.Trim(id, "<>"), body: raw}}
}

// Both tests read one loaded warehouse: loading it is most of their time,
// and neither changes what it holds but report_sends (each for its own
// kind of report).
func TestMailer(t *testing.T) {
	store, targets := loaded(t)
	t.Run("weekly report mailed once with its figures and charts", func(t *testing.T) {
		weeklyReportIsMailedOnceWithItsFiguresAndCharts(t, store, targets)
	})
	t.Run("STARTTLS required", func(t *testing.T) { startTLSIsRequired(t, store, targets) })
}

// The weekly report goes out once, through a real SMTP server with a
// login: a plain-text part and an HTML one with the cards' numbers, whose
// every chart is an inline PNG part it refers to by cid. Sending it again
// sends nothing. A refused attempt is recorded and tried again. The
// password is in no row and no log line.
func weeklyReportIsMailedOnceWithItsFiguresAndCharts(t *testing.T, store *warehouse.Store, targets []dialpad.Target) {
	server := smtptest.Start(t, "etl", password)
	var logs bytes.Buffer
	m := &mailer.Mailer{Sends: sends.NewStorage(store.DB()), Leases: store.Leases(), Conn: store.DB(), Targets: targets, Location: time.UTC, Backoff: 10 * time.Millisecond,
		SMTP: mailer.SMTP{Addr: server.Addr, Username: "etl", Password: password, TLS: "none",
			From: "Dialpad ETL <etl@example.com>", To: []string{"manager@example.com"}},
		Log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	server.RefuseNext(1)
	monday := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	if err := m.Send(ctx, mailer.Weekly, monday); err != nil {
		t.Fatal(err)
	}
	if err := m.Send(ctx, mailer.Weekly, monday.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	msgs := server.Messages()
	if len(msgs) != 1 {
		t.Fatalf("%d mails; want the weekly report once", len(msgs))
	}
	msg, err := mail.ReadMessage(bytes.NewReader(msgs[0].Data))
	if err != nil {
		t.Fatal(err)
	}
	if subj := msg.Header.Get("Subject"); !strings.Contains(subj, "2026-11-23") || !strings.Contains(subj, "2026-11-29") {
		t.Errorf("subject %q; want the week 2026-11-23 to 2026-11-29", subj)
	}
	parts := leaves(t, msg.Header, msg.Body)
	var text, html string
	images := map[string][]byte{}
	for _, p := range parts {
		switch p.contentType {
		case "text/plain":
			text = string(p.body)
		case "text/html":
			html = string(p.body)
		case "image/png":
			images[p.contentID] = p.body
		}
	}
	if text == "" || html == "" || len(images) == 0 {
		t.Fatalf("parts: text %d bytes, html %d bytes, %d images; want all three", len(text), len(html), len(images))
	}
	for id, b := range images {
		img, err := png.Decode(bytes.NewReader(b))
		if err != nil || img.Bounds().Dx() < 100 {
			t.Errorf("inline image %s: %v, %v; want a chart", id, img, err)
		}
		if !strings.Contains(html, "cid:"+id) {
			t.Errorf("the HTML does not show inline image %s", id)
		}
	}
	// The cards' numbers, counted by the warehouse's own query.
	for _, tg := range targets {
		c, err := store.Cards(ctx, tg, time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC))
		if err != nil {
			t.Fatal(err)
		}
		if c.Total == 0 {
			t.Fatalf("%s has no calls in the week: the test needs some", tg)
		}
		for _, n := range []uint64{c.Inbound, c.Outbound, c.Missed, c.Total} {
			if !strings.Contains(html, ">"+strconv.FormatUint(n, 10)+"<") && !strings.Contains(html, ">"+report.Thousands(int64(n))+"<") {
				t.Errorf("%s: the card figure %d is not in the HTML", tg, n)
			}
		}
	}
	var sent, failed uint64
	if err := store.DB().QueryRow(ctx, `SELECT countIf(status = 'sent'), countIf(status = 'failed') FROM report_sends
		WHERE kind = 'weekly' AND period_from = toDate('2026-11-23')`).Scan(&sent, &failed); err != nil || sent != 1 || failed != 1 {
		t.Errorf("report_sends: %d sent, %d failed (%v); want the refused attempt, then the sent one", sent, failed, err)
	}
	var leaked uint64
	if err := store.DB().QueryRow(ctx, "SELECT count() FROM report_sends WHERE position(error, ?) > 0", password).
		Scan(&leaked); err != nil || leaked != 0 || strings.Contains(logs.String(), password) {
		t.Errorf("the password is in %d rows (%v) or the log", leaked, err)
	}
}

func base64Reader(b []byte) io.Reader {
	return base64.NewDecoder(base64.StdEncoding, bytes.NewReader(bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' {
			return -1
		}
		return r
	}, b)))
}

func qpReader(b []byte) io.Reader { return quotedprintable.NewReader(bytes.NewReader(b)) }

// With STARTTLS required, a server that does not offer it gets nothing:
// no login, no mail, and the report is not recorded as sent.
func startTLSIsRequired(t *testing.T, store *warehouse.Store, targets []dialpad.Target) {
	server := smtptest.Start(t, "etl", password)
	m := &mailer.Mailer{Sends: sends.NewStorage(store.DB()), Leases: store.Leases(), Conn: store.DB(), Targets: targets, Location: time.UTC, Backoff: 10 * time.Millisecond, Attempts: 2,
		SMTP: mailer.SMTP{Addr: server.Addr, Username: "etl", Password: password, TLS: "starttls",
			From: "etl@example.com", To: []string{"manager@example.com"}},
		Log: slog.New(slog.DiscardHandler)}
	err := m.Send(context.Background(), mailer.Daily, time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC))
	if err == nil || strings.Contains(err.Error(), password) {
		t.Errorf("sending without STARTTLS: %v; want a refusal, without the password", err)
	}
	if n := len(server.Messages()); n != 0 {
		t.Errorf("%d mails went out unencrypted", n)
	}
	if ok, _ := sends.NewStorage(store.DB()).ReportSent(context.Background(), mailer.Daily, time.Date(2026, 11, 29, 0, 0, 0, 0, time.UTC)); ok {
		t.Error("the report is recorded as sent")
	}
}
