package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// cpuTime is the user+system CPU time a process has used so far, from
// /proc/<pid>/stat (0 when unknown).
func cpuTime(pid int) time.Duration {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:]) // fields from 3 (state) on
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseInt(f[11], 10, 64)        // utime, field 14
	st, _ := strconv.ParseInt(f[12], 10, 64)        // stime, field 15
	return time.Duration(ut+st) * time.Second / 100 // USER_HZ
}

// cpuTicks are the machine's CPU times from /proc/stat's first line, in
// USER_HZ ticks: in all, idle (with I/O wait) and stolen by the
// hypervisor of a virtual machine.
type cpuTicks struct{ total, idle, steal int64 }

func machineTicks() cpuTicks {
	b, err := os.ReadFile("/proc/stat")
	if err != nil {
		return cpuTicks{}
	}
	line, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(line) // cpu user nice system idle iowait irq softirq steal ...
	var t cpuTicks
	for i, s := range f[1:min(len(f), 9)] {
		v, _ := strconv.ParseInt(s, 10, 64)
		t.total += v
		switch i {
		case 3, 4:
			t.idle += v
		case 7:
			t.steal += v
		}
	}
	return t
}

// since is the idle and stolen shares of the machine's CPU time from
// before to t, in percent.
func (t cpuTicks) since(before cpuTicks) (idle, steal float64) {
	total := float64(max(t.total-before.total, 1))
	return 100 * float64(t.idle-before.idle) / total, 100 * float64(t.steal-before.steal) / total
}
