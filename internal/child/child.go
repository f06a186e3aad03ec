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
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
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
// names by the first). The run lies below the kernel's ephemeral range
// where it can: a server that is killed and started again on its ports (a
// replica in the cluster test) would otherwise find one taken meanwhile
// by the local end of some outgoing connection, or by a port-0 listener.
func FreeRun(n int) (int, error) {
	low := ephemeralLow()
	for range 50 {
		var p int
		if low-firstPort > 10*n {
			p = firstPort + rand.IntN(low-firstPort-n)
		} else {
			ports, err := FreePorts(1)
			if err != nil {
				return 0, err
			}
			p = ports[0]
		}
		if p+n-1 >= 65536 {
			continue
		}
		var ls []net.Listener
		ok := true
		for i := range n {
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

// firstPort is the lowest port FreeRun hands out.
const firstPort = 10000

// ephemeralLow is the first port of the kernel's ephemeral range (Linux's
// default when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) != 2 {
		return 32768
	}
	low, err := strconv.Atoi(f[0])
	if err != nil {
		return 32768
	}
	return low
}
