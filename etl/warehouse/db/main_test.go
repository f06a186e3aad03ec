package db_test

import (
	"testing"

	"github.com/dialpad-etl/dialpad-etl/internal/testkit/chtest"
)

func TestMain(m *testing.M) { chtest.Main(m) }
