package child

import (
	"errors"
	"fmt"
	"net"
	"syscall"
	"testing"
	"time"
)

func TestFreePortsCanBeListenedOn(t *testing.T) {
	ports, err := FreePorts(3)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[int]bool{}
	for _, p := range ports {
		if seen[p] {
			t.Fatalf("port %d twice in %v", p, ports)
		}
		seen[p] = true
	}
	first, err := FreeRun(3)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", first+i))
		if err != nil {
			t.Fatalf("port %d of the run from %d: %v", first+i, first, err)
		}
		l.Close()
	}
}

// Stop ends the child and what it started.
func TestStopEndsTheProcessGroup(t *testing.T) {
	cmd := Command(false, "sh", "-c", "sleep 60 & sleep 60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	Stop(cmd)
	if time.Since(began) > 4*time.Second || cmd.ProcessState == nil {
		t.Fatalf("Stop took %s; state %v", time.Since(began), cmd.ProcessState)
	}
	for range 50 { // the background sleep is reaped by init a moment later
		if err := syscall.Kill(-cmd.Process.Pid, 0); errors.Is(err, syscall.ESRCH) {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("the child's own child outlived Stop")
}
