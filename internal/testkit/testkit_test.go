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

// Eventually returns once the condition holds, and asks no more.
func TestEventuallyWaitsForTheCondition(t *testing.T) {
	polls := 0
	Eventually(t, time.Minute, "the third poll", func() bool { polls++; return polls == 3 })
	if polls != 3 {
		t.Errorf("the condition was asked %d times, want 3: until it held, and not after", polls)
	}
}

// Eventually gives up only once its limit has passed, and says what it
// waited for.
func TestEventuallyFailsNamingWhatItWaitedFor(t *testing.T) {
	f := &fatal{TB: t}
	const limit = 200 * time.Millisecond
	began := time.Now()
	var last time.Time
	done := make(chan struct{})
	go func() {
		defer close(done)
		Eventually(f, limit, "the impossible", func() bool { last = time.Now(); return false })
	}()
	<-done
	if f.msg != "the impossible: not within 200ms" {
		t.Errorf("the failure says %q", f.msg)
	}
	if last.Before(began.Add(limit)) {
		t.Errorf("the last poll was %s after the start: Eventually gave up before its limit of %s", last.Sub(began), limit)
	}
}
