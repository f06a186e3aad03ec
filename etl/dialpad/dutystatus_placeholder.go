package dialpad

import (
	"context"
	"time"
)

type DutyStatus struct {
	UserID        int64
	OnDuty        bool
	OnDutyStarted time.Time
	Status        string
	Started       time.Time
	Reason        string
}

func (c *Client) OperatorDutyStatus(ctx context.Context, userID int64) (DutyStatus, error) {
	return DutyStatus{}, nil
}
