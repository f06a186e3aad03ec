package db_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/ClickHouse/clickhouse-go/v2"

	"github.com/dialpad-etl/dialpad-etl/etl/warehouse/db"
)

// A read that meets a replica dying mid-query is read again, and answers;
// one that fails otherwise (bad SQL) is not, and its error is kept.
func TestRetryReadsAgainOnlyWhatTheNetworkBroke(t *testing.T) {
	d := db.New(nil, db.Options{SendAttempts: 3})
	eof := &clickhouse.Exception{Code: 32, Message: "Attempt to read after eof: while receiving packet from 127.0.0.1:9000"}
	for _, c := range []struct {
		name  string
		fails []error
		want  error
		reads int
	}{
		{"a replica died, then answers", []error{eof}, nil, 2},
		{"a dropped connection, twice", []error{fmt.Errorf("read: %w", io.EOF), eof}, nil, 3},
		{"always the network", []error{eof, eof, eof, eof}, eof, 3},
		{"a syntax error", []error{&clickhouse.Exception{Code: 62, Message: "Syntax error"}}, &clickhouse.Exception{Code: 62}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			reads := 0
			err := d.Retry(context.Background(), "test", func() error {
				reads++
				if reads <= len(c.fails) {
					return c.fails[reads-1]
				}
				return nil
			})
			var ex *clickhouse.Exception
			switch {
			case c.want == nil && err != nil:
				t.Errorf("%v; want an answer", err)
			case c.want != nil && (!errors.As(err, &ex) || ex.Code != c.want.(*clickhouse.Exception).Code):
				t.Errorf("%v; want %v", err, c.want)
			}
			if reads != c.reads {
				t.Errorf("read %d times; want %d", reads, c.reads)
			}
		})
	}
}
