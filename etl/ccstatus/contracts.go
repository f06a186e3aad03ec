// Package ccstatus polls Dialpad's live status of each call-center target
// (GET /api/v2/callcenters/{id}/status) on an interval and keeps it in
// callcenter_status, for the wallboard: Dialpad's own figures of the queue
// and the operators, which need no inbound connection and no events.
//
// It imports etl/dialpad and etl/warehouse/db.
package ccstatus

import (
	"context"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/dialpad"
)

// Source is Dialpad's status read (*dialpad.Client). It must be safe for
// concurrent use and spend the process's one rate budget: the poller
// shares it with the loads. An error means that call center was not
// polled this time; the next interval polls it again.
type Source interface {
	CallCenterStatus(ctx context.Context, id int64) (dialpad.CallCenterStatus, error)
}

// Store keeps the polls (*Storage); it must be safe for concurrent use.
// An error of WriteStatus means the polls may or may not have landed (a
// repeat leaves one row per poll); they are not written again, the next
// poll supersedes them. An error of DropDays is logged and the drop
// tried again an hour later.
type Store interface {
	WriteStatus(ctx context.Context, polls []Poll) error
	// DropDays drops the polls of the UTC days that ended before before.
	DropDays(ctx context.Context, before time.Time) error
}

// Poll is one read of a call center's status.
type Poll struct {
	Target   dialpad.Target
	At       time.Time     // when the job asked (its clock)
	Interval time.Duration // the polling interval then
	Status   dialpad.CallCenterStatus
}
