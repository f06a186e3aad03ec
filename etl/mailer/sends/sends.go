// Package sends is the record of the e-mailed reports' attempts in the
// warehouse (report_sends), which makes a period's report go once
// whichever process comes first, and which the ETL health dashboard
// shows. It imports only the warehouse's connection (package db).
package sends

import (
	"context"
	"fmt"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// Storage records the reports sent in the warehouse (report_sends). It is
// safe for concurrent use.
type Storage struct {
	db *db.DB
}

// NewStorage is the record of sends in the warehouse d.
func NewStorage(d *db.DB) *Storage { return &Storage{db: d} }

// ReportSend is one attempt to e-mail a period's report: a row of
// report_sends.
type ReportSend struct {
	Kind       string    // daily or weekly
	From, To   time.Time // the period's first and last day (dates)
	Attempt    int
	Status     string // sent or failed
	Recipients string
	At         time.Time
	Error      string
	Host       string
}

// RecordReportSend writes an attempt to send a report.
func (s *Storage) RecordReportSend(ctx context.Context, r ReportSend) error {
	err := s.db.InsertRow(ctx, "report_sends", `INSERT INTO report_sends (kind, period_from, period_to, attempt, status,
		recipients, at, error, host)`, r.Kind, r.From, r.To, uint32(r.Attempt), r.Status, r.Recipients, r.At.UTC(), r.Error, r.Host)
	if err != nil {
		return fmt.Errorf("record the %s report of %s: %w", r.Kind, r.From.Format(time.DateOnly), err)
	}
	return nil
}

// ReportSent reports whether the kind's report of the period starting on
// from was sent.
func (s *Storage) ReportSent(ctx context.Context, kind string, from time.Time) (bool, error) {
	if err := s.db.SyncGlobal(ctx, "report_sends"); err != nil {
		return false, err
	}
	var n uint64
	if err := s.db.QueryRow(ctx, `SELECT count() FROM report_sends WHERE kind = ? AND period_from = toDate(?) AND status = 'sent'`,
		kind, from.Format(time.DateOnly)).Scan(&n); err != nil {
		return false, fmt.Errorf("read report_sends: %w", err)
	}
	return n > 0, nil
}
