package testkit

import (
	"fmt"
	"runtime"
	"testing"
	"time"
)

// fatal records the message of Fatalf and ends the goroutine, as
// testing.T does.
type fatal struct {
	testing.TB
	msg string
}

func (f *fatal) Helper() {}

func (f *fatal) Fatalf(format string, args ...any) {
	f.msg = fmt.Sprintf(format, args...)
	runtime.Goexit()
}

func TestEventuallyWaitsForTheCondition(t *testing.T) {
	began := time.Now()
	Eventually(t, 5*time.Second, "the clock to pass 100 ms", func() bool { return time.Since(began) > 100*time.Millisecond })
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Eventually returned %s after the condition held", d-100*time.Millisecond)
	}
}

func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	f := &fatal{TB: t}
	polls := 0
	done := make(chan struct{})
	go func() {
		defer close(done)
		Eventually(f, 200*time.Millisecond, "the impossible", func() bool { polls++; return false })
	}()
	<-done
	if f.msg != "the impossible: not within 200ms" {
		t.Errorf("the failure says %q", f.msg)
	}
	if polls < 3 || polls > 15 {
		t.Errorf("%d polls in 200 ms, want one about every 20 ms", polls)
	}
}
