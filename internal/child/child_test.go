package child

import (
	"fmt"
	"net"
	"os"
	"strings"
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
	// Below the ephemeral range, where no outgoing connection takes a
	// port while its server is down.
	if low := ephemeralLow(); first < firstPort || first+2 >= low {
		t.Errorf("run from %d: want it within [%d, %d)", first, firstPort, low)
	}
}

// Stop ends the child and what it started.
func TestStopEndsTheProcessGroup(t *testing.T) {
	cmd := Command(false, "sh", "-c", "sleep 60 & echo $!; wait")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var grandchild int
	if _, err := fmt.Fscan(out, &grandchild); err != nil || grandchild <= 0 {
		t.Fatalf("the child did not say its child's pid: %v", err)
	}
	began := time.Now()
	Stop(cmd)
	if time.Since(began) > 4*time.Second || cmd.ProcessState == nil {
		t.Fatalf("Stop took %s; state %v", time.Since(began), cmd.ProcessState)
	}
	// Gone, or a zombie waiting for init to reap it: not running.
	for range 100 {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", grandchild))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Error("the child's own child outlived Stop")
}
