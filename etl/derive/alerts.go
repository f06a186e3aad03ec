package derive

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// AlertSettings are the thresholds of the provisioned Grafana alert rules
// (grafana/provisioning/alerting), which read them from etl_settings: a
// changed setting takes effect at the job's next start, with no change
// to the provisioned files.
type AlertSettings struct {
	MinOffered     int           // offered calls of 30 minutes below which service level and abandonment stay quiet
	AbandonmentMax float64       // percent
	LongestWait    time.Duration // whole seconds
	MaxAge         time.Duration // since a target's last successful load
}

// The names in etl_settings of the alert settings, which the rules'
// SQL names too (grafana/dashgen/alerts.go).
const (
	alertMinOfferedSetting     = "alert_min_offered"
	alertAbandonmentMaxSetting = "alert_abandonment_max"
	alertLongestWaitSetting    = "alert_longest_wait_s"
	healthMaxAgeSetting        = "etl_health_max_age_s"
)

// RecordAlertSettings records the alert rules' thresholds in etl_settings.
func (d *Deriver) RecordAlertSettings(ctx context.Context, a AlertSettings) error {
	now := time.Now().UTC()
	for _, kv := range [][2]string{
		{alertMinOfferedSetting, strconv.Itoa(a.MinOffered)},
		{alertAbandonmentMaxSetting, strconv.FormatFloat(a.AbandonmentMax, 'f', -1, 64)},
		{alertLongestWaitSetting, strconv.FormatInt(int64(a.LongestWait/time.Second), 10)},
		{healthMaxAgeSetting, strconv.FormatInt(int64(a.MaxAge/time.Second), 10)},
	} {
		if err := d.db.InsertRow(ctx, "etl_settings", "INSERT INTO etl_settings (name, value, updated_at, version)",
			kv[0], kv[1], now, db.Version(now)); err != nil {
			return fmt.Errorf("record the alert settings: %w", err)
		}
	}
	return nil
}
