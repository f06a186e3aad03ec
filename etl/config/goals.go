package config

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"time"

	"github.com/sethvargo/go-envconfig"
)

// Goals are the settings a staffing what-if uses: the service level's
// threshold and goal, the shrinkage and the occupancy cap. LoadGoals
// reads them alone, so that a what-if needs neither Dialpad's token and
// targets nor the warehouse's settings. Each field is Env's of the same
// name, with the same variable and default.
type Goals struct {
	ServiceLevel         time.Duration `env:"KPI_SERVICE_LEVEL_THRESHOLD, default=60s"`
	ServiceLevelGoal     float64       `env:"KPI_SERVICE_LEVEL_GOAL, default=80"`
	StaffingShrinkage    float64       `env:"STAFFING_SHRINKAGE, default=30"`
	StaffingMaxOccupancy float64       `env:"STAFFING_MAX_OCCUPANCY, default=85"`
}

// LoadGoals reads the Goals as Load reads every setting (flags set in fs,
// then getenv, then dotenv) and checks them as Validate does, naming the
// variable in every message.
func LoadGoals(ctx context.Context, fs *flag.FlagSet, getenv func(string) (string, bool), dotenv map[string]string) (*Goals, error) {
	var g Goals
	err := envconfig.ProcessWith(ctx, &envconfig.Config{Target: &g, Lookuper: lookuper(fs, getenv, dotenv)})
	if err != nil {
		return nil, nameVariable(err)
	}
	c := Config{Env: Env{ServiceLevel: g.ServiceLevel, ServiceLevelGoal: g.ServiceLevelGoal,
		StaffingShrinkage: g.StaffingShrinkage, StaffingMaxOccupancy: g.StaffingMaxOccupancy}}
	var errs []error
	bad := func(env, format string, args ...any) {
		errs = append(errs, fmt.Errorf("%s: "+format, append([]any{env}, args...)...))
	}
	c.checkServiceLevel(bad)
	c.checkStaffingGoals(bad)
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return &g, nil
}
