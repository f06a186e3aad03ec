// Package child starts the helper processes of the tests, the demo and
// the benchmarks (a private ClickHouse, the chdb bridge, a simulator, the
// job itself) on free loopback ports, and stops them with everything they
// started.
//
// It imports nothing of this module.
package child

import (
	"errors"
	"fmt"
	"net"
	"os/exec"
	"syscall"
	"time"
)

// Command is exec.Command for a child in a process group of its own, so
// that Stop ends what it starts too, and that dies with this process
// unless detach (a server the demo leaves running).
func Command(detach bool, name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if !detach {
		cmd.SysProcAttr.Pdeathsig = syscall.SIGKILL
	}
	return cmd
}

// Stop kills cmd's process group and waits for cmd, if it was started.
func Stop(cmd *exec.Cmd) {
	if cmd == nil || cmd.Process == nil {
		return
	}
	if cmd.SysProcAttr != nil && cmd.SysProcAttr.Setpgid {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	_ = cmd.Process.Kill()
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second): // waited for elsewhere
	}
}

// FreePorts returns n distinct loopback ports that were free a moment ago.
func FreePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		defer l.Close()
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// FreePort is one of FreePorts.
func FreePort() (int, error) {
	p, err := FreePorts(1)
	if err != nil {
		return 0, err
	}
	return p[0], nil
}

// FreeRun returns a port p such that p ... p+n-1 are free on loopback (a
// private ClickHouse's native, HTTP and interserver ports, which a demo
// names by the first).
func FreeRun(n int) (int, error) {
	for range 50 {
		ports, err := FreePorts(1)
		if err != nil {
			return 0, err
		}
		p := ports[0]
		ok := p+n-1 < 65536
		var ls []net.Listener
		for i := 1; ok && i < n; i++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+i))
			if err != nil {
				ok = false
				break
			}
			ls = append(ls, l)
		}
		for _, l := range ls {
			l.Close()
		}
		if ok {
			return p, nil
		}
	}
	return 0, errors.New("no run of free loopback ports found")
}
